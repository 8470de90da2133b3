"""Turn the workers' results into checks, the markdown tables and issues 17 and 18's goals."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from vinyl_bench import registry
from vinyl_bench.contenders import CONTENDERS, MYSQL, POSTGRESQL, SQLITE
from vinyl_bench.registry import WORKLOADS
from vinyl_bench.scale import Scale

VENDOR_TITLES = {POSTGRESQL: "PostgreSQL", MYSQL: "MariaDB", SQLITE: "SQLite"}
#: A second ratio where the raw async driver is a wrapper: aiosqlite runs sqlite3 on a
#: thread per connection, so the ratio to sqlite3 itself shows that hop's share.
SYNC_BASELINES = {SQLITE: "sqlite3"}

#: ``results[vendor][contender]`` is one worker's JSON: ``{"results": {key: {...}}, ...}``.
Results = dict[str, dict[str, dict[str, Any]]]


@dataclass(frozen=True)
class Cell:
    """One contender's figure for one workload on one database."""

    seconds: float | None
    ratio: float | None
    ops_per_second: float | None
    error: str | None
    #: The contender process's own CPU time per operation (median run), in microseconds.
    cpu_us_per_op: float | None = None
    #: The contender process's peak resident set size during the timed runs, in KiB, and
    #: how far above its resident set size at the start of a run that peak went.
    peak_rss_kb: int | None = None
    rss_growth_kb: int | None = None


def baseline(vendor: str) -> str:
    """Return the raw async driver every ratio on *vendor* is computed against."""
    return next(c.name for c in CONTENDERS.values() if c.baseline and vendor in c.vendors)


def contenders_of(results: Results, vendor: str) -> list[str]:
    """Return the contenders that ran on *vendor*, in the table's column order."""
    return [name for name in CONTENDERS if name in results.get(vendor, {})]


def checksum_mismatches(results: Results) -> list[str]:
    """Return one message per workload whose contenders returned different results.

    The data is the same on both servers, so every contender on every database must agree.
    """
    problems = []
    for key in registry.keys():
        seen: dict[str, list[str]] = {}
        for vendor, by_contender in results.items():
            for name, worker in by_contender.items():
                digest = worker["results"].get(key, {}).get("digest")
                if digest is not None:
                    seen.setdefault(digest, []).append(f"{name} on {VENDOR_TITLES[vendor]}")
        if len(seen) > 1:
            groups = "; ".join(f"{digest}: {', '.join(who)}" for digest, who in seen.items())
            problems.append(f"{key} returned different results: {groups}")
    return problems


def cell(results: Results, vendor: str, name: str, key: str, scale: Scale) -> Cell:
    outcome = results[vendor][name]["results"].get(key)
    if outcome is None:
        return Cell(None, None, None, f"{key} was not run")
    if "error" in outcome:
        return Cell(None, None, None, outcome["error"])
    seconds = statistics.median(outcome["seconds"])
    base = results[vendor].get(baseline(vendor), {}).get("results", {}).get(key, {})
    ratio = seconds / statistics.median(base["seconds"]) if "seconds" in base else None
    ops = WORKLOADS[key].ops(scale)
    cpu = statistics.median(outcome["cpu_seconds"]) / ops * 1e6
    return Cell(
        seconds,
        ratio,
        ops / seconds,
        None,
        cpu,
        outcome.get("peak_rss_kb"),
        outcome.get("rss_growth_kb"),
    )


def table(results: Results, vendor: str, keys: list[str], scale: Scale) -> tuple[str, list[str]]:
    """Return *vendor*'s markdown table and the footnotes explaining its missing cells."""
    names = contenders_of(results, vendor)
    lines = [
        "| workload | unit | " + " | ".join(names) + " |",
        "|---|---|" + "---:|" * len(names),
    ]
    notes: list[str] = []
    for key in keys:
        workload = WORKLOADS[key]
        cells = []
        for name in names:
            figure = cell(results, vendor, name, key, scale)
            if figure.error is not None:
                notes.append(f"{name}, {key}: {figure.error}")
                cells.append(f"not runnable [{len(notes)}]")
            else:
                ratio = "n/a" if figure.ratio is None else f"{figure.ratio:.2f}"
                cells.append(f"{figure.ops_per_second:,.0f} ({ratio})")
        lines.append(f"| {key} {workload.title} | {workload.unit}/s | " + " | ".join(cells) + " |")
    for name in names:
        close_error = results[vendor][name].get("close_error")
        if close_error:
            notes.append(f"{name}: {close_error}")
    return "\n".join(lines), notes


def ratio_table(results: Results, vendor: str, keys: list[str], scale: Scale, against: str) -> str:
    """Return *vendor*'s table of time ÷ *against*'s time (a raw driver), per workload."""
    names = contenders_of(results, vendor)
    lines = [
        "| workload | " + " | ".join(names) + " |",
        "|---|" + "---:|" * len(names),
    ]
    for key in keys:
        base = cell(results, vendor, against, key, scale).seconds
        cells = []
        for name in names:
            seconds = cell(results, vendor, name, key, scale).seconds
            cells.append("–" if seconds is None or not base else f"{seconds / base:.2f}")
        lines.append(f"| {key} {WORKLOADS[key].title} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def cpu_table(results: Results, vendor: str, keys: list[str], scale: Scale) -> str:
    """Return *vendor*'s table of client CPU time per operation, in microseconds.

    The contender's own process time, not the server's: on a shared machine it moves
    much less with the load than wall time does.
    """
    names = contenders_of(results, vendor)
    lines = [
        "| workload | µs per | " + " | ".join(names) + " |",
        "|---|---|" + "---:|" * len(names),
    ]
    for key in keys:
        workload = WORKLOADS[key]
        cells = []
        for name in names:
            cpu = cell(results, vendor, name, key, scale).cpu_us_per_op
            cells.append("–" if cpu is None else f"{cpu:,.0f}")
        lines.append(f"| {key} {workload.title} | {workload.one} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def rss_table(results: Results, vendor: str, keys: list[str], scale: Scale) -> str:
    """Return *vendor*'s table of each contender process's peak RSS during a workload, in MiB.

    The whole process: the interpreter, Django, the drivers, and what the workload holds;
    in brackets, how far the peak rose above the RSS at the start of the run.
    """
    names = contenders_of(results, vendor)
    lines = [
        "| workload | " + " | ".join(names) + " |",
        "|---|" + "---:|" * len(names),
    ]
    for key in keys:
        cells = []
        for name in names:
            figure = cell(results, vendor, name, key, scale)
            rss, growth = figure.peak_rss_kb, figure.rss_growth_kb
            if rss is None or growth is None:
                cells.append("–")
            else:
                cells.append(f"{rss / 1024:,.1f} ({growth / 1024:+,.1f})")
        lines.append(f"| {key} {WORKLOADS[key].title} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


#: Issue 17's ratio goals for vinyl_async on PostgreSQL (time ÷ asyncpg's).
LIMITS = {
    "W1": 1.3,
    "W2": 1.0,
    "W3": 1.6,
    "W4": 1.2,
    "W5": 1.15,
    "W6": 1.0,
    "W7": 1.6,
    "W8": 1.3,
    "W9": 1.3,
}
#: Issue 17: vinyl's peak RSS at most this much above Django's, on every workload.
RSS_MARGIN = 0.10


def goals(results: Results, keys: list[str], scale: Scale) -> list[str]:
    """Return issue 17's goals, each marked met / NOT met / not measured, with the figures."""
    lines = []
    for key in (k for k in keys if k in LIMITS):
        claim = f"- PostgreSQL {key}: vinyl_async ratio ≤ {LIMITS[key]}"
        ratio = _figure(results, POSTGRESQL, "vinyl_async", key, scale).ratio
        if ratio is None:
            lines.append(f"{claim}: not measured")
        else:
            verdict = "met" if ratio <= LIMITS[key] else "NOT met"
            lines.append(f"{claim}: {verdict} ({ratio:.2f}){_noise(ratio / LIMITS[key])}")
    faster_than = [
        (MYSQL, "vinyl_async", "django_async"),
        (MYSQL, "vinyl_async", "django_sync"),
        (POSTGRESQL, "vinyl_sync", "django_sync"),
        (MYSQL, "vinyl_sync", "django_sync"),
    ]
    for vendor, ours, theirs in faster_than:
        lines += [_faster(results, vendor, ours, theirs, key, scale) for key in keys]
    # Each flavor against Django in the same style: its sync ORM, its a-methods.
    for vendor in (POSTGRESQL, MYSQL):
        for ours, theirs in (("vinyl_async", "django_async"), ("vinyl_sync", "django_sync")):
            for key in keys:
                claim = (
                    f"- {VENDOR_TITLES[vendor]} {key}: {ours}'s peak RSS within "
                    f"{RSS_MARGIN:.0%} of {theirs}'s"
                )
                a = _figure(results, vendor, ours, key, scale).peak_rss_kb
                b = _figure(results, vendor, theirs, key, scale).peak_rss_kb
                if a is None or b is None:
                    lines.append(f"{claim}: not measured")
                else:
                    verdict = "met" if a <= b * (1 + RSS_MARGIN) else "NOT met"
                    lines.append(f"{claim}: {verdict} ({a / 1024:,.1f} vs {b / 1024:,.1f} MiB)")
    return lines


def sqlite_goals(results: Results, keys: list[str], scale: Scale) -> list[str]:
    """Return issue 18's goals on SQLite, each marked met / NOT met / not measured.

    Each flavor of vinyl against Django in the same style, on every workload: vinyl_sync
    faster than Django's sync ORM, vinyl_async faster than Django's a-methods.
    """
    return [
        _faster(results, SQLITE, ours, theirs, key, scale)
        for ours, theirs in (("vinyl_sync", "django_sync"), ("vinyl_async", "django_async"))
        for key in keys
    ]


def _faster(results: Results, vendor: str, ours: str, theirs: str, key: str, scale: Scale) -> str:
    """Return the goal "*ours* faster than *theirs*" on *vendor*'s *key*, marked."""
    claim = f"- {VENDOR_TITLES[vendor]} {key}: {ours} faster than {theirs}"
    a = _figure(results, vendor, ours, key, scale).ops_per_second
    b = _figure(results, vendor, theirs, key, scale).ops_per_second
    if a is None or b is None:
        return f"{claim}: not measured"
    verdict = "met" if a > b else "NOT met"
    figures = f"{a:,.0f} vs {b:,.0f} {WORKLOADS[key].unit}/s"
    return f"{claim}: {verdict} ({figures}){_noise(a / b)}"


#: Differences smaller than this are noise on the shared machines (PERF-NOTES.md).
NOISE = 0.25


def _noise(quotient: float) -> str:
    """Return a warning when a measured figure is within the noise of its threshold."""
    return ", within noise" if abs(quotient - 1) < NOISE else ""


def _figure(results: Results, vendor: str, name: str, key: str, scale: Scale) -> Cell:
    if name not in results.get(vendor, {}):
        return Cell(None, None, None, f"{name} was not run")
    return cell(results, vendor, name, key, scale)

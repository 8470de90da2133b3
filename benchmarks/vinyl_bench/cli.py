"""Seed the databases, run every contender in a process of its own, print the tables.

Exit status 0 when every contender ran every workload and all checksums agree; 1 when a
checksum differs (a wrong result) or a contender could not run a workload (the table
says which, and why).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path


def parse(argv: list[str] | None) -> argparse.Namespace:
    # Nothing that reads vinyl_bench.settings is imported before --database-name is known.
    parser = argparse.ArgumentParser(prog="run.py", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="tiny data and counts, one untimed-warm-up-free run"
    )
    parser.add_argument("--vendors", default="postgresql,mysql,sqlite", help="default: all three")
    parser.add_argument("--contenders", default=None, help="comma-separated (default: all)")
    parser.add_argument("--workloads", default=None, help="comma-separated keys (default: all)")
    parser.add_argument(
        "--database-name",
        default=os.environ.get("VINYL_BENCH_NAME"),
        help="database created (dropped first!) on both servers, and the SQLite file's name; "
        "default vinyl_bench (--quick: vinyl_bench_quick)",
    )
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    return parser.parse_args(argv)


def versions() -> dict[str, str]:
    """Return the versions of Python, Django, SQLite and the drivers in this environment."""
    import sqlite3
    from importlib.metadata import PackageNotFoundError, version

    import django

    found = {
        "Python": platform.python_version(),
        "Django": django.get_version(),
        "SQLite library": sqlite3.sqlite_version,
    }
    distributions = (
        "asyncpg",
        "psycopg2-binary",
        "aiomysql",
        "asyncmy",
        "PyMySQL",
        "mysqlclient",
        "aiosqlite",
        "uvloop",
    )
    for distribution in distributions:
        try:
            found[distribution] = version(distribution)
        except PackageNotFoundError:
            found[distribution] = "not installed"
    return found


def drivers(vendor: str) -> str:
    """Return which driver each contender runs on *vendor*, as one line."""
    import MySQLdb
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    if vendor == "postgresql":
        django = "psycopg 3" if is_psycopg3 else "psycopg2"
        # vinyl_sync runs on the driver Django's backend runs on.
        vinyl = {"vinyl_async": "asyncpg", "vinyl_sync": django}
    elif vendor == "sqlite":
        django = "sqlite3"
        # aiosqlite runs sqlite3 connections on threads of its own.
        vinyl = {"vinyl_async": "aiosqlite", "vinyl_sync": "sqlite3"}
    else:
        # The ENGINE runs vinyl_async on asyncmy when it is installed, else on aiomysql.
        from vinyl.mysql_backend.base import ASYNCMY

        # settings.py installs PyMySQL as MySQLdb when mysqlclient is missing.
        mysqlclient = MySQLdb.__name__ != "pymysql"
        django = "mysqlclient" if mysqlclient else "PyMySQL (as MySQLdb)"
        # vinyl_sync runs on the driver Django's backend runs on.
        vinyl = {
            "vinyl_async": "asyncmy" if ASYNCMY else "aiomysql",
            "vinyl_sync": "mysqlclient" if mysqlclient else "PyMySQL",
        }
    named = {**vinyl, "django_sync": django, "django_async": f"{django}, through sync_to_async"}
    return ", ".join(f"{name} on {driver}" for name, driver in named.items())


def cpu() -> str:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        model = next(line.split(":", 1)[1].strip() for line in lines if "model name" in line)
    except (OSError, StopIteration):
        model = platform.processor() or "unknown CPU"
    return f"{os.cpu_count()} cores, {model}"


def main(argv: list[str] | None = None) -> int:
    from vinyl_bench.scale import FULL, QUICK

    args = parse(argv)
    scale = QUICK if args.quick else FULL
    database_name = args.database_name or scale.database
    os.environ["VINYL_BENCH_NAME"] = database_name
    # The benchmark always runs on its own settings, whatever the caller had configured.
    os.environ["DJANGO_SETTINGS_MODULE"] = "vinyl_bench.settings"
    import django

    django.setup()
    import vinyl_bench.workloads  # noqa: F401 - importing the package registers the workloads
    from vinyl_bench import database, registry, report, workers
    from vinyl_bench.contenders import CONTENDERS, VENDORS
    from vinyl_bench.registry import WORKLOADS

    vendors = args.vendors.split(",")
    keys = args.workloads.split(",") if args.workloads else registry.keys()
    names = args.contenders.split(",") if args.contenders else list(CONTENDERS)
    unknown = [k for k in keys if k not in WORKLOADS] + [c for c in names if c not in CONTENDERS]
    unknown += [v for v in vendors if v not in VENDORS]
    if unknown:
        print(f"Unknown workloads, contenders or vendors: {', '.join(unknown)}.", file=sys.stderr)
        return 2
    started = time.monotonic()
    load_before = os.getloadavg()
    results: report.Results = {}
    servers = {}
    for vendor in vendors:
        log(f"{vendor}: creating {database_name} and seeding it ({scale.name} scale)")
        database.recreate(vendor)
        database.seed(vendor, scale)
        servers[vendor] = database.server_version(vendor)
        on_vendor = [name for name in names if vendor in CONTENDERS[name].vendors]
        results[vendor] = workers.measure(vendor, on_vendor, keys, scale)

    mismatches = report.checksum_mismatches(results)
    found = versions()
    loops = sorted({w["event_loop"] for r in results.values() for w in r.values()} - {"-"})
    print(f"# vinyl benchmark ({scale.name} run)\n")
    print(f"- machine: {cpu()}, {platform.system()} {platform.release()}")
    for vendor in vendors:
        print(f"- {report.VENDOR_TITLES[vendor]}: {servers[vendor]}; {drivers(vendor)}")
    print("- " + ", ".join(f"{name} {value}" for name, value in found.items()))
    print(f"- async contenders' event loop: {', '.join(loops) or 'none ran'}")
    print(f"- load average (1, 5, 15 min) before: {_load(load_before)}; after: {_load()}")
    processes = "per workload" if scale.process_per_workload else "for every workload"
    print(
        f"- data: {scale.authors:,} authors, {scale.books:,} books, {scale.tags} tags, "
        f"{scale.tags_per_book} tags a book; median of {scale.runs} run(s) after "
        f"{scale.warmups} warm-up(s); each contender in a process of its own {processes}"
    )
    print(
        "- cells: ops/s (ratio = time ÷ the raw async driver's time in this run; lower is better)"
    )
    unrunnable = 0
    for vendor in vendors:
        text, notes = report.table(results, vendor, keys, scale)
        unrunnable += len(notes)
        print(f"\n## {report.VENDOR_TITLES[vendor]}\n\n{text}")
        if notes:
            print()
            print("\n".join(f"[{i}] {note}" for i, note in enumerate(notes, 1)))
        title = report.VENDOR_TITLES[vendor]
        against = report.SYNC_BASELINES.get(vendor)
        if against is not None and against in results[vendor]:
            print(f"\n### {title}: ratio to {against}, the raw sync driver (lower is better)\n")
            print(report.ratio_table(results, vendor, keys, scale, against))
        print(f"\n### {title}: client CPU time per operation (µs, lower is better)\n")
        print(report.cpu_table(results, vendor, keys, scale))
        print(f"\n### {title}: peak RSS of each contender's process during the workload (MiB)\n")
        print(report.rss_table(results, vendor, keys, scale))
    if {"postgresql", "mysql"} & set(vendors):
        print("\n## Goals (issue 17)\n")
        print("\n".join(report.goals(results, keys, scale)))
    if "sqlite" in vendors:
        print("\n## Goals (issue 18, SQLite)\n")
        print("\n".join(report.sqlite_goals(results, keys, scale)))
    print(f"\nChecksums: {'all agree' if not mismatches else 'DIFFERENT RESULTS'}")
    for problem in mismatches:
        print(f"- {problem}")
    log(f"finished in {time.monotonic() - started:.0f} s")
    if args.json:
        args.json.write_text(
            json.dumps({"scale": scale.name, "results": results, "mismatches": mismatches})
        )
    return 1 if mismatches or unrunnable else 0


def _load(load: tuple[float, float, float] | None = None) -> str:
    return ", ".join(f"{value:.1f}" for value in (load or os.getloadavg()))


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)

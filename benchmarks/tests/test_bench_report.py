"""The report's checks on hand-made worker results: a wrong result and a failure never pass."""

from __future__ import annotations

from typing import Any

import pytest

from vinyl_bench import registry, report
from vinyl_bench.scale import QUICK
from vinyl_bench.workloads import get_serial


def worker(**results: dict[str, Any]) -> dict[str, Any]:
    return {"event_loop": "-", "results": results, "close_error": None}


def timed(seconds: float, digest: str) -> dict[str, Any]:
    return {"seconds": [seconds], "cpu_seconds": [seconds / 2], "digest": digest}


def test_a_differing_checksum_names_every_contender_and_database() -> None:
    results = {
        "postgresql": {
            "asyncpg": worker(W1=timed(1.0, "aaa")),
            "vinyl_async": worker(W1=timed(2.0, "bbb")),
        },
        "mysql": {"aiomysql": worker(W1=timed(1.0, "aaa"))},
    }
    assert report.checksum_mismatches(results) == [
        "W1 returned different results: aaa: asyncpg on PostgreSQL, aiomysql on MariaDB; "
        "bbb: vinyl_async on PostgreSQL"
    ]


def test_agreeing_checksums_pass() -> None:
    results = {
        "postgresql": {
            "asyncpg": worker(W1=timed(1.0, "a")),
            "psycopg2": worker(W1=timed(3.0, "a")),
        }
    }
    assert report.checksum_mismatches(results) == []


def test_a_failed_workload_is_a_footnoted_cell_and_ratios_use_the_baseline() -> None:
    results = {
        "postgresql": {
            "asyncpg": worker(W1=timed(2.0, "a")),
            "psycopg2": worker(W1=timed(1.0, "a")),
            "vinyl_async": worker(W1={"error": "could not start: ImportError: no vinyl"}),
        }
    }
    text, notes = report.table(results, "postgresql", ["W1"], QUICK)
    gets_per_second = QUICK.gets / 1.0
    assert f"| {gets_per_second:,.0f} (0.50) |" in text
    assert "not runnable [1]" in text
    assert notes == ["vinyl_async, W1: could not start: ImportError: no vinyl"]


def test_goals_without_vinyl_are_not_measured_never_met() -> None:
    results = {"postgresql": {"asyncpg": worker(W1=timed(1.0, "a"))}}
    lines = report.goals(results, ["W1"], QUICK)
    assert "- PostgreSQL W1: vinyl_async ratio ≤ 1.3: not measured" in lines
    assert not [line for line in lines if line.endswith(")") and ": met" in line]


def test_a_workload_refuses_a_second_implementation_for_one_contender() -> None:
    with pytest.raises(ValueError, match="W1 already has an implementation for 'asyncpg'"):
        get_serial.W1.implements("asyncpg")(lambda contender, plan: None)
    assert registry.WORKLOADS["W1"] is get_serial.W1


def test_a_goal_missed_or_met_by_less_than_the_noise_says_so() -> None:
    results = {
        "postgresql": {
            "asyncpg": worker(W1=timed(1.0, "a")),
            "vinyl_async": worker(W1=timed(1.43, "a")),
        }
    }
    lines = report.goals(results, ["W1"], QUICK)
    assert "- PostgreSQL W1: vinyl_async ratio ≤ 1.3: NOT met (1.43), within noise" in lines


def test_peak_rss_is_compared_flavor_by_flavor_within_ten_percent() -> None:
    def rss(kb: int) -> dict[str, Any]:
        return {**timed(1.0, "a"), "peak_rss_kb": kb, "rss_growth_kb": 0}

    results = {
        "postgresql": {
            "asyncpg": worker(W5=rss(50_000)),
            "vinyl_async": worker(W5=rss(55_000)),
            "django_async": worker(W5=rss(50_000)),
            "vinyl_sync": worker(W5=rss(56_000)),
            "django_sync": worker(W5=rss(50_000)),
        }
    }
    lines = report.goals(results, ["W5"], QUICK)
    ours = "- PostgreSQL W5: vinyl_async's peak RSS within 10% of django_async's: met"
    assert f"{ours} (53.7 vs 48.8 MiB)" in lines
    ours = "- PostgreSQL W5: vinyl_sync's peak RSS within 10% of django_sync's: NOT met"
    assert f"{ours} (54.7 vs 48.8 MiB)" in lines
    assert "| 53.7 (+0.0) |" in report.rss_table(results, "postgresql", ["W5"], QUICK)


def test_sqlite_goals_compare_each_flavor_with_django_in_its_style() -> None:
    results = {
        "sqlite": {
            "aiosqlite": worker(W1=timed(1.0, "a")),
            "sqlite3": worker(W1=timed(0.5, "a")),
            "vinyl_async": worker(W1=timed(2.0, "a")),
            "django_async": worker(W1=timed(4.0, "a")),
            "vinyl_sync": worker(W1=timed(1.0, "a")),
            "django_sync": worker(W1=timed(0.9, "a")),
        }
    }
    lines = report.sqlite_goals(results, ["W1", "W2"], QUICK)
    assert "- SQLite W1: vinyl_sync faster than django_sync: NOT met (20 vs 22 gets/s)" in lines[0]
    assert lines[0].endswith("within noise")
    assert "- SQLite W2: vinyl_sync faster than django_sync: not measured" in lines
    assert "- SQLite W1: vinyl_async faster than django_async: met (10 vs 5 gets/s)" in lines


def test_sqlite_ratios_are_to_aiosqlite_and_also_to_sqlite3() -> None:
    results = {
        "sqlite": {
            "aiosqlite": worker(W1=timed(2.0, "a")),
            "sqlite3": worker(W1=timed(0.5, "a")),
            "vinyl_sync": worker(W1=timed(1.0, "a")),
        }
    }
    assert report.baseline("sqlite") == "aiosqlite"
    text, notes = report.table(results, "sqlite", ["W1"], QUICK)
    assert "| 20 (0.50) |" in text
    assert notes == []
    ratios = report.ratio_table(results, "sqlite", ["W1"], QUICK, "sqlite3")
    assert "| W1 get by pk, serial | 4.00 | 1.00 | 2.00 |" in ratios

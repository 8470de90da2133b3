"""How much data and how many operations: the full benchmark, or the ``--quick`` smoke run."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scale:
    """Data sizes and workload counts; ``warmups``/``runs`` is timing, the median of ``runs``.

    ``units`` (W9) is at most ``authors``: each unit works on an author of its own.

    ``database`` is the default database name on both servers: the quick run has its own,
    so a smoke run never replaces the full data a profile reads.

    ``process_per_workload``: whether each workload gets fresh worker processes, so that
    its peak RSS is its own (``vinyl_bench.workers``). The quick run measures nothing it
    asserts, and starting six processes a workload was most of its time.
    """

    name: str
    database: str
    authors: int
    books: int
    tags: int
    tags_per_book: int
    gets: int
    tasks: int
    fetch_repeats: int
    values_queries: int
    authors_per_values_query: int
    prefetch_authors: int
    prefetch_repeats: int
    creates: int
    bulk_rows: int
    saves: int
    units: int
    warmups: int
    runs: int
    process_per_workload: bool


FULL = Scale(
    name="full",
    database="vinyl_bench",
    authors=1_000,
    books=10_000,
    tags=50,
    tags_per_book=3,
    gets=2_000,
    tasks=100,
    fetch_repeats=3,
    values_queries=200,
    authors_per_values_query=10,
    prefetch_authors=100,
    prefetch_repeats=20,
    creates=1_000,
    bulk_rows=10_000,
    saves=1_000,
    units=1_000,
    warmups=1,
    runs=3,
    process_per_workload=True,
)

QUICK = Scale(
    name="quick",
    database="vinyl_bench_quick",
    authors=60,
    books=300,
    tags=10,
    tags_per_book=3,
    gets=20,
    tasks=10,
    fetch_repeats=1,
    values_queries=5,
    authors_per_values_query=10,
    prefetch_authors=10,
    prefetch_repeats=2,
    creates=20,
    bulk_rows=200,
    saves=20,
    units=40,
    warmups=0,
    runs=1,
    process_per_workload=False,
)

SCALES = {scale.name: scale for scale in (FULL, QUICK)}

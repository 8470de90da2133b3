"""Where vinyl_async's time goes over asyncpg's: a get by primary key and a create, layer by layer.

``python -m vinyl_bench.layers`` (from ``benchmarks/``, on the PostgreSQL database a run of
the same database name has seeded; ``VINYL_BENCH_NAME`` names it, as for ``run.py``).
Each operation is timed through four layers, each adding one of vinyl's to the one before:

- ``asyncpg``: the raw driver on one connection (``fetch``), the statement of the raw
  contenders (``vinyl_bench.sql``);
- ``driver``: the same statement through vinyl-pg's connection, held (``conn.fetch``);
- ``query``: the same statement through vinyl-query (``vinyl.query.fetch``: the task's
  scope, a connection borrowed from the pool and given back);
- ``model``: ``Author.vinyl.get(pk=...)`` / ``Author.vinyl.create(...)``, all of vinyl
  (its statement is Django's, with its own column list).

The layers run in turn, ``--rounds`` times ``--ops`` operations each; each figure is the
best round's, wall clock and client CPU (``time.process_time()``) per operation. Python
code between two round trips costs more than in a loop with no I/O (its caches are cold
after the system calls), so these figures, not a loop's, are what a workload pays.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from vinyl_bench.scale import SCALES

Layer = Callable[[int], Awaitable[None]]


async def measure(
    layers: dict[str, Layer], ops: int, rounds: int
) -> dict[str, tuple[float, float]]:
    """Return each layer's best wall and CPU seconds per operation over *rounds* of *ops*."""
    best = {name: (float("inf"), float("inf")) for name in layers}
    for layer in layers.values():
        await layer(ops)  # warm-up: plans, kept statements, prepared statements
    for _ in range(rounds):
        for name, layer in layers.items():
            wall, cpu = time.perf_counter(), time.process_time()
            await layer(ops)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            best[name] = (min(best[name][0], wall / ops), min(best[name][1], cpu / ops))
    return best


def table(title: str, best: dict[str, tuple[float, float]]) -> str:
    """Return *best* as a Markdown table: µs per operation and what each layer adds."""
    lines = [
        f"| {title} | wall µs | CPU µs | CPU added by the layer |",
        "|---|---:|---:|---:|",
    ]
    previous = None
    for name, (wall, cpu) in best.items():
        added = "" if previous is None else f"{(cpu - previous) * 1e6:+.1f}"
        lines.append(f"| {name} | {wall * 1e6:.1f} | {cpu * 1e6:.1f} | {added} |")
        previous = cpu
    return "\n".join(lines)


async def run(ops: int, rounds: int) -> str:
    """Time both operations through the four layers; return the two tables."""
    import vinyl_async
    from vinyl.query._async import fetch
    from vinyl.query._async.pools import get_pool
    from vinyl.query.databases import get_backend

    from benchapp.models import Author
    from vinyl_bench import sql

    alias = "vinyl_pg"
    Author.add_to_class("layers", vinyl_async.VinylManager(using=alias))
    authors: Any = Author.layers  # type: ignore[attr-defined]
    pool = await get_pool(get_backend(alias))
    held: Any = await pool.acquire()
    raw = held.raw
    born = date(1950, 1, 1)
    row = ("Layered author", "layers@example.org", born)
    first = await raw.fetchval("SELECT max(id) FROM benchapp_author") or 0
    pks = [1 + n % SCALES["full"].authors for n in range(ops)]

    def loop(call: Callable[[int], Awaitable[object]]) -> Layer:
        async def layer(count: int) -> None:
            for pk in pks[:count]:
                await call(pk)

        return layer

    gets = {
        "asyncpg": loop(lambda pk: raw.fetch(sql.AUTHOR_BY_PK_PG, pk)),
        "driver": loop(lambda pk: held.fetch(sql.AUTHOR_BY_PK_PG, (pk,))),
        "query": loop(lambda pk: fetch(alias, sql.AUTHOR_BY_PK_PG, (pk,))),
        "model": loop(lambda pk: authors.get(pk=pk)),
    }
    creates = {
        "asyncpg": loop(lambda _pk: raw.fetch(sql.INSERT_AUTHOR_PG, *row)),
        "driver": loop(lambda _pk: held.fetch(sql.INSERT_AUTHOR_PG, row)),
        "query": loop(lambda _pk: fetch(alias, sql.INSERT_AUTHOR_PG, row)),
        "model": loop(lambda _pk: authors.create(name=row[0], email=row[1], born=born)),
    }
    try:
        got = table("get(pk=...)", await measure(gets, ops, rounds))
        made = table("create()", await measure(creates, ops, rounds))
    finally:
        # The seeded authors only: a later run or profile reads the same data.
        await raw.execute("DELETE FROM benchapp_author WHERE id > $1", first)
        await pool.release(held)
        await vinyl_async.close_pools()
    return f"{got}\n\n{made}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=1000, help="operations per round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    os.environ.setdefault("VINYL_BENCH_NAME", SCALES["full"].database)
    os.environ["DJANGO_SETTINGS_MODULE"] = "vinyl_bench.settings"
    import django

    django.setup()
    import uvloop

    print(uvloop.run(run(args.ops, args.rounds)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Many writers at once on one SQLite file: every row is written, no "database is locked".

100 tasks through vinyl_async (10 threads through vinyl_sync, the generated twin), on the
ENGINE's defaults: WAL, a busy timeout, and ``BEGIN IMMEDIATE``. Half of the writers read
then write inside a ``transaction()`` block, which deadlocks under a plain ``BEGIN``: two
blocks holding read locks both wait to write, and SQLite refuses one at once.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import OperationalError, connections
from vinyl_async import close_pools, transaction
from vinyl_testapp.models.library import Tag
from vinyl_testing.concurrency import AWRITERS, agather, asleep

ALIAS = "sqlite_writers"


@pytest.fixture
def file_alias(tmp_path: Path, extra_alias: Callable[..., None]) -> Callable[..., None]:
    """Return a function that makes ``ALIAS`` a vinyl alias on a new database file.

    Its tables are made by Django's ``migrate`` through the vinyl ENGINE.
    """

    def make(**options: Any) -> None:
        extra_alias(
            ALIAS,
            NAME=str(tmp_path / "writers.sqlite3"),
            OPTIONS={"pool_max_size": 10, **options},
        )
        call_command("migrate", "contenttypes", database=ALIAS, verbosity=0)
        call_command("migrate", database=ALIAS, run_syncdb=True, verbosity=0)
        connections[ALIAS].close()

    return make


async def write(n: int) -> None:
    """Write one tag: every other writer reads first, inside a block."""
    tags = Tag.avinyl.using(ALIAS)
    if n % 2:
        await tags.create(name=f"plain {n}")
        return
    async with transaction(using=ALIAS):
        seen = await tags.count()
        # Let the other writers read too before this one writes.
        await asleep(0.001)
        await tags.create(name=f"block {n} after {seen}")


@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
async def test_concurrent_writers_all_commit_with_the_defaults(file_alias: Any) -> None:
    file_alias()
    try:
        await agather(*(lambda n=n: write(n) for n in range(AWRITERS)), timeout=120)
        names = [tag.name for tag in await Tag.avinyl.using(ALIAS).all()]
    finally:
        await close_pools()
    assert len(names) == AWRITERS
    assert {name.split(" ")[1] for name in names} == {str(n) for n in range(AWRITERS)}


@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
async def test_a_plain_begin_lets_read_then_write_blocks_deadlock(file_alias: Any) -> None:
    # What BEGIN IMMEDIATE prevents: with a deferred BEGIN two blocks that read, then write,
    # each hold a read lock the other's write waits for; SQLite fails one at once.
    file_alias(transaction_mode="DEFERRED")
    try:
        with pytest.raises(OperationalError, match="database is locked"):
            await agather(*(lambda n=n: write(2 * n) for n in range(10)), timeout=120)
    finally:
        await close_pools()

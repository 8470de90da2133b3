"""Behind PgBouncer, vinyl_async needs ``statement_cache_size: 0``; vinyl_sync nothing (issue 19).

asyncpg names the statements it caches and reuses them on its connection; through PgBouncer
in transaction mode that connection's next statement may run on another server connection,
which never saw them. vinyl_sync (psycopg2) prepares nothing and needs no option.
``_async/test_pgbouncer.py`` runs both flavors through the same PgBouncer with it.
"""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import AsyncIterator, Iterator
from functools import partial

import pytest
import vinyl_sync
from django.db import OperationalError
from django.test import override_settings
from vinyl_async import close_pools
from vinyl_testapp.models.library import Author
from vinyl_testing.concurrency import WRITERS, gather
from vinyl_testing.pgbouncer import through
from vinyl_testing.plugin import PG, flush

ALIAS = "vinyl_pgbouncer_cached"
CLIENTS = 100
READS = 500

pytestmark = pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")


@pytest.fixture
async def alias(bouncer: tuple[str, int]) -> AsyncIterator[str]:
    """Add a vinyl alias through PgBouncer with asyncpg's statement cache on (its default)."""
    with override_settings(DATABASES=through(bouncer, ALIAS)):
        try:
            yield ALIAS
        finally:
            await close_pools()
            flush(PG.django)


@pytest.fixture
def sync_alias(bouncer: tuple[str, int]) -> Iterator[str]:
    """Add a vinyl alias through PgBouncer without the option, for vinyl_sync."""
    with override_settings(DATABASES=through(bouncer, ALIAS)):
        try:
            yield ALIAS
        finally:
            vinyl_sync.close_pools()
            flush(PG.django)


JOINED = datetime.datetime(2026, 12, 6, tzinfo=datetime.UTC)


async def test_cached_statements_fail_through_pgbouncer_with_a_message_naming_the_option(
    alias: str,
) -> None:
    author = await Author.objects.using(PG.django).acreate(name="Ada", age=36, joined=JOINED)
    errors: list[OperationalError] = []

    async def client(first: int) -> None:
        for _ in range(first, READS, CLIENTS):
            try:
                assert (await Author.avinyl.using(alias).get(pk=author.pk)).name == "Ada"
            except OperationalError as exc:
                errors.append(exc)

    await asyncio.gather(*(client(n) for n in range(CLIENTS)))

    assert errors
    message = str(errors[0])
    assert message.startswith('prepared statement "__asyncpg_stmt_'), message
    assert message.endswith(
        "A connection pooler in transaction mode (PgBouncer) sits between vinyl and "
        "PostgreSQL and runs this connection's statements on several server connections: "
        "set 'statement_cache_size': 0 in the vinyl alias's OPTIONS (vinyl-pg's README, "
        "'Behind PgBouncer')."
    ), message


def test_vinyl_sync_needs_no_option_through_pgbouncer(sync_alias: str) -> None:
    author = Author.objects.using(PG.django).create(name="Ada", age=36, joined=JOINED)

    def client(first: int) -> list[str]:
        return [
            Author.vinyl.using(sync_alias).get(pk=author.pk).name
            for _ in range(first, READS, WRITERS)
        ]

    names = gather(*(partial(client, n) for n in range(WRITERS)))
    assert [name for batch in names for name in batch] == ["Ada"] * READS

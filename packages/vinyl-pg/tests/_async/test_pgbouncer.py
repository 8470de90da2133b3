"""vinyl behind PgBouncer in transaction pooling mode (``vinyl_testing.pgbouncer``).

The test's own PgBouncer lends 4 server connections to every client: each statement
outside a block may run on another server connection than the one before, and a block's
statements on one. The vinyl alias through it sets ``statement_cache_size: 0`` (the
README's setting); ``../test_pgbouncer_prepared.py`` shows what fails without it.
"""

from __future__ import annotations

import datetime
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from functools import partial
from typing import Any, cast

import pytest
from django.test import override_settings
from vinyl_async import close_pools, on_commit, transaction
from vinyl_testapp.models.library import Author, Book
from vinyl_testing.concurrency import AWRITERS, agather
from vinyl_testing.pgbouncer import through
from vinyl_testing.plugin import PG

ALIAS = "vinyl_pgbouncer"
READS = 500
NOW = datetime.datetime(2026, 12, 6, tzinfo=datetime.UTC)
#: Hang guard: far beyond what the test needs, short of a stuck CI job.
HANG_GUARD = 30.0

pytestmark = pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")


@pytest.fixture
async def alias(bouncer: tuple[str, int]) -> AsyncIterator[str]:
    """Add a vinyl alias on the test database through PgBouncer; close its pools after."""
    with override_settings(DATABASES=through(bouncer, ALIAS, statement_cache_size=0)):
        try:
            yield ALIAS
        finally:
            await close_pools()


@pytest.fixture
def authors() -> Iterator[list[Author]]:
    """Write 10 authors with two books each through Django; delete them afterwards."""
    made = [
        Author.objects.using(PG.django).create(name=f"author {n}", age=30 + n, joined=NOW)
        for n in range(10)
    ]
    for author in made:
        for number in range(2):
            Book.objects.using(PG.django).create(
                title=f"{author.name} book {number}",
                author=author,
                published=NOW.date(),
                created=NOW,
                price=Decimal("9.99"),
                pages=100 + number,
            )
    yield made
    Author.objects.using(PG.django).all().delete()


async def test_reads_of_three_shapes_from_many_clients_through_pgbouncer(
    alias: str, authors: list[Author]
) -> None:
    errors: list[Exception] = []
    results: list[bool] = []

    async def read(number: int) -> None:
        author = authors[number % len(authors)]
        try:
            match number % 3:
                case 0:
                    found = await Author.avinyl.using(alias).get(pk=author.pk)
                    results.append(found.name == author.name)
                case 1:
                    titles: list[Any] = list(
                        await Book.avinyl.using(alias)
                        .filter(author_id=author.pk)
                        .order_by("title")
                        .values_list("title", flat=True)
                    )
                    results.append(titles == [f"{author.name} book 0", f"{author.name} book 1"])
                case _:
                    books = await (
                        Book.avinyl.using(alias)
                        .select_related("author")
                        .filter(author__age=author.age, pages__gte=100)
                    )
                    # vinyl's instances are typed as the model class, which has no obj[name].
                    loaded = {cast(Any, book)["author"].name for book in books}
                    results.append(loaded == {author.name})
        except Exception as exc:  # noqa: BLE001 - every failure is counted, then shown
            errors.append(exc)

    async def client(first: int) -> None:
        for number in range(first, READS, AWRITERS):
            await read(number)

    await agather(*(partial(client, n) for n in range(AWRITERS)), timeout=HANG_GUARD)

    assert not errors, f"{len(errors)} of {READS} reads failed; the first: {errors[:3]}"
    assert results == [True] * READS


async def test_blocks_and_on_commit_through_pgbouncer(alias: str) -> None:
    committed: list[int] = []

    async def block(number: int) -> None:
        # Every other block fails after its writes: they roll back, its callback never runs.
        try:
            async with transaction(using=alias):
                author = await Author.avinyl.using(alias).create(
                    name=f"writer {number}", age=number, joined=NOW
                )
                on_commit(partial(committed.append, number), using=alias)
                # Read back in the block: the block's statements share a server connection.
                assert await Author.avinyl.using(alias).filter(pk=author.pk).count() == 1
                assert committed.count(number) == 0
                if number % 2:
                    raise LookupError(number)
        except LookupError:
            pass

    await agather(*(partial(block, n) for n in range(AWRITERS)), timeout=HANG_GUARD)

    evens = list(range(0, AWRITERS, 2))
    assert sorted(committed) == evens
    names = Author.objects.using(PG.django).filter(name__startswith="writer ")
    assert sorted(names.values_list("age", flat=True)) == evens
    names.delete()

"""vinyl-model's writes inside transaction() blocks: tasks sharing a block, select_for_update().

Each write that needs several statements (a multi-table save, a cascading delete) opens a
``transaction(savepoint=False)`` block of its own, which nests in the caller's block, also
when the write runs in a task (a thread in the sync flavor) started inside that block.
"""

from __future__ import annotations

import functools
from typing import Any

import pytest
from django.db import IntegrityError, connections
from django.db import transaction as django_transaction
from django.db.transaction import TransactionManagementError
from vinyl_async import transaction
from vinyl_testapp.models.library import Book, Tag
from vinyl_testapp.models.writes import WCascade, WItalian, WPlace, WTarget
from vinyl_testing.concurrency import agather
from vinyl_testing.plugin import DB


class Boom(Exception):
    """The error a test raises inside a block to make it roll back."""


def seed(db: DB, count: int) -> list[int]:
    """Create *count* targets, each with two cascading rows, through Django; return their pks."""
    pks = []
    for number in range(count):
        target = WTarget.objects.using(db.django).create(name=f"t{number:02}")
        for side in "ab":
            WCascade.objects.using(db.django).create(name=f"c{number:02}{side}", target=target)
        pks.append(target.pk)
    return pks


def tables(db: DB) -> tuple[list[str], list[str], list[str]]:
    """Return the names in the written tables, as Django's own connection sees them."""
    return (
        sorted(WPlace.objects.using(db.django).values_list("name", flat=True)),
        sorted(WTarget.objects.using(db.django).values_list("name", flat=True)),
        sorted(WCascade.objects.using(db.django).values_list("name", flat=True)),
    )


async def write(db: DB, number: int, pk: int) -> int:
    """Save a three-table object, or delete a target and its cascades; return places seen."""
    if number % 2:
        await WItalian.avinyl.using(db.vinyl).create(name=f"p{number:02}", seats=number)
    else:
        target = await WTarget.avinyl.using(db.vinyl).get(pk=pk)
        await target.delete()
    return await WPlace.avinyl.using(db.vinyl).count()


async def test_twenty_gathered_multi_statement_writes_are_one_transaction(db: DB) -> None:
    pks = seed(db, 20)
    before = tables(db)
    writes = [functools.partial(write, db, number, pk) for number, pk in enumerate(pks)]
    with pytest.raises(Boom):
        async with transaction(using=db.vinyl):
            await agather(*writes)
            assert await WPlace.avinyl.using(db.vinyl).count() == 10
            assert await WCascade.avinyl.using(db.vinyl).count() == 20
            raise Boom
    assert tables(db) == before
    async with transaction(using=db.vinyl):
        seen = await agather(*writes)
        # Each task read the block's rows, its own save included.
        assert all(places >= 1 for number, places in enumerate(seen) if number % 2)
        assert await WPlace.avinyl.using(db.vinyl).count() == 10
        assert tables(db) == before
    places, targets, cascades = tables(db)
    assert places == [f"p{number:02}" for number in range(1, 20, 2)]
    assert targets == [f"t{number:02}" for number in range(1, 20, 2)]
    assert cascades == [f"c{number:02}{side}" for number in range(1, 20, 2) for side in "ab"]
    assert WItalian.objects.using(db.django).count() == 10


async def test_select_for_update_outside_a_block_raises_djangos_error(db: DB) -> None:
    if not connections[db.django].features.has_select_for_update:
        # SQLite: Django drops select_for_update() from the SQL, and never raises for it (a
        # write transaction locks the whole file). vinyl reads as Django does.
        django_book = Book.objects.using(db.django).select_for_update().filter(pk=1).first()
        assert await Book.avinyl.using(db.vinyl).select_for_update().filter(pk=1).first() is None
        assert django_book is None
        return
    message = r"^select_for_update cannot be used outside of a transaction\.$"
    with pytest.raises(TransactionManagementError, match=message):
        await Book.avinyl.using(db.vinyl).select_for_update().filter(pk=1).first()
    with pytest.raises(TransactionManagementError, match=message):
        await Book.avinyl.using(db.vinyl).select_for_update(nowait=True).get(pk=1)
    async with transaction(using=db.vinyl):
        assert await Book.avinyl.using(db.vinyl).select_for_update().filter(pk=1).first() is None


def django_caught_failures(db: DB, run: int) -> list[str]:
    """Run the sequence of :func:`vinyl_caught_failures` through Django's own ORM."""
    tags = Tag.objects.using(db.django)
    seen = []
    existing = tags.create(name=f"existing {run}")
    with django_transaction.atomic(using=db.django):
        tags.create(name=f"outer {run}")
        with django_transaction.atomic(using=db.django):
            tags.create(name=f"inner {run}")
            try:
                tags.create(pk=existing.pk, name="duplicate")
            except IntegrityError:
                seen.append("caught")
            try:
                tags.create(name=f"after the error {run}")
            except TransactionManagementError as error:
                seen.append(str(error).split(".")[0])
        tags.create(name=f"after the inner block {run}")
    with django_transaction.atomic(using=db.django):
        tags.create(name=f"alone {run}")
        try:
            tags.filter(name=f"alone {run}").update(name=f"existing {run}", id=existing.pk)
        except IntegrityError:
            seen.append("caught")
    return seen


async def vinyl_caught_failures(db: DB, run: int) -> list[str]:
    """Fail a write inside blocks and catch its error; return what was seen.

    As in Django, the block the failed write ran in can run nothing more, and rolls back
    (an inner block to its savepoint, the enclosing block going on), even though the
    caller caught the error: what it wrote before the error is not committed.
    """
    tags: Any = Tag.avinyl.using(db.vinyl)
    seen = []
    existing = await tags.create(name=f"existing {run}")
    async with transaction(using=db.vinyl):
        await tags.create(name=f"outer {run}")
        async with transaction(using=db.vinyl):
            await tags.create(name=f"inner {run}")
            try:
                await tags.create(pk=existing.pk, name="duplicate")
            except IntegrityError:
                seen.append("caught")
            try:
                await tags.create(name=f"after the error {run}")
            except TransactionManagementError as error:
                seen.append(str(error).split(".")[0])
        await tags.create(name=f"after the inner block {run}")
    async with transaction(using=db.vinyl):
        await tags.create(name=f"alone {run}")
        try:
            await tags.filter(name=f"alone {run}").update(name=f"existing {run}", id=existing.pk)
        except IntegrityError:
            seen.append("caught")
    return seen


async def test_a_caught_failed_write_rolls_its_block_back_as_in_django(db: DB) -> None:
    for run in range(2):
        expected = django_caught_failures(db, run)
        django_rows = sorted(Tag.objects.using(db.django).values_list("name", flat=True))
        Tag.objects.using(db.django).all().delete()
        assert await vinyl_caught_failures(db, run) == expected
        assert sorted(Tag.objects.using(db.django).values_list("name", flat=True)) == django_rows
        Tag.objects.using(db.django).all().delete()
    assert expected == ["caught", "An error occurred in the current transaction", "caught"]
    assert django_rows == ["after the inner block 1", "existing 1", "outer 1"]

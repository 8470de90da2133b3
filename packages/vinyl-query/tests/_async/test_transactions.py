"""transaction() and on_commit() on both servers, checked through Django's own connection."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import pytest
from django.db.models.sql import InsertQuery
from django.db.transaction import TransactionManagementError
from vinyl.query import get_backend
from vinyl.query._async import connection, fetch_sql, on_commit, transaction
from vinyl.query.compiler import prepare
from vinyl_testapp.models import QAuthor
from vinyl_testing.concurrency import AEvent, agather
from vinyl_testing.plugin import DB


class Boom(Exception):
    """The error a test raises inside a block to make it roll back."""


async def insert_author(alias: str, name: str) -> None:
    """Insert one author through vinyl: Django's insert compiler, vinyl's connection."""
    backend = get_backend(alias)
    query = InsertQuery(QAuthor)
    fields = [field for field in QAuthor._meta.concrete_fields if not field.primary_key]
    query.insert_values(fields, [QAuthor(name=name)])
    async with connection(alias) as conn:
        for sql, params in query.get_compiler(connection=backend.wrapper).as_sql():
            await conn.execute(*prepare(backend.dialect, sql, params))


async def vinyl_names(alias: str) -> list[str]:
    """Return the authors' names as a statement through vinyl sees them."""
    table = get_backend(alias).wrapper.ops.quote_name(QAuthor._meta.db_table)
    return [row[0] for row in await fetch_sql(alias, f"SELECT name FROM {table} ORDER BY name")]


def django_names(alias: str) -> list[str]:
    """Return the authors' names as Django's own connection sees them (committed rows)."""
    return list(QAuthor.objects.using(alias).order_by("name").values_list("name", flat=True))


async def test_a_block_commits_at_its_end(db: DB) -> None:
    async with transaction(db.vinyl):
        await insert_author(db.vinyl, "a")
        await insert_author(db.vinyl, "b")
        assert django_names(db.django) == []
    assert django_names(db.django) == ["a", "b"]


async def test_an_exception_rolls_the_block_back_and_propagates(db: DB) -> None:
    with pytest.raises(Boom):
        async with transaction(db.vinyl):
            await insert_author(db.vinyl, "a")
            raise Boom
    assert django_names(db.django) == []
    # The connection went back to the pool clean: the next block works.
    async with transaction(db.vinyl):
        await insert_author(db.vinyl, "c")
    assert django_names(db.django) == ["c"]


async def test_a_nested_block_rolls_back_to_its_savepoint(db: DB) -> None:
    async with transaction(db.vinyl):
        await insert_author(db.vinyl, "outer")
        with pytest.raises(Boom):
            async with transaction(db.vinyl):
                await insert_author(db.vinyl, "inner")
                assert await vinyl_names(db.vinyl) == ["inner", "outer"]
                raise Boom
        assert await vinyl_names(db.vinyl) == ["outer"]
        async with transaction(db.vinyl):
            await insert_author(db.vinyl, "second")
    assert django_names(db.django) == ["outer", "second"]


async def test_a_failed_block_without_savepoint_rolls_the_enclosing_block_back(db: DB) -> None:
    async with transaction(db.vinyl):
        await insert_author(db.vinyl, "outer")
        with pytest.raises(Boom):
            async with transaction(db.vinyl, savepoint=False):
                raise Boom
        with pytest.raises(TransactionManagementError, match="until the end of the"):
            await insert_author(db.vinyl, "refused")
    assert django_names(db.django) == []


async def test_a_task_may_nest_connection_and_transaction_inside_a_block(db: DB) -> None:
    async with transaction(db.vinyl):
        async with connection(db.vinyl) as outer:
            async with connection(db.vinyl) as inner:
                assert inner is outer
                async with transaction(db.vinyl):
                    await insert_author(db.vinyl, "nested")
    assert django_names(db.django) == ["nested"]


async def test_a_decorated_function_runs_each_call_in_a_block_of_its_own(db: DB) -> None:
    @transaction(db.vinyl)
    async def add(name: str, *, fail: bool) -> str:
        await insert_author(db.vinyl, name)
        if fail:
            raise Boom
        return name

    assert await add("kept", fail=False) == "kept"
    with pytest.raises(Boom):
        await add("gone", fail=True)
    assert django_names(db.django) == ["kept"]


async def test_a_durable_block_refuses_to_nest(db: DB) -> None:
    async with transaction(db.vinyl, durable=True):
        await insert_author(db.vinyl, "a")
    with pytest.raises(RuntimeError, match="A durable atomic block cannot be nested"):
        async with transaction(db.vinyl):
            await insert_author(db.vinyl, "b")
            async with transaction(db.vinyl, durable=True):
                pass
    assert django_names(db.django) == ["a"]


async def test_on_commit_runs_after_the_outermost_commit_only(db: DB) -> None:
    calls: list[str] = []
    on_commit(partial(calls.append, "outside"), using=db.vinyl)
    assert calls == ["outside"]
    async with transaction(db.vinyl):
        on_commit(partial(calls.append, "outer"), using=db.vinyl)
        with pytest.raises(Boom):
            async with transaction(db.vinyl):
                on_commit(partial(calls.append, "rolled back"), using=db.vinyl)
                raise Boom
        async with transaction(db.vinyl):
            on_commit(partial(calls.append, "released"), using=db.vinyl)
        assert calls == ["outside"]
    assert calls == ["outside", "outer", "released"]
    with pytest.raises(Boom):
        async with transaction(db.vinyl):
            on_commit(partial(calls.append, "dropped"), using=db.vinyl)
            raise Boom
    assert calls == ["outside", "outer", "released"]


async def test_uncommitted_rows_are_invisible_to_another_task(db: DB) -> None:
    inserted, checked = AEvent(), AEvent()
    seen: dict[str, Sequence[Any]] = {}

    async def writer() -> None:
        async with transaction(db.vinyl):
            await insert_author(db.vinyl, "pending")
            seen["writer"] = await vinyl_names(db.vinyl)
            inserted.set()
            await checked.wait()

    async def reader() -> None:
        await inserted.wait()
        seen["reader"] = await vinyl_names(db.vinyl)
        checked.set()

    await agather(writer, reader)
    assert seen == {"writer": ["pending"], "reader": []}
    assert await vinyl_names(db.vinyl) == ["pending"]

"""transaction() and on_commit() on both servers, checked through Django's own connection.

Tasks started inside a block (threads in the sync flavor, started by ``agather``'s twin in
a copy of the block's context) join it: their statements and nested blocks run on the
block's connection and commit or roll back with it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import partial
from typing import Any

import pytest
from django.db.transaction import TransactionManagementError
from vinyl.query import get_backend
from vinyl.query._async import connection, fetch_sql, on_commit, transaction
from vinyl_testapp.models import QAuthor
from vinyl_testing._async.authors import insert_author, vinyl_names
from vinyl_testing.concurrency import AEvent, agather
from vinyl_testing.plugin import DB, servers_only


class Boom(Exception):
    """The error a test raises inside a block to make it roll back."""


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


async def insert_pair(alias: str, name: str) -> None:
    """Insert two authors in one block without a savepoint, as vinyl-model's writes do."""
    async with transaction(alias, savepoint=False):
        await insert_author(alias, f"{name}a")
        await insert_author(alias, f"{name}b")


async def write(alias: str, number: int) -> list[str]:
    """Write as a task of a gathered batch: one row, or two in a block; return what it saw."""
    if number % 2:
        await insert_author(alias, f"w{number:02}")
    else:
        await insert_pair(alias, f"w{number:02}")
    return await vinyl_names(alias)


def written(count: int) -> list[str]:
    """Return the names :func:`write` leaves for tasks ``0..count-1``, sorted."""
    return sorted(
        name
        for number in range(count)
        for name in ([f"w{number:02}"] if number % 2 else [f"w{number:02}a", f"w{number:02}b"])
    )


async def test_twenty_gathered_writes_roll_back_with_their_block(db: DB) -> None:
    with pytest.raises(Boom):
        async with transaction(db.vinyl):
            await agather(*(partial(write, db.vinyl, number) for number in range(20)))
            assert await vinyl_names(db.vinyl) == written(20)
            raise Boom
    assert django_names(db.django) == []


async def test_twenty_gathered_writes_commit_with_their_block(db: DB) -> None:
    async with transaction(db.vinyl):
        seen = await agather(*(partial(write, db.vinyl, number) for number in range(20)))
        # Each task read the block's rows: its own writes, and those of the tasks before it.
        for number, names in enumerate(seen):
            assert set(written(number + 1)) - set(written(number)) <= set(names)
        assert await vinyl_names(db.vinyl) == written(20)
        assert django_names(db.django) == []
    assert django_names(db.django) == written(20)


async def test_gathered_nested_blocks_never_interleave_and_roll_back_alone(db: DB) -> None:
    async def nested(number: int) -> None:
        try:
            async with transaction(db.vinyl):
                before = await vinyl_names(db.vinyl)
                await insert_author(db.vinyl, f"n{number:02}a")
                await insert_author(db.vinyl, f"n{number:02}b")
                # No other task's statement ran inside this savepoint.
                assert await vinyl_names(db.vinyl) == sorted(
                    [*before, f"n{number:02}a", f"n{number:02}b"]
                )
                if number % 3 == 0:
                    raise Boom
        except Boom:
            pass

    async def plain(number: int) -> None:
        await insert_author(db.vinyl, f"p{number:02}")

    tasks = [partial(nested, number) for number in range(9)]
    tasks += [partial(plain, number) for number in range(9)]
    async with transaction(db.vinyl):
        await insert_author(db.vinyl, "owner")
        await agather(*tasks)
    kept = [f"n{n:02}{part}" for n in range(9) if n % 3 for part in "ab"]
    assert django_names(db.django) == sorted(["owner", *kept, *(f"p{n:02}" for n in range(9))])


async def test_a_gathered_block_without_savepoint_that_fails_rolls_everything_back(
    db: DB,
) -> None:
    async def failing() -> None:
        async with transaction(db.vinyl, savepoint=False):
            await insert_author(db.vinyl, "failing")
            raise Boom

    with pytest.raises(Boom):
        async with transaction(db.vinyl):
            await agather(partial(insert_author, db.vinyl, "plain"), failing)
    assert django_names(db.django) == []


async def test_on_commit_keeps_a_sibling_callback_when_a_savepoint_rolls_back(db: DB) -> None:
    calls: list[str] = []
    registered, opened = AEvent(), AEvent()

    async def rolled_back() -> None:
        with pytest.raises(Boom):
            async with transaction(db.vinyl):
                await insert_author(db.vinyl, "rolled back")
                on_commit(partial(calls.append, "rolled back"), using=db.vinyl)
                opened.set()
                # The sibling registers while this savepoint is open; it is not this one's.
                await registered.wait()
                raise Boom

    async def sibling() -> None:
        await opened.wait()
        on_commit(partial(calls.append, "sibling"), using=db.vinyl)
        registered.set()

    async with transaction(db.vinyl):
        on_commit(partial(calls.append, "first"), using=db.vinyl)
        await agather(rolled_back, sibling)
        on_commit(partial(calls.append, "last"), using=db.vinyl)
    assert calls == ["first", "sibling", "last"]
    assert django_names(db.django) == []


async def test_a_robust_callback_logs_its_error_and_the_next_ones_run(
    db: DB, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[str] = []

    def fails() -> None:
        raise Boom("no mail server")

    with caplog.at_level(logging.ERROR, logger="vinyl.query.transaction"):
        async with transaction(db.vinyl):
            on_commit(fails, using=db.vinyl, robust=True)
            on_commit(partial(calls.append, "after"), using=db.vinyl)
        on_commit(fails, using=db.vinyl, robust=True)
    assert calls == ["after"]
    messages = [record.getMessage() for record in caplog.records]
    expected = (
        "Error calling test_a_robust_callback_logs_its_error_and_the_next_ones_run.<locals>"
        ".fails in on_commit() (no mail server)."
    )
    assert messages == [expected, expected]
    with pytest.raises(Boom):
        async with transaction(db.vinyl):
            await insert_author(db.vinyl, "kept")
            on_commit(fails, using=db.vinyl)
    # A callback's error comes after the commit: the block's work stays.
    assert django_names(db.django) == ["kept"]


ISOLATION = {
    "postgresql": ("SHOW transaction_isolation", "{level}"),
    "mysql": ("SELECT @@tx_isolation", "{LEVEL}"),
}


# SQLite's transactions are serializable, and vinyl-sqlite refuses OPTIONS['isolation_level']
# with that reason (test_server_options_are_refused_with_what_to_use_instead).
@servers_only
@pytest.mark.parametrize("level", [None, "read committed", "repeatable read", "serializable"])
async def test_a_block_runs_at_the_configured_isolation_level(
    db: DB, extra_alias: Any, level: str | None
) -> None:
    options = dict(get_backend(db.vinyl).config.options)
    if level is not None:
        options["isolation_level"] = level
    alias = extra_alias("vinyl_isolation", OPTIONS=options)
    sql, shape = ISOLATION[db.vendor]
    # Django's default when unset: the server's on PostgreSQL, read committed on MySQL.
    level = level or "read committed"
    expected = [(shape.format(level=level, LEVEL=level.upper().replace(" ", "-")),)]
    async with transaction(alias):
        assert await fetch_sql(alias, sql) == expected
        async with transaction(alias):
            assert await fetch_sql(alias, sql) == expected
    assert await fetch_sql(alias, sql) == expected

"""What only the sync flavor has: threads joining a block, plain callbacks, no event loop.

A thread joins the ``transaction()`` block of the thread that started it when it runs in a
copy of that thread's context (``contextvars.copy_context().run``), as an asyncio task
does by itself. vinyl cannot tell an idle thread from a finished one (a pooled thread
outlives its work), so only a thread waiting for the connection when the block ends makes
it roll back; a thread's statement after the block ended raises. Inside a running event
loop vinyl_sync raises ``SynchronousOnlyOperation``, as Django's ORM does.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
from collections.abc import Iterator

import pytest
from django.core.exceptions import SynchronousOnlyOperation
from django.db.transaction import TransactionManagementError
from vinyl.query import get_backend
from vinyl.query._compat import Semaphore
from vinyl.query._sync import (
    close_pools,
    connection,
    execute_sql,
    fetch_sql,
    on_commit,
    transaction,
)
from vinyl.query._sync.scope import current_scope
from vinyl_testapp.models import QAuthor
from vinyl_testing.plugin import DB


@pytest.fixture(autouse=True)
def _fresh_pools() -> Iterator[None]:
    yield
    close_pools()


def insert(alias: str, name: str) -> None:
    """Insert one author through vinyl's raw SQL."""
    table = get_backend(alias).wrapper.ops.quote_name(QAuthor._meta.db_table)
    execute_sql(alias, f"INSERT INTO {table} (name, age, rating) VALUES (%s, 0, 0)", [name])


def django_names(db: DB) -> list[str]:
    """Return the authors' names as Django's own connection sees them (committed rows)."""
    return list(QAuthor.objects.using(db.django).order_by("name").values_list("name", flat=True))


def joined_thread(func: object, *args: object) -> threading.Thread:
    """Return a started thread running ``func(*args)`` in a copy of the caller's context."""
    errors: list[BaseException] = []
    context = contextvars.copy_context()

    def run() -> None:
        try:
            context.run(func, *args)  # type: ignore[arg-type]
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.errors = errors  # type: ignore[attr-defined]
    thread.start()
    return thread


def test_a_thread_waiting_for_the_connection_when_the_block_ends_rolls_it_back(db: DB) -> None:
    block = transaction(db.vinyl)
    block.__enter__()
    insert(db.vinyl, "owner")
    scope = current_scope(db.vinyl)
    assert scope is not None
    # The owner holds the connection; the thread's statement waits for it.
    held = connection(db.vinyl)
    held.__enter__()
    thread = joined_thread(insert, db.vinyl, "thread")
    deadline = time.monotonic() + 5
    while not scope.waiters and time.monotonic() < deadline:
        time.sleep(0.001)
    assert scope.waiters
    with pytest.raises(TransactionManagementError, match="still running, so it was rolled back"):
        block.__exit__(None, None, None)
    held.__exit__(None, None, None)
    thread.join()
    [error] = thread.errors  # type: ignore[attr-defined]
    assert isinstance(error, TransactionManagementError)
    assert "block that has ended" in str(error)
    assert django_names(db) == []


def test_a_thread_running_a_statement_after_its_block_ended_raises(db: DB) -> None:
    go = threading.Event()

    def late() -> None:
        go.wait()
        insert(db.vinyl, "late")

    with transaction(db.vinyl):
        insert(db.vinyl, "owner")
        thread = joined_thread(late)
    go.set()
    thread.join()
    [error] = thread.errors  # type: ignore[attr-defined]
    assert isinstance(error, TransactionManagementError)
    assert django_names(db) == ["owner"]


def test_on_commit_refuses_coroutine_functions(db: DB) -> None:
    async def send() -> None:
        pass

    for inside in (False, True):
        with pytest.raises(TypeError, match="vinyl_sync's on_commit\\(\\) cannot run the corout"):
            if inside:
                with transaction(db.vinyl):
                    on_commit(send, using=db.vinyl)
            else:
                on_commit(send, using=db.vinyl)
    with pytest.raises(TypeError, match="returned an awaitable, which vinyl_sync cannot await"):
        with transaction(db.vinyl):
            insert(db.vinyl, "committed")
            on_commit(lambda: send(), using=db.vinyl)
    # The error comes from the callback, after the commit.
    assert django_names(db) == ["committed"]


def test_a_released_pool_slot_goes_to_the_waiting_thread_not_back_to_the_releaser() -> None:
    """A thread that gives a slot back and asks again at once queues behind the waiters.

    With ``threading``'s semaphore it took the slot back before the waiter woke: under load
    a few threads kept the pool while the others waited until ``pool_timeout``.
    """
    slots = Semaphore(1)
    assert slots.acquire()
    waiter = threading.Thread(target=slots.acquire)
    waiter.start()
    while not slots._waiters:
        time.sleep(0.001)
    slots.release()
    assert not slots.acquire(timeout=0.01)
    waiter.join()
    slots.release()
    assert slots.acquire(timeout=0)


async def test_vinyl_sync_refuses_to_run_inside_a_running_event_loop(
    db: DB, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The test plugin allows it for Django's oracle; Django's default is to refuse.
    monkeypatch.delenv("DJANGO_ALLOW_ASYNC_UNSAFE")
    advice = (
        f"You cannot use vinyl_sync on database alias '{db.vinyl}' from an async context "
        f"(an event loop runs in this thread, and a blocking query would stop it). Use "
        f"vinyl_async there and await the same call, or run the sync code in a thread "
        f"(asgiref's sync_to_async). Setting DJANGO_ALLOW_ASYNC_UNSAFE allows it, as for "
        f"Django's ORM."
    )
    with pytest.raises(SynchronousOnlyOperation) as raised:
        fetch_sql(db.vinyl, "SELECT 1")
    assert str(raised.value) == advice
    with pytest.raises(SynchronousOnlyOperation, match="DJANGO_ALLOW_ASYNC_UNSAFE"):
        with transaction(using=db.vinyl):
            pass
    # A thread runs no event loop: the same call works there.
    assert await asyncio.to_thread(fetch_sql, db.vinyl, "SELECT 1") == [(1,)]


async def test_django_allow_async_unsafe_lets_vinyl_sync_run_inside_an_event_loop(
    db: DB, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    assert fetch_sql(db.vinyl, "SELECT 1") == [(1,)]
    with transaction(using=db.vinyl):
        insert(db.vinyl, "on the loop")
    assert django_names(db) == ["on the loop"]

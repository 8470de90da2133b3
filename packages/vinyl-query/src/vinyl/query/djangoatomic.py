"""Django's own ``transaction.atomic()`` on a vinyl alias: the sync flavor joins it.

A Django user who writes ``with transaction.atomic(using="vinyl"): obj.save()`` expects the
save to be part of that transaction. Django's block lives on Django's connection of the
thread (``connections[alias]``); vinyl's statements normally run on connections of vinyl's
pools, where they would commit on their own, outside it. So, while Django's block is open
on the alias in the running thread (or Django's manual transaction: autocommit turned off
with ``transaction.set_autocommit(False)``) and no vinyl ``transaction()`` block is:

- **vinyl_sync joins it.** Its statements run on Django's connection, through the sync
  driver's own connection class (the driver connection Django opened on vinyl's ENGINE is
  the one vinyl's sync driver opens: same values read, same errors raised); a vinyl
  ``transaction()`` there is a Django ``atomic()`` (a savepoint of Django's block, unless
  ``savepoint=False``), and ``on_commit()`` is Django's. Threads keep Django's rule: a
  thread started inside the block has its own connection, outside it.
- **vinyl_async refuses** with ``TransactionManagementError``: Django's connection is a
  blocking connection of one thread, which coroutines on the event loop cannot share.
  (Django's ``atomic()`` cannot even be entered on a running loop without
  ``DJANGO_ALLOW_ASYNC_UNSAFE``.)

The async and sync functions come in pairs (``ajoin_django_atomic`` / ``join_django_atomic``
...), which ``tools/unasync.py`` renames between the flavors as ``vinyl.query._compat``'s.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import NoReturn

from django.db import connections
from django.db import transaction as django_transaction
from django.db.transaction import TransactionManagementError
from vinyl.query.backend import AsyncConnection, Connection, DjangoAtomic
from vinyl.query.databases import get_backend

__all__ = [
    "aenter_django_atomic",
    "ajoin_django_atomic",
    "aon_commit_in_django_atomic",
    "enter_django_atomic",
    "is_open",
    "join_django_atomic",
    "on_commit_in_django_atomic",
]


def is_open(alias: str) -> bool:
    """Return whether a transaction of Django's is open on *alias* in the running thread.

    Django's ``atomic()``, or autocommit turned off by ``transaction.set_autocommit(False)``
    (Django's manual transactions, which vinyl_sync joins the same way). Costs one attribute
    read while no ENGINE wrapper of a vinyl alias is in either
    (:class:`~vinyl.query.backend.DjangoAtomic`).
    """
    if not DjangoAtomic.possible:
        return False
    wrapper = connections[alias]
    if wrapper.in_atomic_block:
        return True
    # Autocommit stays off on a connection closed inside a block: that one is over.
    return getattr(wrapper, "vinyl_manual_transaction", False) and wrapper.connection is not None


def _refused(alias: str) -> NoReturn:
    raise TransactionManagementError(
        f"Django's transaction.atomic(using={alias!r}) is open, but vinyl_async does not "
        f"run on Django's connection (a blocking connection of this thread): this operation "
        f"would run, and commit, outside that block. Use vinyl's transaction(using="
        f"{alias!r}) around vinyl_async's operations instead (in tests, "
        f"vinyl_async.testing.TestCase rather than Django's TestCase, which wraps each test "
        f"in atomic()). vinyl_sync joins Django's atomic() blocks."
    )


def ajoin_django_atomic(alias: str) -> AsyncConnection:
    """Raise ``TransactionManagementError``: the async flavor does not join Django's block."""
    _refused(alias)


def join_django_atomic(alias: str) -> Connection:
    """Return the sync driver's connection over Django's connection of *alias* (in its block).

    Raise Django's ``TransactionManagementError`` when an error already broke the block
    (as Django's cursor does), or when Django's connection is not of vinyl's sync driver
    (e.g. ``mysqlclient`` installed as ``MySQLdb``).
    """
    wrapper = connections[alias]
    wrapper.validate_no_broken_transaction()
    wrapper.ensure_connection()
    joined = get_backend(alias).sync_driver.adopt(wrapper.connection)
    if joined is None:
        raise TransactionManagementError(
            f"Django's transaction.atomic(using={alias!r}) is open, and vinyl_sync would run "
            f"its statements on Django's connection, but that connection is a "
            f"{type(wrapper.connection).__module__}.{type(wrapper.connection).__name__}, "
            f"which vinyl's sync driver cannot run on. Use vinyl's transaction(using="
            f"{alias!r}) instead of Django's atomic() around vinyl's operations."
        )
    return joined


def aenter_django_atomic(
    alias: str, savepoint: bool, durable: bool
) -> AbstractContextManager[None]:
    """Raise ``TransactionManagementError``: the async flavor does not join Django's block."""
    _refused(alias)


def enter_django_atomic(alias: str, savepoint: bool, durable: bool) -> AbstractContextManager[None]:
    """Enter, and return, Django's ``atomic()`` on *alias*: a vinyl block inside Django's."""
    block = django_transaction.atomic(using=alias, savepoint=savepoint, durable=durable)
    block.__enter__()
    return block


def aon_commit_in_django_atomic(func: Callable[[], object], alias: str, robust: bool) -> None:
    """Raise ``TransactionManagementError``: the async flavor does not see Django's commit."""
    _refused(alias)


def on_commit_in_django_atomic(func: Callable[[], object], alias: str, robust: bool) -> None:
    """Register *func* with Django's block: it runs after Django's outermost commit."""
    django_transaction.on_commit(func, using=alias, robust=robust)

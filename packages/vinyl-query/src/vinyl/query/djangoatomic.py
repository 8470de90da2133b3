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

A test mirror (the vinyl alias on the same database as ``default``, see
``vinyl.query.creation``) joins its primary's ``atomic()`` the same way: Django's
``TestCase`` opens its per-test ``atomic()`` on the primary and on the mirror, each on its own
connection, and the test's rows are in the primary's. So, unless the test opened an
``atomic()`` on the mirror itself, vinyl_sync's statements see the test's rows and roll back
with them. Its ``on_commit()`` callbacks stay where Django's ``on_commit(using=mirror)`` puts
them, on the mirror's connection (``captureOnCommitCallbacks(using=mirror)`` sees them),
and a vinyl ``transaction()`` there opens an ``atomic()`` on both connections.

The async and sync functions come in pairs (``ajoin_django_atomic`` / ``join_django_atomic``
...), which ``tools/unasync.py`` renames between the flavors as ``vinyl.query._compat``'s.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from typing import NoReturn, cast

from django.db import DatabaseError, DataError, IntegrityError, connections
from django.db import transaction as django_transaction_module
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.transaction import TransactionManagementError
from vinyl.query.backend import (
    AsyncConnection,
    Connection,
    DjangoAtomic,
    VinylDatabaseWrapperMixin,
)
from vinyl.query.databases import get_backend

__all__ = [
    "aenter_django_atomic",
    "ajoin_django_atomic",
    "aon_commit_in_django_atomic",
    "aprepare_django_join",
    "django_transaction",
    "enter_django_atomic",
    "join_django_atomic",
    "mark_for_rollback_on_error",
    "mirror_in_tests",
    "on_commit_in_django_atomic",
    "prepare_django_join",
    "statement_failed",
]


#: vinyl alias -> the alias it is the test mirror of (the same database, while testing).
_test_primaries: dict[str, str] = {}


def mirror_in_tests(alias: str, primary: str) -> None:
    """Record that *alias* is the test mirror of *primary* (Django's ``set_as_test_mirror()``).

    Django's ``TestCase`` opens an ``atomic()`` on both, each on its own connection; the
    test's rows are in *primary*'s, on the same database, so vinyl's statements on *alias*
    join that transaction.
    """
    _test_primaries[alias] = primary


def django_transaction(alias: str) -> BaseDatabaseWrapper | None:
    """Return Django's connection whose open transaction vinyl's statements on *alias* join.

    That is ``connections[alias]`` inside Django's ``atomic()`` or with autocommit turned off
    (``transaction.set_autocommit(False)``, Django's manual transactions); for a test
    mirror, its primary's connection inside ``atomic()`` while the mirror's own connection
    holds none but ``TestCase``'s. ``None`` when there is none, at the cost of one attribute
    read while no ENGINE wrapper of a vinyl alias is in a transaction
    (:class:`~vinyl.query.backend.DjangoAtomic`) and no test mirror is recorded. *alias*
    must be a vinyl alias: callers ask ``get_backend(alias)`` first.
    """
    own = None
    if DjangoAtomic.possible:
        wrapper = connections[alias]
        # Autocommit stays off on a connection closed inside a block: that one is over.
        if wrapper.in_atomic_block or (
            cast(VinylDatabaseWrapperMixin, wrapper).vinyl_manual_transaction
            and wrapper.connection is not None
        ):
            own = wrapper
    if _test_primaries and (own is None or _only_testcase_blocks(own)):
        # Django's TestCase opens a block on every database of the test, mirrors included;
        # the test's rows are in the primary's.
        primary = _test_primaries.get(alias)
        if primary is not None and connections[primary].in_atomic_block:
            return connections[primary]
    return own


def _only_testcase_blocks(wrapper: BaseDatabaseWrapper) -> bool:
    return all(
        getattr(block, "_from_testcase", False) or isinstance(block, _MirrorAtomic)
        for block in wrapper.atomic_blocks
    )


class _MirrorAtomic(django_transaction_module.Atomic):
    """The ``atomic()`` a vinyl ``transaction()`` on a test mirror opens on the mirror itself.

    The block's statements run in the primary's transaction, inside an ``atomic()`` opened
    there; this one, on the mirror's own connection, holds what Django's ``atomic()`` on the
    mirror would: the ``on_commit()`` callbacks registered in the block, kept or dropped
    with it, and its savepoint queries in the mirror's query log. It is not the test's own
    block: the mirror still joins the primary's transaction while it is open.
    """


def _open_one(wrapper: BaseDatabaseWrapper) -> str:
    """Return which transaction of Django's is open on *wrapper*, for an error message."""
    if wrapper.in_atomic_block:
        return f"Django's transaction.atomic(using={wrapper.alias!r}) is open"
    return (
        f"Django's transaction on {wrapper.alias!r} is open (autocommit turned off by "
        f"transaction.set_autocommit(False))"
    )


def _refused(alias: str) -> NoReturn:
    raise TransactionManagementError(
        f"{_open_one(_open_transaction(alias))}, but vinyl_async does not run on Django's "
        f"connection (a blocking connection of this thread): this operation would run, and "
        f"commit, outside that block. Use vinyl's transaction(using={alias!r}) around "
        f"vinyl_async's operations instead (in tests, vinyl_async.testing.TestCase rather "
        f"than Django's TestCase, which wraps each test in atomic()). vinyl_sync joins "
        f"Django's atomic() blocks."
    )


def ajoin_django_atomic(alias: str) -> AsyncConnection:
    """Raise ``TransactionManagementError``: the async flavor does not join Django's block."""
    _refused(alias)


def join_django_atomic(alias: str) -> Connection:
    """Return the sync driver's connection over Django's connection in its transaction.

    Raise what Django's cursor raises when the connection was closed inside the block or an
    error already broke it (``TransactionManagementError``), and
    ``TransactionManagementError`` when Django's connection is not of vinyl's sync driver
    (e.g. ``mysqlclient`` installed as ``MySQLdb``).
    """
    wrapper = _open_transaction(alias)
    if wrapper.closed_in_transaction:
        # Closed inside the block: raise what Django's statements raise there (its cursor()
        # raises the driver's error for a closed connection where the driver has one).
        wrapper.cursor().close()
    wrapper.validate_no_broken_transaction()
    wrapper.ensure_connection()
    joined = get_backend(alias).sync_driver.adopt(wrapper.connection, alias)
    if joined is None:
        raise TransactionManagementError(
            f"{_open_one(wrapper)}, and vinyl_sync would run its statements for {alias!r} "
            f"on Django's connection, but that connection is a "
            f"{type(wrapper.connection).__module__}.{type(wrapper.connection).__name__}, "
            f"which vinyl's sync driver cannot run on. "
            f"Use vinyl's transaction(using={alias!r}) instead of Django's atomic() around "
            f"vinyl's operations (in tests, vinyl_sync.testing.TestCase instead of Django's "
            f"TestCase, which opens an atomic() around each test)."
        )
    return joined


def aprepare_django_join(alias: str) -> None:
    """Raise ``TransactionManagementError``: the async flavor does not join Django's block."""
    _refused(alias)


def prepare_django_join(alias: str) -> None:
    """Check that vinyl_sync can join Django's transaction on *alias*; learn its server there.

    For a caller that needs the server's capabilities before its first statement (a write's
    plan: RETURNING on MariaDB) and opens no pool inside Django's transaction: what
    :func:`join_django_atomic` does, without keeping the connection. It raises as that
    raises, and ``Driver.adopt()`` records what the server is, as a pool's first
    connection would.
    """
    join_django_atomic(alias)


def aenter_django_atomic(
    alias: str, savepoint: bool, durable: bool
) -> AbstractContextManager[object]:
    """Raise ``TransactionManagementError``: the async flavor does not join Django's block."""
    _refused(alias)


def enter_django_atomic(
    alias: str, savepoint: bool, durable: bool
) -> AbstractContextManager[object]:
    """Enter, and return, Django's ``atomic()`` inside the transaction *alias* joins.

    For a test mirror inside Django's ``TestCase``, that is an ``atomic()`` on the primary,
    where the statements run, and one on the mirror, where its ``on_commit()`` callbacks
    are (:func:`on_commit_in_django_atomic`).
    """
    using = _open_transaction(alias).alias
    block = django_transaction_module.atomic(using=using, savepoint=savepoint, durable=durable)
    if not _callbacks_on_mirror(alias, using):
        block.__enter__()
        return block
    blocks = ExitStack()
    blocks.enter_context(block)
    # The primary's block already refused a durable block that cannot nest.
    blocks.enter_context(_MirrorAtomic(alias, savepoint, durable=False))
    return blocks


def aon_commit_in_django_atomic(func: Callable[[], object], alias: str, robust: bool) -> None:
    """Raise ``TransactionManagementError``: the async flavor does not see Django's commit."""
    _refused(alias)


def on_commit_in_django_atomic(func: Callable[[], object], alias: str, robust: bool) -> None:
    """Register *func* with Django's transaction: it runs after Django's outermost commit.

    For a test mirror inside Django's ``TestCase``, *func* is registered on the mirror's
    connection, where Django's own ``on_commit(func, using=alias)`` registers it, so
    ``captureOnCommitCallbacks(using=alias)`` captures it.
    """
    using = _open_transaction(alias).alias
    if _callbacks_on_mirror(alias, using):
        using = alias
    django_transaction_module.on_commit(func, using=using, robust=robust)


def _callbacks_on_mirror(alias: str, joined: str) -> bool:
    """Tell whether *alias* joins *joined*'s transaction as a test mirror in an ``atomic()``.

    Then its ``on_commit()`` callbacks belong on its own connection, as Django's: inside
    Django's ``TestCase`` (or an ``atomic()`` of the test's on the primary only, while the
    mirror's connection holds the ``TestCase``'s block). A mirror outside any block of its
    own (``TransactionTestCase``) registers them with the primary's transaction, whose
    commit they wait for.
    """
    return joined != alias and connections[alias].in_atomic_block


def statement_failed(wrapper: BaseDatabaseWrapper, exc: BaseException | None) -> None:
    """Mark *wrapper* as Django's cursor does when one of its statements raises *exc*.

    Django's ``DatabaseErrorWrapper`` sets ``errors_occurred`` for every database error
    but a ``DataError`` or an ``IntegrityError``, errors that may make the connection
    unusable: at the end of the request, ``close_if_unusable_or_obsolete()`` checks such a
    connection and closes it if it no longer works.
    """
    if isinstance(exc, DatabaseError) and not isinstance(exc, (DataError, IntegrityError)):
        wrapper.errors_occurred = True


def mark_for_rollback_on_error(alias: str) -> AbstractContextManager[None]:
    """Return Django's ``mark_for_rollback_on_error()`` for the transaction *alias* joins.

    Django wraps a write of one statement (``save()``, ``update()``, a fast ``delete()``)
    in it: an error marks the enclosing ``atomic()`` for rollback, so the next statement
    raises ``TransactionManagementError`` and the block rolls back instead of committing
    what ran before the error, even when the caller catches it. Only Django's state is
    changed: it does no I/O, so the async flavor's source can hold it too (that flavor
    never joins).
    """
    return django_transaction_module.mark_for_rollback_on_error(
        using=_open_transaction(alias).alias
    )


def _open_transaction(alias: str) -> BaseDatabaseWrapper:
    wrapper = django_transaction(alias)
    assert wrapper is not None, "called only while a transaction of Django's is open"
    return wrapper

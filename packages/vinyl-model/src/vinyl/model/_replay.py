"""Run Django's own sync queryset methods without letting them do I/O.

Methods such as ``QuerySet.get()``, ``count()``, ``aggregate()`` or ``latest()`` hold
logic vinyl wants unchanged (validation, error messages, the aggregate subquery plan)
around one or more reads. vinyl runs them on a *replay twin* of the queryset:

- when the method evaluates a queryset, the twin's ``_fetch_all()`` raises
  :class:`Captured` carrying that queryset;
- when it executes SQL itself (``count()``, ``aggregate()``, ``exists()``), it does so on
  a *replay alias*: a never-connected copy of the vinyl backend's ``DatabaseWrapper`` whose
  cursor raises :class:`Captured` carrying the statement.

The caller performs the captured read for real (through vinyl's driver), appends the
result to the session and runs the method again from the start; this time the twin hands
back the recorded result at that point, until the method returns. Each run is pure
query building, so the runs agree on every read before the next capture.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Final

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.base.features import BaseDatabaseFeatures
from django.db.models import QuerySet
from vinyl.query.databases import get_backend
from vinyl.query.djangoatomic import django_transaction

__all__ = [
    "Captured",
    "ReplayQuerySet",
    "Statement",
    "compile_wrapper",
    "real_alias",
    "recast",
    "replay_alias",
    "replay_twin",
    "replayed",
    "run",
    "session",
]

_SUFFIX: Final = "\x1fvinyl-replay"


@dataclass(frozen=True, slots=True)
class Statement:
    """A statement Django tried to execute, in Django's ``%s`` paramstyle."""

    alias: str
    sql: str
    params: Sequence[Any]


class Captured(BaseException):  # noqa: N818 - a control-flow signal, not an error
    """Raised inside a replay run at the first read that has no recorded result.

    A ``BaseException`` so that no ``except Exception`` in Django's code swallows it.
    """

    def __init__(self, read: QuerySet[Any] | Statement) -> None:
        super().__init__(read)
        self.read = read


@dataclass(slots=True)
class _Session:
    results: list[Any]
    position: int = 0

    def next(self, read: QuerySet[Any] | Statement) -> Any:
        if self.position == len(self.results):
            raise Captured(read)
        result = self.results[self.position]
        self.position += 1
        return result


_session: ContextVar[_Session | None] = ContextVar("vinyl_replay_session", default=None)


@contextmanager
def session(results: list[Any]) -> Iterator[None]:
    """Replay *results* (one per read, in order) to the twins used inside the block."""
    token = _session.set(_Session(results))
    try:
        yield
    finally:
        _session.reset(token)


def _current() -> _Session:
    current = _session.get()
    if current is None:
        raise RuntimeError("A vinyl replay twin was evaluated outside a replay session.")
    return current


class ReplayQuerySet(QuerySet[Any]):
    """A Django queryset whose reads come from the current replay session."""

    def _fetch_all(self) -> None:
        if self._result_cache is None:
            self._result_cache = list(_current().next(self))
            # vinyl ran prefetch_related() with the captured read.
            self._prefetch_done = True


def replay_twin(queryset: QuerySet[Any]) -> ReplayQuerySet:
    """Return a replay twin of *queryset*: same query, same model, on its replay alias."""
    twin = recast(queryset, ReplayQuerySet)
    private: Any = twin  # _db is private: Django's stubs leave it out.
    private._db = replay_alias(queryset.db)
    return twin


def recast[Q: QuerySet[Any]](queryset: QuerySet[Any], cls: type[Q]) -> Q:
    """Return a copy of *queryset* (as Django's ``_chain()`` makes it) of the class *cls*.

    The copy's state is moved into a new object rather than its ``__class__`` assigned:
    vinyl's generic querysets do not share the memory layout of Django's.
    """
    source: Any = queryset  # _chain() is private: Django's stubs leave it out.
    copy = cls.__new__(cls)
    copy.__dict__.update(source._chain().__dict__)
    return copy


def pinned(queryset: QuerySet[Any]) -> QuerySet[Any]:
    """Return *queryset*, or, when Django's router picks its alias, a copy on the alias the
    router picks now.

    Django's iterable asks the router once for a read and compiles, reads and decodes on
    its answer. vinyl reads ``queryset.db`` more than once for a read (its plan, the query
    it compiles, its instances, each run of a replayed method), and a router may answer
    otherwise each time (one replica of several): the read asks once, as Django's.
    """
    private: Any = queryset  # _db is private: Django's stubs leave it out.
    if private._db is not None:
        return queryset
    return copied(queryset, _db=queryset.db)


def copied(queryset: QuerySet[Any], **changes: Any) -> QuerySet[Any]:
    """Return a shallow copy of *queryset* with the attributes *changes* set.

    Not Django's ``_chain()``: the copy shares the query and everything else.
    """
    cls: Any = type(queryset)
    copy = cls.__new__(cls)
    copy.__dict__.update(queryset.__dict__, **changes)
    result: QuerySet[Any] = copy
    return result


def real_alias(alias: str) -> str:
    """Return the vinyl alias behind *alias* (itself when it is not a replay alias)."""
    return alias.removesuffix(_SUFFIX)


def compile_wrapper(alias: str) -> BaseDatabaseWrapper:
    """Return this thread's replay wrapper of the vinyl alias *alias*, to compile with.

    Unlike the backend's own wrapper it knows whether a vinyl transaction is open, which
    Django's compiler asks before writing ``SELECT ... FOR UPDATE``.
    """
    name = alias + _SUFFIX
    try:
        # One lookup when the thread has it: Django's ``connections`` costs a few
        # microseconds a lookup, and every write asks.
        wrapper: BaseDatabaseWrapper = connections[name]
    except Exception:  # Django raises ConnectionDoesNotExist for an unregistered name.
        wrapper = connections[replay_alias(alias)]
    return wrapper


def features(alias: str) -> BaseDatabaseFeatures:
    """Return the features of the vinyl alias *alias* as Django's compilers see them.

    The server's own ones (RETURNING on MariaDB) once its pool has started.
    """
    return compile_wrapper(alias).features


def replay_alias(alias: str) -> str:
    """Return the replay alias of the vinyl alias *alias*, registered for this thread.

    ``connections`` keeps one wrapper per thread; the replay wrapper holds no state (the
    session lives in a ``ContextVar``), so concurrent tasks of a thread share it.
    """
    name = alias + _SUFFIX
    try:
        connections[name]
    except Exception:  # Django raises ConnectionDoesNotExist for an unregistered name.
        connections[name] = _replay_wrapper(get_backend(alias).wrapper)
    return name


_replay_classes: dict[type[BaseDatabaseWrapper], type[BaseDatabaseWrapper]] = {}


def _replay_wrapper(wrapper: BaseDatabaseWrapper) -> BaseDatabaseWrapper:
    # A shallow copy keeps what the backend's private wrapper learnt (server version...);
    # only the cursor changes, so Django's compilers and converters behave the same.
    cls = type(wrapper)
    if cls not in _replay_classes:
        _replay_classes[cls] = type(
            f"Replay{cls.__name__}",
            (cls,),
            {
                "cursor": _replay_cursor,
                "chunked_cursor": _replay_cursor,
                "ensure_connection": _never_connect,
                "get_autocommit": _autocommit,
                "features": property(_origin_features),
            },
        )
    replay = copy.copy(wrapper)
    replay.__class__ = _replay_classes[cls]
    replay.connection = None
    replay.vinyl_origin = wrapper  # type: ignore[attr-defined]
    return replay


def _origin_features(wrapper: BaseDatabaseWrapper) -> BaseDatabaseFeatures:
    # The backend's wrapper rebuilds its features when a pool reads the server's version
    # (the replay copy is usually made before, at a thread's first compile); a copy of the
    # attribute would keep what they answered for the oldest supported server.
    origin: BaseDatabaseWrapper = wrapper.vinyl_origin  # type: ignore[attr-defined]
    return origin.features


def _never_connect(wrapper: BaseDatabaseWrapper) -> None:
    # Django code that would open its own sync connection here is a vinyl bug: fail loudly.
    raise RuntimeError(
        f"vinyl's replay wrapper for {real_alias(wrapper.alias)!r} was asked to connect; "
        f"it only compiles. Please report this with the traceback."
    )


def _autocommit(wrapper: BaseDatabaseWrapper) -> bool:
    # What Django asks before select_for_update(): whether a transaction is open, which in
    # vinyl is a transaction() block of either flavor on this alias, or Django's atomic()
    # (which vinyl_sync joins, and vinyl_async refuses when it runs the statement).
    from vinyl.query._async.scope import current_scope as async_scope
    from vinyl.query._sync.scope import current_scope as sync_scope

    alias = real_alias(wrapper.alias)
    in_vinyl_block = async_scope(alias) is not None or sync_scope(alias) is not None
    return not in_vinyl_block and django_transaction(alias) is None


def _replay_cursor(wrapper: BaseDatabaseWrapper) -> _ReplayCursor:
    return _ReplayCursor(wrapper)


@dataclass(slots=True)
class _ReplayCursor:
    """The DB-API cursor subset Django's compilers use, fed by the replay session."""

    wrapper: BaseDatabaseWrapper
    rows: list[Sequence[Any]] = field(default_factory=list)

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        statement = Statement(real_alias(self.wrapper.alias), sql, tuple(params or ()))
        self.rows = list(_current().next(statement))

    def fetchone(self) -> Sequence[Any] | None:
        return self.rows.pop(0) if self.rows else None

    def fetchmany(self, size: int = 1) -> Sequence[Sequence[Any]]:
        if not self.rows:
            # Django's cursor_iter() stops at exactly this value (``[]`` or ``()``).
            empty: Sequence[Sequence[Any]] = self.wrapper.features.empty_fetchmany_value
            return empty
        batch, self.rows = self.rows[:size], self.rows[size:]
        return batch

    def fetchall(self) -> list[Sequence[Any]]:
        batch, self.rows = self.rows, []
        return batch

    def close(self) -> None:
        self.rows = []


def run[T](method: Callable[[ReplayQuerySet], T], queryset: QuerySet[Any], results: list[Any]) -> T:
    """Run *method* on a fresh replay twin of *queryset*, replaying *results*.

    Raise :class:`Captured` at the first read without a recorded result.
    """
    with session(results):
        return method(replay_twin(queryset))


def replayed[S, T](
    method: Callable[[ReplayQuerySet], T],
    queryset: QuerySet[Any],
    step: Callable[[QuerySet[Any] | Statement], S],
) -> Generator[S, Any, T]:
    """Return ``method(twin)``, run on replay twins of *queryset* until no read is left.

    Each read the method makes is yielded as ``step(read)``; the caller sends back its
    result, and the method runs again from the start with the results so far.
    """
    results: list[Any] = []
    queryset = pinned(queryset)
    while True:
        try:
            return run(method, queryset, results)
        except Captured as captured:
            results.append((yield step(captured.read)))

"""The differential write suite's interpreter: one scenario, through Django and through vinyl.

Written async; ``tools/unasync.py`` generates the sync twin in ``_sync/`` (``avinyl`` →
``vinyl``). Django's side runs the same interpreter: its calls return values, never
awaitables, so :func:`resolved` passes them through.
"""

from __future__ import annotations

import datetime
import inspect
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

from django.db.models import Model, QuerySet

from vinyl_testing.plugin import DB
from vinyl_testing.writes import (
    BulkCreate,
    BulkUpdate,
    Create,
    Delete,
    Get,
    New,
    Op,
    Query,
    Ref,
    Refresh,
    Related,
    Save,
    Set,
    Window,
    mapped,
    plain,
    record_signals,
    reseed,
    seed_writes,
    snapshot,
    stamped,
    table_differences,
)

__all__ = ["Run", "Scenario", "Side", "check_scenario", "failure", "interpret", "run", "unchanged"]

#: A scenario: the operations of one round (0 or 1; each round uses other values).
Scenario = Callable[[int], list[Op]]


@dataclass(frozen=True)
class Side:
    """Who performs the operations: Django (the oracle) or vinyl, on *alias*."""

    alias: str
    vinyl: bool

    def manager(self, model: Any) -> Any:
        """Return the model's manager for this side, on this side's alias."""
        if self.vinyl:
            return model.avinyl.using(self.alias)
        return model.objects.using(self.alias)


async def resolved(value: Any) -> Any:
    """Return *value*, awaited when it is awaitable (vinyl_async's writes)."""
    if inspect.isawaitable(value):
        return await value
    return value


def _values(value: Any, env: dict[str, Any]) -> Any:
    """Return *value* with every :class:`Ref` replaced by the object it names."""
    return mapped(value, lambda item: env[item.var] if isinstance(item, Ref) else item)


async def _outcome(call: Callable[[], Any]) -> Any:
    """Return what *call* returns (``resolved``), or the error it raises, as plain data."""
    try:
        return plain(await resolved(call()))
    except Exception as error:
        return plain(error)


async def perform(op: Op, side: Side, env: dict[str, Any]) -> Any:
    """Perform *op* on *side*; return what to compare (plain data)."""
    if isinstance(op, Create):
        obj = await resolved(side.manager(op.model).create(**_values(op.values, env)))
        env[op.var] = obj
        return plain(obj)
    if isinstance(op, New):
        values = _values(op.values, env)
        if side.vinyl:
            obj = side.manager(op.model).new(**values)
        else:
            obj = op.model(**values)
        env[op.var] = obj
        return plain(obj)
    if isinstance(op, Get):
        obj = await resolved(side.manager(op.model).get(**_values(op.lookup, env)))
        env[op.var] = obj
        return plain(obj)
    if isinstance(op, Set):
        obj = env[op.var]
        for name, value in _values(op.values, env).items():
            setattr(obj, name, value)
        return None
    if isinstance(op, Save):
        obj = env[op.var]
        options = _values(op.options, env)
        if op.using or not side.vinyl:
            options["using"] = side.alias
        # What the save left on the instance is compared too, after a failure as well.
        return (await _outcome(lambda: obj.save(**options)), plain(obj))
    if isinstance(op, Delete):
        obj = env[op.var]
        options = dict(op.options)
        if not side.vinyl:
            options["using"] = side.alias
        return (await _outcome(lambda: obj.delete(**options)), plain(obj))
    if isinstance(op, Refresh):
        obj = env[op.var]
        await resolved(obj.refresh_from_db(fields=op.fields))
        return plain(obj)
    if isinstance(op, Query):
        queryset = op.build(side.manager(op.model))
        method = getattr(queryset, op.method)
        result = await resolved(method(*_values(op.args, env), **_values(op.kwargs, env)))
        if op.var is not None:
            env[op.var] = result[0] if isinstance(result, tuple) else result
        return plain(result)
    if isinstance(op, BulkCreate):
        objs = [op.model(**_values(row, env)) for row in op.rows]
        for index, obj in enumerate(objs):
            env[f"{op.prefix}{index}"] = obj
        result = await resolved(side.manager(op.model).bulk_create(objs, **op.options))
        return (plain(result), plain(objs))
    if isinstance(op, BulkUpdate):
        objs = [env[var] for var in op.vars]
        result = await resolved(side.manager(op.model).bulk_update(objs, op.fields, **op.options))
        return (plain(result), plain(objs))
    if isinstance(op, Related):
        return await _related(op, env)
    raise TypeError(f"not an operation: {op!r}")


async def _related(op: Related, env: dict[str, Any]) -> Any:
    """Perform a :class:`Related` operation; return its result and the instances it took."""
    args = _values(op.args, env)
    try:
        # Inside: Django raises for an unsaved instance's many-to-many as soon as it is read.
        manager = getattr(env[op.var], op.accessor)
        if op.manager is not None:
            manager = manager(manager=op.manager)
        result = await resolved(getattr(manager, op.method)(*args, **_values(op.kwargs, env)))
        if isinstance(result, QuerySet):
            # A read (all(), order_by()...): Django's lazy queryset, or vinyl_sync's (an
            # async flavor's queryset was awaited: a list).
            result = list(result)
        if op.result_var is not None:
            env[op.result_var] = result[0] if isinstance(result, tuple) else result
        outcome = plain(result)
    except Exception as error:
        outcome = plain(error)
    flat = [item for arg in args for item in (arg if isinstance(arg, list | tuple) else [arg])]
    return (outcome, [plain(item) for item in flat if isinstance(item, Model)])


async def interpret(ops: list[Op], side: Side) -> list[Any]:
    """Perform *ops* in order on *side*; return each one's result or exception, as data."""
    env: dict[str, Any] = {}
    results = []
    for op in ops:
        try:
            result = await perform(op, side, env)
        except Exception as error:
            result = plain(error)
        results.append((type(op).__name__, result))
    return results


@dataclass(frozen=True)
class Run:
    """What one interpretation left: results, tables, and the signals a receiver heard."""

    results: list[Any]
    tables: dict[str, list[dict[str, Any]]]
    signals: list[tuple[str, str]]


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


async def run(db: DB, ops: list[Op], round_: int, *, vinyl: bool) -> Run:
    """Reset and seed *db*, perform *ops* through Django or vinyl, and snapshot every table."""
    reseed(db.django, seed_writes, round_)
    side = Side(alias=db.vinyl if vinyl else db.django, vinyl=vinyl)
    start = _now()
    # Only vinyl's side is listened to: a receiver of m2m_changed would make Django's
    # add() take its slow path (read the missing ids first), which vinyl, sending no
    # signal, never needs; without one both insert alike (and burn the same ids).
    listener: AbstractContextManager[list[tuple[str, str]]] = (
        record_signals() if vinyl else nullcontext([])
    )
    with listener as heard:
        results = await interpret(ops, side)
    window = Window(start, _now())
    return Run(
        results=stamped(results, window),
        tables=stamped(snapshot(db.django), window),
        signals=list(heard),
    )


async def check_scenario(db: DB, scenario: Scenario) -> None:
    """Assert that *scenario* leaves the same tables and results through vinyl as Django.

    Twice, with other values: the second round goes through whatever the first one cached.
    """
    for round_ in (0, 1):
        ops = scenario(round_)
        expected = await run(db, ops, round_, vinyl=False)
        actual = await run(db, ops, round_, vinyl=True)
        assert actual.signals == [], f"vinyl sent signals: {actual.signals}"
        for index, (op, want, got) in enumerate(
            zip(ops, expected.results, actual.results, strict=True)
        ):
            assert got == want, (
                f"round {round_}, operation {index}: {op!r}\n  Django: {want}\n  vinyl:  {got}"
            )
        differences = table_differences(expected.tables, actual.tables)
        assert not differences, f"round {round_}: the tables differ\n{differences}"


def failure(result: Any) -> Any:
    """Return the plain exception in *result* (``unchanged()``'s), or *result* itself."""
    if isinstance(result, tuple) and len(result) == 2 and result[0] != "error":
        return result[0]
    return result


async def unchanged(db: DB, ops: list[Op], round_: int = 0) -> tuple[Any, Any]:
    """Perform *ops* (reads, then one failing write) through Django and through vinyl on
    the seeded database; assert that neither changed a table.

    Return (Django's result, vinyl's result) of the last operation, as plain data: the
    exception, or for save()/delete() the exception and the instance it left.
    """
    results = []
    for vinyl in (False, True):
        reseed(db.django, seed_writes, round_)
        before = snapshot(db.django)
        side = Side(alias=db.vinyl if vinyl else db.django, vinyl=vinyl)
        with record_signals() as heard:
            performed = await interpret(ops, side)
        differences = table_differences(before, snapshot(db.django))
        who = "vinyl" if vinyl else "Django"
        assert not differences, f"{who} changed the tables (before/after):\n{differences}"
        if vinyl:
            assert heard == [], f"vinyl sent signals: {heard}"
        results.append(performed[-1][1])
    return results[0], results[1]

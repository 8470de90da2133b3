"""What a write asks of the database, planned without I/O.

A write (``save()``, ``delete()``, ``update()``, ``bulk_create()``...) is planned by a
generator, a :data:`Plan`: it yields one :data:`Step` at a time — a statement to run, or a
read — and is sent back that step's result (a row count, rows, an inserted id, a list).
Deciding what to do next (insert or update, which rows a cascade reaches) stays in plain
code that never awaits; ``vinyl.model._async.write.run()`` (and its sync twin) only performs
the steps, in order, on the alias's connection. The statements are written by Django's own
compilers (``InsertQuery``, ``UpdateQuery``, ``DeleteQuery``) on the alias's compile-only
wrapper, so their SQL is Django's, byte for byte.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model, QuerySet
from django.db.models.sql import InsertQuery
from django.db.models.sql.compiler import SQLCompiler
from vinyl.model import _replay, _statements
from vinyl.model._messages import no_alias
from vinyl.model._statements import STATEMENTS
from vinyl.model._values import pre_saved

__all__ = [
    "Execute",
    "Insert",
    "Plan",
    "Read",
    "Step",
    "compile_with_reads",
    "convert_returned",
    "insert",
    "run_compiler",
    "write_alias",
]


def write_alias(obj: Model, using: str | None, operation: str) -> str:
    """Return the alias *operation* (``save``, ``delete``) of *obj* writes on.

    *using*, else where Django's router sends the model's writes, as Django's ``save()``
    and ``delete()`` ask it (without a router of the user's: the alias *obj* was read
    from). An instance that names no alias at all is refused with vinyl's message rather
    than written on ``default``, which may not be a vinyl alias.
    """
    if using:
        return using
    if obj._state.db is None:
        raise ValueError(no_alias(obj, operation))
    alias: str = router.db_for_write(obj._meta.model, instance=obj)
    return alias


# Execute, Insert (and the Save and Binding of vinyl.model._saving and _statements): not
# frozen, though never changed: a frozen dataclass's __init__ costs about three times as
# much (object.__setattr__() per field), and every write makes them.
@dataclass(slots=True)
class Execute:
    """Run one statement (Django's ``%s`` paramstyle); the plan gets its row count.

    With *returning*, the statement returns rows (``RETURNING``): the plan gets them.
    """

    sql: str
    params: Sequence[Any]
    returning: bool = False


@dataclass(slots=True)
class Insert:
    """Run one INSERT without ``RETURNING``; the plan gets the id the server assigned."""

    sql: str
    params: Sequence[Any]


@dataclass(frozen=True, slots=True)
class Read:
    """Read *queryset* through vinyl; the plan gets what ``terminal`` returns.

    ``terminal`` names the queryset method that ends the read (``""`` for the list of
    results itself, else ``"exists"``, ``"aggregate"``...), called with *args* and *kwargs*.
    """

    queryset: QuerySet[Any]
    terminal: str = ""
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)


#: One thing a plan asks for. A :class:`vinyl.model._replay.Statement` is a read Django's
#: compiler asked for while writing SQL (the rows of an UPDATE's pre-select); the plan gets
#: its rows.
Step = Execute | Insert | Read | _replay.Statement

#: A write planned without I/O: it yields steps, is sent their results, returns *T*.
type Plan[T] = Generator[Step, Any, T]


def compile_with_reads[C: SQLCompiler](
    alias: str, build: Callable[[str], C]
) -> Generator[Step, Any, tuple[C, Any]]:
    """Return ``(compiler, compiler.as_sql())`` for the compiler ``build(compile_alias)`` makes.

    Most compilers write their SQL without I/O. Django's update compiler reads the primary
    keys first when the update touches a parent table or the server cannot select from the
    table it updates (MySQL); that read is yielded as a step, and the compiler, made anew
    by *build*, writes its SQL again with the rows recorded (``vinyl.model._replay``).
    """
    compile_alias = _replay.replay_alias(alias)
    results: list[Any] = []
    while True:
        compiler = build(compile_alias)
        try:
            with _replay.session(results):
                return compiler, compiler.as_sql()
        except _replay.Captured as captured:
            read = captured.read
        # Only a statement: a compiler reads through its cursor, never through a queryset.
        assert isinstance(read, _replay.Statement)
        results.append((yield read))


def run_compiler(alias: str, build: Callable[[str], SQLCompiler]) -> Plan[int]:
    """Run the one statement of the compiler *build* makes; return its row count.

    A query Django proves matches no row (``EmptyResultSet``: ``filter(pk__in=[])``), or
    a statement with nothing to set, runs nothing and counts 0, as Django's ``execute_sql()``.
    """
    try:
        _compiler, (sql, params) = yield from compile_with_reads(alias, build)
    except EmptyResultSet:
        return 0
    if not sql:
        return 0
    count: int = yield Execute(sql, params)
    return count


def insert(
    alias: str,
    model: type[Model],
    objs: Sequence[Model],
    fields: Sequence[Field[Any, Any]],
    returning_fields: Sequence[Field[Any, Any]] = (),
    *,
    values: Sequence[Sequence[Any]] | None = None,
    connection: BaseDatabaseWrapper | None = None,
    **options: Any,
) -> Plan[list[tuple[Any, ...]]]:
    """Insert *objs* (one statement per batch Django writes); return the returned rows.

    As Django's ``SQLInsertCompiler.execute_sql()``: the rows hold *returning_fields*,
    converted to Python, when the server returns columns from an INSERT; otherwise the id
    of a single row comes from the server's last insert id when the first returning field
    is an ``AutoField``, and there are no rows at all when neither is possible. *options*
    are ``InsertQuery``'s (``on_conflict``, ``update_fields``, ``unique_fields``).

    *values* holds, per field, each object's ``field.pre_save(obj, add=True)``, when the
    caller has already called it (``save()``); otherwise it is called here, field by field
    as Django's compiler does. Either way it runs once per value: Django's compiler, when
    it writes the statement, is handed these values. A shape seen before with plain values
    reuses its SQL (``vinyl.model._statements``).

    *connection* is the alias's compile wrapper (``_replay.compile_wrapper(alias)``) when
    the caller holds it already: looking it up costs a thread-local read.
    """
    if connection is None:
        connection = _replay.compile_wrapper(alias)
    if values is None:
        values = [pre_saved(field, objs) for field in fields]
    binding = STATEMENTS.bind_insert(model, connection, fields, returning_fields, options, values)
    statements: list[tuple[str, Sequence[Any]]]
    if binding.sql is not None:
        statements = [(binding.sql, binding.params)]
    else:
        statements = _compile_insert(
            connection, model, objs, fields, values, returning_fields, options
        )
        STATEMENTS.learn_insert(binding, statements)
    features = connection.features
    returned = bool(returning_fields) and (
        (features.can_return_rows_from_bulk_insert and len(objs) > 1)
        or (features.can_return_columns_from_insert and len(objs) == 1)
    )
    if returned:
        rows: list[tuple[Any, ...]] = []
        for sql, params in statements:
            rows.extend((yield Execute(sql, params, returning=True)))
        return convert_returned(connection, model, returning_fields, rows)
    last_id = None
    for sql, params in statements:
        last_id = yield Insert(sql, params)
    if returning_fields and returning_fields[0] is model._meta.auto_field and len(objs) == 1:
        return convert_returned(connection, model, returning_fields[:1], [(last_id,)])
    return []


def _compile_insert(
    connection: BaseDatabaseWrapper,
    model: type[Model],
    objs: Sequence[Model],
    fields: Sequence[Field[Any, Any]],
    values: Sequence[Sequence[Any]],
    returning_fields: Sequence[Field[Any, Any]],
    options: dict[str, Any],
) -> list[tuple[str, Sequence[Any]]]:
    """Return the statements Django's insert compiler writes, handed the ``pre_save()`` values."""
    query = InsertQuery(model, **options)
    query.insert_values(list(fields), list(objs))
    compiler: Any = query.get_compiler(connection=connection)
    compiler.returning_fields = list(returning_fields) or None
    positions = {id(obj): index for index, obj in enumerate(objs)}
    by_field = dict(zip(fields, values, strict=True))
    # What Django's pre_save_val() would return: pre_save() ran already, once per value.
    compiler.pre_save_val = lambda field, obj: by_field[field][positions[id(obj)]]
    statements: list[tuple[str, Sequence[Any]]] = compiler.as_sql()
    return statements


def convert_returned(
    connection: BaseDatabaseWrapper,
    model: type[Model],
    fields: Sequence[Field[Any, Any]],
    rows: list[tuple[Any, ...]],
) -> list[tuple[Any, ...]]:
    """Return *rows* of *fields* as Python values, through Django's converters.

    *connection* is the compile wrapper of the alias the rows come from.
    """
    return _statements.converters_of(model, fields, connection)(rows)

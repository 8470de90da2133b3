"""The differential write suite's data and harness, without I/O of vinyl's and without flavor.

A scenario is data: a list of the operations below. ``vinyl_testing._async.writes``
interprets it once through Django (``M.objects``, the oracle) and once through vinyl
(``M.avinyl``), each on a freshly seeded database; this module seeds the tables, snapshots
them, and turns results (instances, counts, exceptions) into plain data to compare.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, cast

from django.db import DatabaseError, connections, transaction
from django.db.models import Model
from vinyl.query.testing import empty_tables_on

from vinyl_testing.plugin import app_tables, flush

__all__ = [
    "NOW",
    "BulkCreate",
    "BulkUpdate",
    "Create",
    "Delete",
    "Get",
    "New",
    "Op",
    "Query",
    "Ref",
    "Refresh",
    "Related",
    "Save",
    "Set",
    "Window",
    "error_of",
    "plain",
    "record_signals",
    "reseed",
    "reset",
    "seed_writes",
    "snapshot",
    "stamped",
    "table_differences",
]

# --- Operations ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Ref:
    """The object an earlier operation bound to *var*, as a value of a later one."""

    var: str


@dataclass(frozen=True)
class Create:
    """``obj = manager.create(**values)``."""

    var: str
    model: type[Model]
    values: dict[str, Any]


@dataclass(frozen=True)
class New:
    """An unsaved instance: ``M(**values)`` for Django, ``manager.new(**values)`` for vinyl."""

    var: str
    model: type[Model]
    values: dict[str, Any]


@dataclass(frozen=True)
class Get:
    """``obj = manager.get(**lookup)``."""

    var: str
    model: type[Model]
    lookup: dict[str, Any]


@dataclass(frozen=True)
class Set:
    """``setattr(obj, name, value)`` for each item of *values* (no I/O)."""

    var: str
    values: dict[str, Any]


@dataclass(frozen=True)
class Save:
    """``obj.save(**options)``; ``using=True`` passes the side's alias explicitly.

    Django's side always passes ``using``: an unsaved Django instance would otherwise be
    saved on the router's default database, not on the one under test.
    """

    var: str
    options: dict[str, Any] = field(default_factory=dict)
    using: bool = False


@dataclass(frozen=True)
class Delete:
    """``obj.delete(**options)``."""

    var: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Refresh:
    """``obj.refresh_from_db(fields=fields)``."""

    var: str
    fields: list[str] | None = None


@dataclass(frozen=True)
class Query:
    """``build(manager).method(*args, **kwargs)``: update, delete, get_or_create, ...

    A model instance in the result (or the first item of ``(obj, created)``) is bound to
    *var* when one is given.
    """

    model: type[Model]
    method: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    build: Callable[[Any], Any] = lambda manager: manager.all()
    args: tuple[Any, ...] = ()
    var: str | None = None


@dataclass(frozen=True)
class BulkCreate:
    """``manager.bulk_create([M(**row) for row in rows], **options)``, plain Django
    instances on both sides; they are bound to ``{prefix}0``, ``{prefix}1``, ..."""

    model: type[Model]
    rows: list[dict[str, Any]]
    options: dict[str, Any] = field(default_factory=dict)
    prefix: str = "bulk"


@dataclass(frozen=True)
class BulkUpdate:
    """``manager.bulk_update([objs], fields, **options)`` on objects bound earlier."""

    model: type[Model]
    vars: list[str]
    fields: list[str]
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Related:
    """``getattr(obj, accessor).method(*args, **kwargs)`` on the related manager of the
    object bound to *var*: ``add``, ``remove``, ``set``, ``clear``, ``create``... or a read.

    ``manager`` calls ``obj.accessor(manager=manager)`` first (Django's related manager
    of another of the related model's managers). A queryset in the result is read, in its
    order; a model instance in the result (or the first item of ``(obj, created)``) is
    bound to *result_var* when one is given. The instances passed in *args* are compared
    after the call too: ``add()`` and ``remove()`` change them.
    """

    var: str
    accessor: str
    method: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    result_var: str | None = None
    manager: str | None = None


Op = Create | New | Get | Set | Save | Delete | Refresh | Query | BulkCreate | BulkUpdate | Related

# --- Results as plain data ----------------------------------------------------------------


def plain(value: Any) -> Any:
    """Return *value* as plain data: an instance becomes its model label, the values of
    the fields it holds (as Django keeps them in ``__dict__``) and ``_state.adding``."""
    if isinstance(value, BaseException):
        return error_of(value)
    if isinstance(value, Model):
        values = vars(value)
        fields = {
            f.attname: values[f.attname] for f in value._meta.concrete_fields if f.attname in values
        }
        return ("instance", value._meta.label, fields, value._state.adding)
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return (type(value).__name__, [plain(item) for item in value])
    return value


def error_of(error: BaseException) -> tuple[str, type[BaseException], str]:
    """Return an exception as (``"error"``, its exact class, its message).

    A database error raised by a driver (Django chains it ``from`` the driver's) keeps
    only its first line: asyncpg and psycopg2 word the detail lines differently.
    """
    message = str(error)
    if isinstance(error, DatabaseError) and error.__cause__ is not None:
        message = message.strip().splitlines()[0] if message.strip() else ""
    return ("error", type(error), message)


#: What a timestamp written by the operations (``auto_now``/``auto_now_add``) compares as.
NOW = "<now: inside the run's time window>"


@dataclass(frozen=True)
class Window:
    """The time an interpretation ran in: timestamps inside it compare as ``NOW``."""

    start: datetime.datetime
    end: datetime.datetime

    def holds(self, value: datetime.datetime) -> bool:
        aware = value if value.tzinfo else value.replace(tzinfo=datetime.UTC)
        slack = datetime.timedelta(seconds=1)
        return self.start - slack <= aware <= self.end + slack


def mapped(data: Any, leaf: Callable[[Any], Any]) -> Any:
    """Return *data* with *leaf* applied to every value its dicts, lists and tuples hold."""
    if isinstance(data, dict):
        return {key: mapped(item, leaf) for key, item in data.items()}
    if isinstance(data, list):
        return [mapped(item, leaf) for item in data]
    if isinstance(data, tuple):
        return tuple(mapped(item, leaf) for item in data)
    return leaf(data)


def stamped(data: Any, window: Window) -> Any:
    """Return *data* with every datetime inside *window* replaced by ``NOW``."""
    return mapped(
        data,
        lambda value: (
            NOW if isinstance(value, datetime.datetime) and window.holds(value) else value
        ),
    )


# --- Tables -------------------------------------------------------------------------------


def snapshot(alias: str) -> dict[str, list[dict[str, Any]]]:
    """Return every row, every column, of every test app table on *alias*, by primary key."""
    connection = connections[alias]
    quote = connection.ops.quote_name
    tables: dict[str, list[dict[str, Any]]] = {}
    with connection.cursor() as cursor:
        for table in app_tables(alias):
            key = ", ".join(map(quote, table.pk))
            cursor.execute(f"SELECT * FROM {quote(table.name)} ORDER BY {key}")
            columns = [column[0] for column in cursor.description]
            tables[table.name] = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    return tables


def table_differences(
    expected: dict[str, list[dict[str, Any]]], actual: dict[str, list[dict[str, Any]]]
) -> str:
    """Return a report of the tables whose rows differ, or ``""``."""
    lines = []
    for table in sorted(expected.keys() | actual.keys()):
        want, got = expected.get(table), actual.get(table)
        if want != got:
            lines.append(f"{table}:\n  Django: {want}\n  vinyl:  {got}")
    return "\n".join(lines)


def reset(alias: str, *, restart_sequences: bool = True) -> None:
    """Empty every test app table on *alias* and restart its sequences (``plugin.flush``).

    A lock timeout first: a vinyl connection left inside a transaction would otherwise make
    the emptying wait forever instead of failing the test.
    """
    connection = connections[alias]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET lock_timeout = '20s'")
        elif connection.vendor == "mysql":
            cursor.execute("SET SESSION lock_wait_timeout = 20")
        else:
            # SQLite: Django's connection waits its busy timeout (5 s) for the write lock.
            cursor.execute("PRAGMA busy_timeout = 20000")
    flush(alias, restart_sequences=restart_sequences)


#: The seeds kept on each server: (alias, seed, round) -> the kept copy.
_KEPT: dict[tuple[str, Callable[[str, int], None], int], _Copy] = {}


@dataclass(frozen=True)
class _Copy:
    """A seed's rows, kept on the server: per table, its copy's name and its columns."""

    tables: list[tuple[str, str, list[str]]]
    #: Where each key counter stood after the seed (``_counters()``).
    counters: dict[str, int]


def reseed(alias: str, seed: Callable[[str, int], None], round_: int) -> None:
    """Reset *alias* (``reset()``) and fill it with the rows ``seed(alias, round_)`` writes.

    The write suites reseed before each side of every scenario, and a seed through Django
    is ~90 round trips. So the first time the seed runs through Django and its rows are
    copied into tables of their own on the server (``CREATE TABLE … AS SELECT``); every
    time, even the first, the tables are then emptied and filled from the copy, one
    ``INSERT … SELECT`` per table, and PostgreSQL's sequences set back where the seed left
    them. Both sides of a comparison thus start from the very same rows; and the first
    time, the rows and key counters the copy gave back are checked against the seed's.
    Every time, the key counters are checked against the seed's (``_empty_for()`` leaves
    most of them standing).
    """
    key = (alias, seed, round_)
    seeded = None
    if key not in _KEPT:
        reset(alias)
        seed(alias, round_)
        seeded = (snapshot(alias), _counters(alias))
        _KEPT[key] = _keep(alias, len(_KEPT), *seeded)
        reset(alias)
    else:
        _empty_for(alias, _KEPT[key])
    _restore(alias, _KEPT[key])
    if seeded is not None:
        assert (snapshot(alias), _counters(alias)) == seeded, f"{seed.__name__}: a bad copy"
    else:
        assert _counters(alias) == _KEPT[key].counters, f"{seed.__name__}: counters moved"


def _empty_for(alias: str, copy: _Copy) -> None:
    """Empty *alias*'s test app tables for *copy*'s rows: ``reset()``, at a fraction of its cost.

    On MySQL and SQLite, only the tables whose key counter has gone past where the seed
    left it have their sequence restarted; the others are only emptied, since their
    counters follow the largest key inserted, so restoring the copy's rows, keys included,
    leaves them where the seed did (``reseed()`` checks it). On MariaDB a restart is a
    ``TRUNCATE`` (about 15 ms a table: a new tablespace file), and before each side of a
    scenario every table the seed fills stood past 1 while the scenario had moved a few:
    the write fuzzer spent 85 % of its time on MariaDB restarting them. PostgreSQL restarts
    its sequences in one ``setval()``: there ``reset()`` costs nothing to save.
    """
    if connections[alias].vendor == "postgresql":
        reset(alias)
        return
    moved = [
        table
        for table, counter in _counters(alias).items()
        if counter > copy.counters.get(table, 0)
    ]
    reset(alias, restart_sequences=False)
    empty_tables_on(alias, moved, restart_sequences=True)


def _counters(alias: str) -> dict[str, int]:
    """Return where each test app table's key counter stands (the last key it gave).

    PostgreSQL: each sequence by name; MySQL: each table's ``AUTO_INCREMENT`` (the next
    key); SQLite: ``sqlite_sequence``. A counter never moved is left out.
    """
    connection = connections[alias]
    names = [table.name for table in app_tables(alias)]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT seq.seqrelid::regclass::text, pg_sequence_last_value(seq.seqrelid) "
                "FROM pg_class tbl JOIN pg_depend dep ON dep.refobjid = tbl.oid "
                "AND dep.classid = 'pg_class'::regclass AND dep.deptype IN ('a', 'i') "
                "JOIN pg_sequence seq ON seq.seqrelid = dep.objid "
                "WHERE tbl.relname::text = ANY(%s::text[]) AND pg_table_is_visible(tbl.oid)",
                [names],
            )
        elif connection.vendor == "mysql":
            cursor.execute(
                "SELECT table_name, auto_increment FROM information_schema.tables "
                "WHERE table_schema = DATABASE() AND auto_increment > 1"
            )
        else:
            cursor.execute("SELECT name, seq FROM sqlite_sequence WHERE seq > 0")
        rows = cursor.fetchall()
    wanted = set(names)
    return {
        name: value
        for name, value in rows
        if value is not None and (connection.vendor == "postgresql" or name in wanted)
    }


def _keep(
    alias: str, number: int, rows: dict[str, list[dict[str, Any]]], counters: dict[str, int]
) -> _Copy:
    """Copy the tables that hold *rows* (the seed's ``snapshot()``) into tables of their own."""
    from django.apps import apps

    connection = connections[alias]
    quote = connection.ops.quote_name
    columns = {
        # A concrete field always has a column (``Field.column`` is None only without one).
        model._meta.db_table: [
            cast(str, field.column)
            for field in model._meta.local_concrete_fields
            if not getattr(field, "generated", False)
        ]
        for model in apps.get_app_config("vinyl_testapp").get_models(include_auto_created=True)
        if not model._meta.proxy
    }
    tables = []
    with connection.cursor() as cursor:
        for index, name in enumerate(name for name, held in rows.items() if held):
            copy = f"vinyl_seed_{number}_{index}"
            cursor.execute(f"CREATE TABLE {quote(copy)} AS SELECT * FROM {quote(name)}")
            tables.append((name, copy, columns[name]))
    return _Copy(tables, counters)


def _restore(alias: str, copy: _Copy) -> None:
    connection = connections[alias]
    quote = connection.ops.quote_name
    # Outside the transaction: SQLite ignores its foreign_keys pragma inside one.
    with connection.constraint_checks_disabled(), transaction.atomic(using=alias):
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # Django's keys are deferrable: checked at the commit, when every row is in.
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            for name, kept, columns in copy.tables:
                listed = ", ".join(map(quote, columns))
                cursor.execute(
                    f"INSERT INTO {quote(name)} ({listed}) SELECT {listed} FROM {quote(kept)}"
                )
            # MySQL's and SQLite's counters follow the largest key inserted; PostgreSQL's not.
            if connection.vendor == "postgresql" and copy.counters:
                cursor.execute(
                    "SELECT setval(name::regclass, value) "
                    "FROM unnest(%s::text[], %s::bigint[]) AS kept(name, value)",
                    [list(copy.counters), list(copy.counters.values())],
                )


# --- Seed ---------------------------------------------------------------------------------

#: The timestamps seeded rows keep (set after create(): auto_now would overwrite them).
SEEDED_AT = datetime.datetime(2020, 5, 17, 8, 30, tzinfo=datetime.UTC)


def seed_writes(alias: str, round_: int) -> None:
    """Seed the write models on *alias* through Django; *round_* changes every value.

    Primary keys are 1, 2, 3, ... in each table (``reset()`` restarts the sequences).
    """
    from vinyl_testapp.models import writes as w

    s = f"-{round_}"
    n = 100 * round_

    def make(model: type[Model], **values: Any) -> Any:
        return model._default_manager.using(alias).create(**values)

    targets = [make(w.WTarget, name=f"t{i}{s}") for i in range(1, 7)]
    t1, t2, t3, t4, t5, t6 = targets
    c1 = make(w.WCascade, name=f"c1{s}", target=t2)
    make(w.WCascade, name=f"c2{s}", target=t2)
    make(w.WCascade, name=f"c3{s}", target=t4)
    make(w.WCascade, name=f"c4{s}", target=t1)
    make(w.WProtect, name=f"p1{s}", target=t3)
    make(w.WRestrict, name=f"r1{s}", target=t2, via=c1)  # goes with t2's cascade
    make(w.WRestrict, name=f"r2{s}", target=t4, via=None)  # blocks deleting t4
    make(w.WSetNull, name=f"n1{s}", target=t2)
    make(w.WSetNull, name=f"n2{s}", target=t6)
    make(w.WSetDefault, name=f"d1{s}", target=t2)
    make(w.WSetDefault, name=f"d2{s}", target=t6)
    make(w.WSetCallable, name=f"k1{s}", target=t2)
    make(w.WSetValue, name=f"v1{s}", target=t2)
    make(w.WDoNothing, name=f"x1{s}", loose=t2, strict=None)
    make(w.WDoNothing, name=f"x2{s}", loose=None, strict=t5)  # blocks deleting t5

    # The chain: a1 ← b1, b2 ← c1, c2 (b1), c3 (b2) ← d1 (c1), d2 (c3); a2 ← b3 ← c4 ← d3;
    # a3 ← b4 ← c5 ← d4 and a pin on a3 (its delete fails at the last table);
    # a4 ← b5 ← c6 ← d5 with a guard on d5 (its delete raises ProtectedError).
    a1, a2, a3, a4 = (make(w.WChainA, name=f"a{i}{s}") for i in range(1, 5))
    b1 = make(w.WChainB, name=f"b1{s}", a=a1)
    b2 = make(w.WChainB, name=f"b2{s}", a=a1)
    b3 = make(w.WChainB, name=f"b3{s}", a=a2)
    b4 = make(w.WChainB, name=f"b4{s}", a=a3)
    b5 = make(w.WChainB, name=f"b5{s}", a=a4)
    cc1 = make(w.WChainC, name=f"c1{s}", b=b1)
    make(w.WChainC, name=f"c2{s}", b=b1)
    cc3 = make(w.WChainC, name=f"c3{s}", b=b2)
    cc4 = make(w.WChainC, name=f"c4{s}", b=b3)
    cc5 = make(w.WChainC, name=f"c5{s}", b=b4)
    cc6 = make(w.WChainC, name=f"c6{s}", b=b5)
    make(w.WChainD, name=f"d1{s}", c=cc1)
    make(w.WChainD, name=f"d2{s}", c=cc3)
    make(w.WChainD, name=f"d3{s}", c=cc4)
    make(w.WChainD, name=f"d4{s}", c=cc5)
    d5 = make(w.WChainD, name=f"d5{s}", c=cc6)
    make(w.WChainPin, name=f"pin{s}", a=a3)
    make(w.WChainGuard, name=f"guard{s}", d=d5)

    # Inheritance: place 1 is a plain place, 2 a restaurant, 3 an Italian restaurant.
    make(w.WPlace, name=f"plain{s}", city="Bergen")
    restaurant = make(w.WRestaurant, name=f"diner{s}", city="Oslo", seats=30 + round_)
    italian = make(w.WItalian, name=f"trattoria{s}", city="Roma", seats=40 + round_, pizza=True)
    make(w.WMenu, dish=f"soup{s}", restaurant=restaurant)
    make(w.WMenu, dish=f"pasta{s}", restaurant=italian)

    make(w.WDefaults, name=f"plain{s}")
    make(w.WDefaults, name=f"given{s}", counter=7 + n, label=f"set{s}", code=f"code{s}")
    w.WDefaults._default_manager.using(alias).update(created=SEEDED_AT, modified=SEEDED_AT)

    for index, code in enumerate("ABC"):
        make(w.WStock, code=f"{code}{s}", qty=index + 1 + n, note=f"note{index}")
    make(w.WSlot, shelf="x", position=1, item=f"ink{s}")
    make(w.WSlot, shelf="x", position=2, item=f"pen{s}")
    make(w.WSlot, shelf="y", position=1, item=f"cap{s}")

    topics = [make(w.WTopic, name=f"topic{i}{s}") for i in range(1, 4)]
    writers = [make(w.WWriter, name=f"writer{i}{s}") for i in range(1, 3)]
    first = make(w.WArticle, title=f"first{s}")
    second = make(w.WArticle, title=f"second{s}")
    first.topics.set(topics[:2])
    second.topics.set(topics[1:2])
    make(w.WByline, article=first, writer=writers[0], role="author")
    make(w.WByline, article=first, writer=writers[1], role="editor")
    make(w.WByline, article=second, writer=writers[0], role="author")
    make(w.WNote, text=f"note1{s}", content_object=first)
    make(w.WNote, text=f"note2{s}", content_object=first)
    make(w.WNote, text=f"note3{s}", content_object=second)

    if hasattr(w, "WDbTarget"):
        db_targets = [make(w.WDbTarget, name=f"dbt{i}{s}") for i in range(1, 3)]
        make(w.WDbCascade, name=f"dbc{s}", target=db_targets[1])
        make(w.WDbSetNull, name=f"dbn{s}", target=db_targets[1])
        if w.WDbSetDefault._meta.can_migrate(connections[alias]):
            make(w.WDbSetDefault, name=f"dbd{s}", target=db_targets[1])


# --- Signals ------------------------------------------------------------------------------


@contextmanager
def record_signals() -> Iterator[list[tuple[str, str]]]:
    """Connect a receiver to every model signal but pre/post_init; yield what it heard."""
    from django.db.models import signals

    heard: list[tuple[str, str]] = []
    watched = {
        "pre_save": signals.pre_save,
        "post_save": signals.post_save,
        "pre_delete": signals.pre_delete,
        "post_delete": signals.post_delete,
        "m2m_changed": signals.m2m_changed,
    }
    receivers = {}
    for name, signal in watched.items():

        def receiver(sender: Any, _name: str = name, **kwargs: Any) -> None:
            heard.append((_name, getattr(sender, "__name__", repr(sender))))

        receivers[name] = receiver
        signal.connect(receiver, weak=False, dispatch_uid=f"vinyl-writes-{name}")
    try:
        yield heard
    finally:
        for name, signal in watched.items():
            signal.disconnect(dispatch_uid=f"vinyl-writes-{name}")

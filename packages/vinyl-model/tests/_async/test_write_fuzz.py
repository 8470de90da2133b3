"""The write fuzzer: random write scenarios through ``M.objects`` and through ``M.avinyl``.

A scenario is a short list of steps (1 to 6) over the write test models: creates, saves
(forced, ``update_fields``), instance and queryset deletes over every ``on_delete``,
``update()`` with ``F`` expressions and filters, ``bulk_create`` with ``batch_size`` and the
conflict options, ``bulk_update``, ``get_or_create``/``update_or_create``, many-to-many
changes. Its shape (which steps, which models, which options) is drawn once; its values
are drawn again for each of the two rounds: edge values too (``None``, empty strings,
unicode, integers at and past the column limits, ``Decimal`` edges, the first and last
dates, codes that violate a unique constraint), so errors are compared as well.

Each scenario runs through the differential write suite's runner
(``vinyl_testing._async.writes.check_scenario``): Django first on a freshly seeded
database, a snapshot of every table, then the same through vinyl on the same seed; every
row, result and exception (class and message) must be equal, and vinyl sends no signal.

The examples come from a fixed seed, so CI runs the same scenarios every time:
``VINYL_WRITE_FUZZ_EXAMPLES`` per test run (default :data:`DEFAULT_EXAMPLES`) runs more or
fewer, ``VINYL_WRITE_FUZZ_SEED`` another seed. Each run records how many it ran as the
JUnit property ``write_fuzz_examples``.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Callable, Iterator
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from django.db.models import DecimalField, F, Model
from hypothesis import given
from hypothesis import strategies as st
from vinyl_testapp.models.library import Author, Book
from vinyl_testapp.models.writes import (
    WArticle,
    WCascade,
    WChainA,
    WDefaults,
    WItalian,
    WPlace,
    WPlaceProxy,
    WRestaurant,
    WSetNull,
    WSlot,
    WStock,
    WTarget,
    WTopic,
)
from vinyl_testing._async.writes import check_scenario
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
)

# test_fuzz also keeps Hypothesis's caches out of the repository, when imported.
from .test_fuzz import Examples, forget_plans, fuzzed

#: Examples per test run (one flavor, one server) when ``VINYL_WRITE_FUZZ_EXAMPLES`` is not
#: set: each reseeds the database four times (two rounds, two sides); 60 took 6 s on SQLite
#: and 20 s on PostgreSQL on a loaded machine, 11 s on PostgreSQL and 19 s on MariaDB on a
#: quiet one (MariaDB took up to 2 min under heavy load).
DEFAULT_EXAMPLES = 60
EXAMPLES = int(os.environ.get("VINYL_WRITE_FUZZ_EXAMPLES", DEFAULT_EXAMPLES))
SEED = int(os.environ.get("VINYL_WRITE_FUZZ_SEED", 15_041))

#: Draws a value (``st.DataObject.draw``); a step draws its values with it, once a round.
Draw = Callable[[st.SearchStrategy[Any]], Any]
#: A step of a scenario, its shape drawn: (draw, round, name prefix) -> its operations.
Step = Callable[[Draw, int, str], list[Op]]

# --- Values ---------------------------------------------------------------------------

#: No NUL: PostgreSQL refuses it in text, and each driver words the refusal its own way.
#: No surrogates (``codec``): they cannot be encoded.
CHARS = st.characters(codec="utf-8", exclude_characters="\x00")
INT_EDGES = [0, -1, 1, 2**31 - 1, -(2**31), 2**31, -(2**31) - 1]


def text(max_length: int, *, past: bool = True) -> st.SearchStrategy[str]:
    """Strings for a ``CharField(max_length)``: empty, unicode, at the limit, and one past
    it unless not *past*.

    An INSERT draws no string past the limit (see :func:`fits`).
    """
    values = st.one_of(
        st.just(""),
        st.text(CHARS, max_size=8),
        st.sampled_from(["ünïcödé", "日本語", "emoji 🎉", "a'b\"c\\d", " padded "]),
        st.just("x" * max_length),
    )
    return values | st.just("y" * (max_length + 1)) if past else values


def fits(model: type[Model], name: str, values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """*values* without the strings longer, or the decimals larger, than the field *name*
    of *model* holds.

    For an INSERT. On PostgreSQL a value the column refuses fails the INSERT after its key
    was taken from the sequence when the value is a bound parameter (vinyl_async, asyncpg;
    for a decimal, once the server plans the statement generically, after five runs on a
    connection), and before when it is a literal in the SQL (Django on psycopg,
    client-side binding): the rows inserted next get other keys. A difference of the
    drivers' binding, not of the ORM, which the fuzzer does not draw; updates still draw
    such values.
    """
    field = model._meta.get_field(name)
    limit: int | None = getattr(field, "max_length", None)
    if limit is not None:
        return values.filter(lambda value: not isinstance(value, str) or len(value) <= limit)
    if isinstance(field, DecimalField):
        places = Decimal(1).scaleb(-field.decimal_places)
        # PostgreSQL rounds half away from zero to the column's scale, then checks the size.
        largest = Decimal(10) ** (field.max_digits - field.decimal_places)
        return values.filter(lambda value: abs(value.quantize(places, ROUND_HALF_UP)) < largest)
    return values


def integers() -> st.SearchStrategy[int]:
    """Integers for an ``IntegerField``: small ones and the 32-bit limits, and past them."""
    return st.integers(-5, 500) | st.sampled_from(INT_EDGES)


def nullable(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """*values* and ``None`` (a NOT NULL column refuses it: an IntegrityError)."""
    return values | st.none()


def pks(rows: int) -> st.SearchStrategy[int]:
    """Primary keys: mostly of the *rows* seeded rows, some missing."""
    return st.integers(1, rows) | st.integers(0, rows + 2)


def codes(r: int, *, past: bool = True) -> st.SearchStrategy[str]:
    """``WStock.code`` (unique, ``max_length=20``): seeded codes (a unique violation), new
    ones, and the edge strings (:func:`text`)."""
    return st.one_of(
        st.sampled_from([f"A-{r}", f"B-{r}", f"C-{r}"]),
        st.integers(0, 3).map(lambda i: f"N{i}-{r}"),
        text(20, past=past),
    )


# Decimal and date edges: ``Book.price`` is ``DecimalField(max_digits=8, decimal_places=2)``.
PRICES = st.sampled_from(
    [
        Decimal("0"),
        Decimal("0.00"),
        Decimal("-0.01"),
        Decimal("999999.99"),
        Decimal("-999999.99"),
        Decimal("0.005"),
        Decimal("1E+2"),
        Decimal("1000000"),
    ]
) | st.decimals(-999_999, 999_999, allow_nan=False, places=2)
DATES = st.sampled_from(
    [datetime.date(1000, 1, 1), datetime.date(9999, 12, 31), datetime.date(2000, 2, 29)]
) | st.dates(datetime.date(1000, 1, 1))
DATETIMES = st.sampled_from(
    [
        datetime.datetime(1000, 1, 1, tzinfo=datetime.UTC),
        datetime.datetime(9999, 12, 30, 23, 59, 59, tzinfo=datetime.UTC),
        datetime.datetime(2020, 2, 29, 12, 0, 0, 123456, tzinfo=datetime.UTC),
    ]
)

# --- Steps ----------------------------------------------------------------------------

#: Fields a create may set per model, and the strategy of each, by round.
FIELDS: dict[type[Model], dict[str, Callable[[int], st.SearchStrategy[Any]]]] = {
    WTarget: {"name": lambda r: text(50)},
    WStock: {"code": codes, "qty": lambda r: nullable(integers()), "note": lambda r: text(50)},
    WSlot: {
        "shelf": lambda r: st.sampled_from(["x", "y", "z"]),
        "position": lambda r: integers(),
        "item": lambda r: text(50),
    },
    WDefaults: {
        "name": lambda r: text(50),
        "counter": lambda r: integers(),
        "label": lambda r: text(20),
        "code": lambda r: text(30),
    },
    WItalian: {
        "name": lambda r: text(50),
        "city": lambda r: text(50),
        "seats": lambda r: nullable(integers()),
        "pizza": lambda r: st.booleans(),
    },
    WPlaceProxy: {"name": lambda r: text(50), "city": lambda r: text(50)},
    WCascade: {"name": lambda r: text(50), "target_id": lambda r: pks(6)},
    WSetNull: {"name": lambda r: text(50), "target_id": lambda r: nullable(pks(6))},
}
#: Seeded rows per model (``seed_writes``), for primary keys that exist or not.
ROWS: dict[type[Model], int] = {
    WTarget: 6,
    WStock: 3,
    WSlot: 3,
    WDefaults: 2,
    WItalian: 3,
    WPlaceProxy: 3,
    WCascade: 4,
    WSetNull: 2,
}
#: The required fields per model: a create without them would not be a useful draw.
REQUIRED: dict[type[Model], list[str]] = {
    WTarget: ["name"],
    WStock: ["code", "qty"],
    WSlot: ["shelf", "position", "item"],
    WDefaults: ["name"],
    WItalian: ["name"],
    WPlaceProxy: ["name"],
    WCascade: ["name", "target_id"],
    WSetNull: ["name"],
}
MODELS = st.sampled_from(list(FIELDS))


@st.composite
def field_names(draw: Draw, model: type[Model]) -> list[str]:
    """The required fields of *model* and some of the optional ones, in a fixed order."""
    optional = [name for name in FIELDS[model] if name not in REQUIRED[model]]
    chosen = draw(st.lists(st.sampled_from(optional), unique=True)) if optional else []
    return REQUIRED[model] + sorted(chosen)


def row(
    draw: Draw, model: type[Model], names: list[str], r: int, *, insert: bool = False
) -> dict[str, Any]:
    """Draw a value for each of *names* of *model*, for round *r* (for an INSERT: :func:`fits`)."""
    return {
        name: draw(fits(model, name, FIELDS[model][name](r)) if insert else FIELDS[model][name](r))
        for name in names
    }


@st.composite
def create(draw: Draw) -> Step:
    """``create()``, or ``New`` then ``save()`` (plain, forced insert, explicit pk)."""
    model = draw(MODELS)
    names = draw(field_names(model))
    how = draw(st.sampled_from(["create", "save", "force_insert", "explicit pk"]))

    def step(draw: Draw, r: int, var: str) -> list[Op]:
        values = row(draw, model, names, r, insert=True)
        if how == "create":
            return [Create(var, model, values)]
        if how == "explicit pk":
            values["pk"] = draw(pks(ROWS[model]) | st.integers(50, 60))
        options = {"force_insert": True} if how == "force_insert" else {}
        return [New(var, model, values), Save(var, options)]

    return step


@st.composite
def update_instance(draw: Draw) -> Step:
    """``get()``, change fields, ``save()`` (all fields, ``update_fields``, forced update),
    then maybe ``refresh_from_db()``."""
    model = draw(MODELS)
    names = draw(st.lists(st.sampled_from(list(FIELDS[model])), min_size=1, unique=True))
    update_fields = draw(
        st.none()
        | st.just("force_update")
        | st.lists(st.sampled_from(names + ["modified"]), unique=True)
    )
    refresh = draw(st.booleans())

    def step(draw: Draw, r: int, var: str) -> list[Op]:
        options: dict[str, Any] = {}
        if update_fields == "force_update":
            options["force_update"] = True
        elif update_fields is not None:
            # ``modified`` is WDefaults' only: another model's save() raises ValueError.
            options["update_fields"] = update_fields
        ops: list[Op] = [
            Get(var, model, {"pk": draw(pks(ROWS[model]))}),
            Set(var, row(draw, model, sorted(names), r)),
            Save(var, options),
        ]
        return ops + ([Refresh(var)] if refresh else [])

    return step


#: Instances to delete: (model, seeded rows, options): every on_delete through WTarget,
#: the cascade chain (PROTECT, a half-way failure), inheritance with keep_parents, M2M.
DELETABLE: list[tuple[type[Model], int, dict[str, Any]]] = [
    (WTarget, 6, {}),
    (WChainA, 4, {}),
    (WPlace, 3, {}),
    (WRestaurant, 3, {}),
    (WRestaurant, 3, {"keep_parents": True}),
    (WItalian, 3, {"keep_parents": True}),
    (WPlaceProxy, 3, {}),
    (WArticle, 2, {}),
    (WTopic, 3, {}),
    (WStock, 3, {}),
    (WCascade, 4, {}),
]


@st.composite
def delete_instance(draw: Draw) -> Step:
    """``get()`` then ``delete()``."""
    model, rows, options = draw(st.sampled_from(DELETABLE))

    def step(draw: Draw, r: int, var: str) -> list[Op]:
        return [Get(var, model, {"pk": draw(pks(rows))}), Delete(var, options)]

    return step


def filtered(draw: Draw, model: type[Model], rows: int) -> Callable[[Any], Any]:
    """Draw a filter of *model*'s queryset: by primary keys, a range, a slice, or none.

    A slice is ordered by the primary key: an unordered slice picks rows in whatever order
    the server reads them, which is no comparison.
    """
    kind = draw(st.sampled_from(["all", "pk__in", "pk__gte", "slice", "exclude"]))
    if kind == "pk__in":
        keys = draw(st.lists(pks(rows), max_size=3))
        return lambda m: m.filter(pk__in=keys)
    if kind == "pk__gte":
        low = draw(pks(rows))
        return lambda m: m.filter(pk__gte=low)
    if kind == "slice":
        count = draw(st.integers(0, rows))
        return lambda m: m.order_by("pk")[:count]
    if kind == "exclude":
        key = draw(pks(rows))
        return lambda m: m.exclude(pk=key)
    return lambda m: m.all()


@st.composite
def delete_queryset(draw: Draw) -> Step:
    """``filter(...).delete()``."""
    model, rows, _ = draw(st.sampled_from(DELETABLE))

    def step(draw: Draw, r: int, var: str) -> list[Op]:
        return [Query(model, "delete", build=filtered(draw, model, rows))]

    return step


#: ``update()`` per model: each field and its values by round, ``F`` expressions too.
UPDATES: dict[type[Model], dict[str, Callable[[int], st.SearchStrategy[Any]]]] = {
    WStock: {
        "qty": lambda r: (
            integers()
            | integers().map(lambda n: F("qty") + n)
            | st.integers(-3, 3).map(lambda n: F("qty") * n)
        ),
        "note": lambda r: text(50),
        "code": codes,
    },
    WItalian: {
        "name": lambda r: text(50),
        "seats": lambda r: nullable(integers()) | st.just(F("seats") + 1),
        "pizza": lambda r: st.booleans(),
    },
    WDefaults: {
        "counter": lambda r: integers() | st.integers(-2, 3).map(lambda n: F("counter") * n),
        "label": lambda r: text(20),
    },
    WCascade: {"target_id": lambda r: pks(6), "name": lambda r: text(50)},
    WSetNull: {"target_id": lambda r: nullable(pks(6))},
}


#: ``update()`` values of ``WItalian`` that no column refuses, for an update of fields of
#: several of its tables (one statement per table). When a later statement fails, Django,
#: in autocommit, keeps what the earlier ones wrote, and vinyl, which runs them in one
#: transaction, nothing: a deliberate difference (ARCHITECTURE §3.4, test_bulk's
#: test_an_update_of_parent_fields_failing_half_way_changes_nothing), not drawn here.
FITTING_UPDATES: dict[type[Model], dict[str, Callable[[int], st.SearchStrategy[Any]]]] = {
    WItalian: {
        "name": lambda r: text(50, past=False),
        "seats": lambda r: st.integers(-5, 500),
        "pizza": lambda r: st.booleans(),
    },
}


@st.composite
def update_queryset(draw: Draw) -> Step:
    """``filter(...).update(**values)``."""
    model = draw(st.sampled_from(list(UPDATES)))
    names = draw(st.lists(st.sampled_from(list(UPDATES[model])), min_size=1, unique=True))
    tables = {model._meta.get_field(name).model for name in names}
    strategies = FITTING_UPDATES[model] if len(tables) > 1 else UPDATES[model]

    def step(draw: Draw, r: int, var: str) -> list[Op]:
        values = {name: draw(strategies[name](r)) for name in sorted(names)}
        return [Query(model, "update", values, build=filtered(draw, model, ROWS[model]))]

    return step


@st.composite
def bulk_create(draw: Draw, vendor: str) -> Step:
    """``bulk_create()`` with ``batch_size`` and the conflict options the server has."""
    model = draw(st.sampled_from([WStock, WSlot, WTarget, WDefaults, WCascade]))
    names = draw(field_names(model))
    count = draw(st.integers(0, 4))
    options: dict[str, Any] = {}
    if draw(st.booleans()):
        options["batch_size"] = draw(st.integers(1, 3))
    conflict = draw(st.sampled_from([None, "ignore", "update"])) if model in UNIQUE else None
    if conflict == "ignore":
        options["ignore_conflicts"] = True
    elif conflict == "update":
        unique, updatable = UNIQUE[model]
        options["update_conflicts"] = True
        options["update_fields"] = draw(
            st.lists(st.sampled_from(updatable), min_size=1, unique=True)
        )
        # MySQL/MariaDB takes no unique_fields (ON DUPLICATE KEY UPDATE); the others need them.
        if vendor != "mysql":
            options["unique_fields"] = unique

    def step(draw: Draw, r: int, var: str) -> list[Op]:
        rows = [row(draw, model, names, r, insert=True) for _ in range(count)]
        return [BulkCreate(model, rows, options, prefix=var)]

    return step


#: The models with unique fields: the fields, and the ones an update on conflict may set.
UNIQUE: dict[type[Model], tuple[list[str], list[str]]] = {
    WStock: (["code"], ["qty", "note"]),
    WSlot: (["shelf", "position"], ["item"]),
}


@st.composite
def bulk_update(draw: Draw) -> Step:
    """``get()`` some rows, change them, ``bulk_update()`` them."""
    model = draw(st.sampled_from([WStock, WItalian, WDefaults]))
    fields = FIELDS[model]
    names = draw(st.lists(st.sampled_from(sorted(fields)), min_size=1, unique=True))
    count = draw(st.integers(1, 3))
    options = {"batch_size": draw(st.integers(1, 2))} if draw(st.booleans()) else {}

    def step(draw: Draw, r: int, var: str) -> list[Op]:
        keys = draw(st.lists(st.integers(1, ROWS[model]), min_size=count, max_size=count))
        names_ = [f"{var}_{index}" for index in range(count)]
        ops: list[Op] = []
        for name, key in zip(names_, keys, strict=True):
            ops += [Get(name, model, {"pk": key}), Set(name, row(draw, model, names, r))]
        return ops + [BulkUpdate(model, names_, names, options)]

    return step


@st.composite
def get_or_create(draw: Draw) -> Step:
    """``get_or_create()`` / ``update_or_create()`` on the unique code."""
    method = draw(st.sampled_from(["get_or_create", "update_or_create"]))
    create_defaults = method == "update_or_create" and draw(st.booleans())

    def step(draw: Draw, r: int, var: str) -> list[Op]:
        kwargs: dict[str, Any] = {
            "code": draw(codes(r, past=False)),
            "defaults": {"qty": draw(nullable(integers())), "note": draw(text(50, past=False))},
        }
        if create_defaults:
            kwargs["create_defaults"] = {"qty": draw(integers())}
        return [Query(WStock, method, kwargs, var=var)]

    return step


@st.composite
def m2m(draw: Draw) -> Step:
    """``article.topics.add/remove/set/clear`` with topic keys that exist or not."""
    method = draw(st.sampled_from(["add", "remove", "set", "clear"]))

    def step(draw: Draw, r: int, var: str) -> list[Op]:
        keys = draw(st.lists(pks(3), max_size=3, unique=True))
        args: tuple[Any, ...] = {"clear": (), "set": (keys,)}.get(method, tuple(keys))
        return [
            Get(var, WArticle, {"pk": draw(pks(2))}),
            Related(var, "topics", method, args),
            Related(var, "topics", "order_by", ("pk",)),
        ]

    return step


@st.composite
def book(draw: Draw) -> Step:
    """An author and a book: ``Decimal``, date and datetime edges."""
    saved = draw(st.booleans())

    def step(draw: Draw, r: int, var: str) -> list[Op]:
        author = {
            "name": draw(text(100, past=False)),
            "age": draw(integers()),
            "joined": draw(DATETIMES),
        }
        values = {
            "title": draw(text(200, past=False)),
            "author": Ref(f"{var}_author"),
            "published": draw(DATES),
            "created": draw(DATETIMES),
            "price": draw(fits(Book, "price", PRICES)),
            "pages": draw(integers()),
        }
        ops: list[Op] = [Create(f"{var}_author", Author, author)]
        if saved:
            return ops + [New(var, Book, values), Save(var, using=True), Refresh(var)]
        return ops + [Create(var, Book, values), Refresh(var)]

    return step


def steps(vendor: str) -> st.SearchStrategy[Step]:
    return st.one_of(
        create(),
        update_instance(),
        delete_instance(),
        delete_queryset(),
        update_queryset(),
        bulk_create(vendor),
        bulk_update(),
        get_or_create(),
        m2m(),
        book(),
    )


# --- The test -------------------------------------------------------------------------


@pytest.fixture
def write_fuzz_examples(
    record_testsuite_property: Callable[[str, object], None],
) -> Iterator[Examples]:
    """Count the scenarios the fuzzer runs; record the number in the JUnit report."""
    examples = Examples()
    yield examples
    record_testsuite_property("write_fuzz_examples", examples.count)


@fuzzed(SEED, EXAMPLES)
@given(data=st.data())
async def test_write_scenarios_give_djangos_results(
    db: DB, write_fuzz_examples: Examples, data: st.DataObject
) -> None:
    shape = data.draw(st.lists(steps(db.vendor), min_size=1, max_size=6), label="steps")
    rounds = [
        [op for index, step in enumerate(shape) for op in step(data.draw, r, f"v{index}")]
        for r in (0, 1)
    ]
    write_fuzz_examples.count += 1
    forget_plans()
    await check_scenario(db, lambda r: rounds[r])

"""Queryset writes: ``update()``, ``bulk_create()``, ``bulk_update()``, against Django.

Each scenario (``vinyl_testing.writes``) runs through ``M.objects`` on a freshly seeded
database, then through ``M.avinyl`` on the same seed: the results, the objects afterwards
(primary keys, returned fields, ``_state``) and every row of every table must be equal.
Two rounds, with other values. Then what a scenario cannot say: all-or-nothing failures,
vinyl's own instances, statement counts, a caller's transaction, the managers.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError, connections
from django.db.models import Count, F, Q, Value
from django.db.models.functions import Concat
from django.test.utils import CaptureQueriesContext
from vinyl_async import transaction
from vinyl_testapp.models.bulk import BStep
from vinyl_testapp.models.writes import (
    WCascade,
    WDefaults,
    WItalian,
    WPlace,
    WPlaceProxy,
    WRestaurant,
    WSlot,
    WStock,
    WTarget,
    WTopic,
)
from vinyl_testing._async.writes import (
    Scenario,
    Side,
    check_scenario,
    interpret,
    resolved,
    unchanged,
)
from vinyl_testing.plugin import DB
from vinyl_testing.writes import (
    BulkCreate,
    BulkUpdate,
    Get,
    New,
    Op,
    Query,
    Ref,
    Set,
    reseed,
    seed_writes,
    snapshot,
    table_differences,
)

# --- update() -----------------------------------------------------------------------------


def _update_expressions(r: int) -> list[Op]:
    return [
        Query(WStock, "update", {"qty": F("qty") * 2 + r, "note": Concat("code", Value("!"))}),
        Query(WStock, "update", {"qty": F("qty") - 1}, build=lambda m: m.filter(qty__gt=2 + r)),
        Query(WStock, "update", {"note": None}, build=lambda m: m.filter(pk__in=[])),
        Query(WStock, "update", {"note": f"none{r}"}, build=lambda m: m.none()),
        Query(WStock, "update", {"note": f"v{r}"}, build=lambda m: m.values("code")),
        # Ordered by an annotation: inlined into MySQL's UPDATE ... ORDER BY.
        Query(
            WStock,
            "update",
            {"note": f"ordered{r}"},
            build=lambda m: m.annotate(q=F("qty")).order_by("-q"),
        ),
    ]


def _update_across_joins(r: int) -> list[Op]:
    # A filter through a join: MySQL's UPDATE cannot select from its own table, so Django
    # reads the primary keys first.
    return [
        Query(
            WCascade,
            "update",
            {"name": Concat("name", Value(f"+{r}"))},
            build=lambda m: m.filter(target__name__startswith="t2"),
        ),
        Query(
            WTarget,
            "update",
            {"name": f"has cascades{r}"},
            build=lambda m: m.filter(cascades__name__startswith="c").distinct(),
        ),
        Query(
            WTarget,
            "update",
            {"name": f"no cascade{r}"},
            build=lambda m: m.exclude(cascades__isnull=False),
        ),
    ]


def _update_inheritance(r: int) -> list[Op]:
    return [
        # Only a parent's field: the count is the parent statement's.
        Query(WRestaurant, "update", {"city": f"Bergen{r}"}),
        Query(WItalian, "update", {"name": f"it{r}", "seats": F("seats") + 1, "pizza": False}),
        Query(
            WRestaurant,
            "update",
            {"name": f"by parent{r}", "seats": 3},
            build=lambda m: m.filter(city__startswith="Bergen"),
        ),
        Query(WRestaurant, "update", {"name": "nobody"}, build=lambda m: m.filter(pk__in=[])),
        Query(WRestaurant, "update", {"name": "nobody"}, build=lambda m: m.filter(seats=-1)),
        Query(WPlaceProxy, "update", {"city": f"proxy{r}"}, build=lambda m: m.filter(pk=1)),
    ]


def _update_refusals(r: int) -> list[Op]:
    return [
        Query(WStock, "update", {"qty": r}, build=lambda m: m.all()[1:]),
        Query(WStock, "update", {"qty": r}, build=lambda m: m.distinct("code")),
        Query(WStock, "update", {"qty": r}, build=lambda m: m.filter(pk=1).union(m.all())),
        Query(WStock, "update", {"qty": r}, build=lambda m: m.all().difference(m.all())),
        Query(WStock, "update", {"unknown": r}),
        Query(WTopic, "update", {"articles": r}),
        Query(
            WTarget,
            "update",
            {"name": f"x{r}"},
            build=lambda m: m.annotate(n=Count("cascades")).order_by("n"),
        ),
        Query(WStock, "update", {"qty": "many"}),
        Query(WStock, "update", {"code": f"same{r}"}),  # a unique violation: nothing changes
    ]


# --- bulk_create() ------------------------------------------------------------------------


def _bulk_create_batches(r: int) -> list[Op]:
    return [
        BulkCreate(WStock, [{"code": f"K{i}-{r}", "qty": i} for i in range(7)], {"batch_size": 3}),
        BulkCreate(WTarget, [{"name": f"one{i}-{r}"} for i in range(3)], {"batch_size": 1}),
        # With and without a primary key: the AutoField is left to the server for the latter.
        BulkCreate(
            WTarget,
            [
                {"name": "no pk"},
                {"id": 300 + r, "name": "pk"},
                {"name": "no pk either"},
                {"id": 310 + r, "name": "pk too"},
            ],
            {"batch_size": 1},
            prefix="m",
        ),
        BulkCreate(WPlaceProxy, [{"name": f"proxy{r}"}, {"name": "proxy 2"}], prefix="px"),
        BulkCreate(WCascade, [{"name": "fk", "target": Ref("m1")}], prefix="c"),
        BulkCreate(WStock, []),
    ]


def _bulk_create_defaults(r: int) -> list[Op]:
    # db_default, a callable default, a generated column, auto_now(_add): read back where
    # the server returns them.
    return [
        BulkCreate(WDefaults, [{"name": "d0"}, {"name": "d1", "counter": 5 + r}], prefix="d"),
        BulkCreate(WDefaults, [{"name": f"alone{r}"}], prefix="a"),
        BulkCreate(
            WDefaults,
            [{"name": "e0", "label": f"given{r}"}, {"name": "e1"}, {"name": "e2"}],
            {"batch_size": 2},
            prefix="e",
        ),
    ]


def _bulk_create_ordered(r: int) -> list[Op]:
    # order_with_respect_to: Django 6 reads each target's largest ``_order`` first.
    rows = [{"name": f"s{i}{r}", "target_id": 1 + i % 2} for i in range(3)]
    return [
        BulkCreate(BStep, rows, prefix="a"),
        BulkCreate(BStep, [*rows, {"name": "set", "target_id": 3, "_order": 7}], prefix="b"),
    ]


def _bulk_create_refusals(r: int) -> list[Op]:
    return [
        BulkCreate(WRestaurant, [{"name": f"mti{r}"}]),
        BulkCreate(WItalian, []),
        BulkCreate(WStock, [{"code": "z", "qty": r}], {"batch_size": 0}),
        BulkCreate(
            WStock,
            [{"code": "z", "qty": r}],
            {"ignore_conflicts": True, "update_conflicts": True},
        ),
        BulkCreate(WStock, [{"code": "z", "qty": r}], {"update_conflicts": True}),
        BulkCreate(
            WStock,
            [{"code": "z", "qty": r}],
            {"update_conflicts": True, "update_fields": ["id"], "unique_fields": ["code"]},
        ),
        BulkCreate(WStock, [{"code": "z", "qty": r}], {"unique_fields": ["nope"]}),
        New("t", WTarget, {"name": f"unsaved{r}"}),
        BulkCreate(WCascade, [{"name": "c", "target": Ref("t")}]),
        BulkCreate(WStock, [{"code": "ok", "qty": 1}, {"code": f"A-{r}", "qty": 2}]),
    ]


def _bulk_create_conflicts(vendor: str) -> Scenario:
    # PostgreSQL names the columns a conflict is on; MySQL/MariaDB refuses to.
    def on(*names: str) -> dict[str, Any]:
        return {"unique_fields": list(names)} if vendor == "postgresql" else {}

    def scenario(r: int) -> list[Op]:
        return [
            BulkCreate(
                WStock,
                [{"code": f"A-{r}", "qty": 50}, {"code": f"new{r}", "qty": 51}],
                {"ignore_conflicts": True},
                prefix="ig",
            ),
            BulkCreate(
                WStock,
                [
                    {"code": f"B-{r}", "qty": 60, "note": "kept"},
                    {"code": f"fresh{r}", "qty": 61},
                    {"code": f"C-{r}", "qty": 62},
                ],
                {"update_conflicts": True, "update_fields": ["qty"], **on("code")},
                prefix="uc",
            ),
            # The conflicting object had a primary key of its own: the row keeps the old one.
            BulkCreate(
                WStock,
                [{"id": 400 + r, "code": f"A-{r}", "qty": 70}],
                {"update_conflicts": True, "update_fields": ["qty", "note"], **on("code")},
                prefix="pk",
            ),
            BulkCreate(
                WSlot,
                [
                    {"shelf": "x", "position": 2, "item": f"swapped{r}"},
                    {"shelf": "z", "position": r, "item": "z"},
                ],
                {
                    "update_conflicts": True,
                    "update_fields": ["item"],
                    "batch_size": 1,
                    **on("shelf", "position"),
                },
                prefix="slot",
            ),
            # What each vendor refuses.
            BulkCreate(
                WStock,
                [{"code": "q", "qty": 1}],
                {"update_conflicts": True, "update_fields": ["qty"], **on()},
            ),
            BulkCreate(
                WStock,
                [{"code": "q", "qty": 1}],
                {"update_conflicts": True, "update_fields": ["qty"], "unique_fields": ["code"]},
            ),
        ]

    return scenario


# --- bulk_update() ------------------------------------------------------------------------


def _bulk_update(r: int) -> list[Op]:
    return [
        *(Get(f"s{pk}", WStock, {"pk": pk}) for pk in (1, 2, 3)),
        Set("s1", {"qty": 10 + r, "note": f"one{r}"}),
        Set("s2", {"qty": F("qty") * 3, "note": Concat("code", Value("?"))}),
        Set("s3", {"note": f"three{r}"}),
        BulkUpdate(WStock, ["s1", "s2", "s3"], ["qty", "note"], {"batch_size": 2}),
        BulkUpdate(WStock, ["s3", "s1"], ["note"], {"batch_size": 1}),
        BulkUpdate(WStock, ["s1"], ["qty"], {"batch_size": 100}),
        # Fields of the child and of both parents.
        Get("it", WItalian, {"pk": 3}),
        Get("re", WRestaurant, {"pk": 2}),
        Set("it", {"name": f"bulk it{r}", "city": "Napoli", "seats": 7, "pizza": False}),
        Set("re", {"name": f"bulk re{r}", "seats": 8}),
        BulkUpdate(WItalian, ["it"], ["name", "city", "seats", "pizza"]),
        BulkUpdate(WRestaurant, ["re", "it"], ["name", "seats"], {"batch_size": 1}),
        Get("d", WDefaults, {"pk": 2}),
        Set("d", {"counter": 30 + r}),
        BulkUpdate(WDefaults, ["d"], ["counter"]),
        Get("c", WCascade, {"pk": 1}),
        Get("t", WTarget, {"pk": 5}),
        Set("c", {"target": Ref("t")}),
        BulkUpdate(WCascade, ["c"], ["target"]),
    ]


def _bulk_update_refusals(r: int) -> list[Op]:
    return [
        Get("s1", WStock, {"pk": 1}),
        Set("s1", {"qty": r}),
        BulkUpdate(WStock, ["s1"], []),
        BulkUpdate(WStock, ["s1"], ["qty"], {"batch_size": 0}),
        BulkUpdate(WStock, ["s1"], ["id"]),
        BulkUpdate(WStock, ["s1"], ["nope"]),
        Get("p", WPlace, {"pk": 1}),
        BulkUpdate(WPlace, ["p"], ["wrestaurant"]),
        Get("it", WItalian, {"pk": 3}),
        BulkUpdate(WItalian, ["it"], ["wrestaurant_ptr"]),
        New("n", WStock, {"code": "n", "qty": 1}),
        BulkUpdate(WStock, ["n"], ["qty"]),
        BulkUpdate(WStock, [], ["qty"]),
        New("t", WTarget, {"name": "unsaved"}),
        Get("c", WCascade, {"pk": 1}),
        Set("c", {"target": Ref("t"), "name": f"renamed{r}"}),
        BulkUpdate(WCascade, ["c"], ["name"]),  # the unsaved target is not one of the fields
        BulkUpdate(WCascade, ["c"], ["target"]),
        Set("s1", {"qty": "many"}),
        BulkUpdate(WStock, ["s1"], ["qty"]),
    ]


SCENARIOS: list[tuple[str, Scenario]] = [
    ("update_expressions", _update_expressions),
    ("update_across_joins", _update_across_joins),
    ("update_inheritance", _update_inheritance),
    ("update_refusals", _update_refusals),
    ("bulk_create_batches", _bulk_create_batches),
    ("bulk_create_defaults", _bulk_create_defaults),
    ("bulk_create_ordered", _bulk_create_ordered),
    ("bulk_create_refusals", _bulk_create_refusals),
    ("bulk_update", _bulk_update),
    ("bulk_update_refusals", _bulk_update_refusals),
]


@pytest.mark.parametrize("scenario", [s[1] for s in SCENARIOS], ids=[s[0] for s in SCENARIOS])
async def test_scenario(db: DB, scenario: Scenario) -> None:
    await check_scenario(db, scenario)


async def test_bulk_create_conflicts(db: DB) -> None:
    await check_scenario(db, _bulk_create_conflicts(db.vendor))


# --- All or nothing -----------------------------------------------------------------------


async def test_two_batch_bulk_create_failing_on_its_last_row_changes_nothing(db: DB) -> None:
    # Objects with and without a primary key: the first INSERT succeeds, the last fails.
    rows = [{"id": 500, "code": "p0", "qty": 0}, {"code": "n0", "qty": 1}]
    rows += [{"code": "n1", "qty": 2}, {"code": "B-0", "qty": 3}]
    django_error, vinyl_error = await unchanged(db, [BulkCreate(WStock, rows, {"batch_size": 2})])
    assert django_error[:2] == ("error", IntegrityError)
    assert vinyl_error == django_error


async def test_two_batch_bulk_update_failing_in_its_last_batch_changes_nothing(db: DB) -> None:
    ops: list[Op] = [Get(f"s{pk}", WStock, {"pk": pk}) for pk in (1, 2, 3)]
    ops += [Set("s1", {"qty": 77}), Set("s2", {"qty": 78}), Set("s3", {"code": "A-0"})]
    ops.append(BulkUpdate(WStock, ["s1", "s2", "s3"], ["qty", "code"], {"batch_size": 2}))
    for vinyl in (False, True):
        reseed(db.django, seed_writes, 0)
        before = snapshot(db.django)
        side = Side(alias=db.vinyl if vinyl else db.django, vinyl=vinyl)
        results = await interpret(ops, side)
        assert results[-1][1][:2] == ("error", IntegrityError)
        assert not table_differences(before, snapshot(db.django))


async def test_an_update_of_parent_fields_failing_half_way_changes_nothing(db: DB) -> None:
    """The child's statement succeeds, its parent's fails: vinyl keeps neither.

    Django runs these statements one by one in autocommit, keeping the child's change;
    vinyl runs a write of several statements in one transaction (ARCHITECTURE §3.4).
    """
    reseed(db.django, seed_writes, 0)
    before = snapshot(db.django)
    [(_, error)] = await interpret(
        [Query(WItalian, "update", {"pizza": False, "name": None})],
        Side(alias=db.vinyl, vinyl=True),
    )
    assert error[:2] == ("error", IntegrityError)
    assert not table_differences(before, snapshot(db.django))


async def test_writes_inside_a_block_roll_back_with_it(db: DB) -> None:
    reseed(db.django, seed_writes, 0)
    before = snapshot(db.django)
    stocks = WStock.avinyl.using(db.vinyl)
    with pytest.raises(RuntimeError, match="undo"):
        async with transaction(using=db.vinyl):
            created = await stocks.bulk_create([WStock(code=f"t{i}", qty=i) for i in range(3)])
            assert await stocks.filter(code__startswith="t").count() == 3
            created[0].qty = 9
            assert await stocks.bulk_update(created, ["qty"]) == 3
            assert await stocks.filter(pk__lte=2).update(note="in block") == 2
            raise RuntimeError("undo")
    assert not table_differences(before, snapshot(db.django))


# --- vinyl's own instances, the managers, statements ----------------------------------------


async def test_bulk_create_takes_vinyl_instances_and_returns_them(db: DB) -> None:
    """``M.avinyl.new(...)`` objects, with plain ones: primary keys as Django sets them."""
    results = []
    for vinyl in (False, True):
        reseed(db.django, seed_writes, 0)
        if vinyl:
            manager: Any = WStock.avinyl.using(db.vinyl)
            objs = [manager.new(code=f"v{i}", qty=i) for i in range(3)] + [WStock(code="p", qty=3)]
            created = await manager.bulk_create(objs, batch_size=2)
        else:
            objs = [WStock(code=f"v{i}", qty=i) for i in range(4)]
            objs[3].code = "p"
            created = WStock.objects.using(db.django).bulk_create(objs, batch_size=2)
        assert all(a is b for a, b in zip(created, objs, strict=True))
        results.append([(o.pk, o.code, o._state.adding, o._state.db is not None) for o in objs])
        if vinyl and objs[0].pk is not None:
            # A vinyl instance stays one: it is saved through vinyl afterwards.
            objs[0].qty = 42
            await objs[0].save()
            assert WStock.objects.using(db.django).get(pk=objs[0].pk).qty == 42
    assert results[1] == results[0]


async def test_the_managers_update_and_bulk_write(db: DB) -> None:
    reseed(db.django, seed_writes, 0)
    target = await WTarget.avinyl.using(db.vinyl).get(pk=2)
    # A related manager is a vinyl manager too: its update() stays inside the relation.
    assert await target.cascades.update(name="of t2") == 2
    rows = dict(WCascade.objects.using(db.django).values_list("pk", "name"))
    assert rows == {1: "of t2", 2: "of t2", 3: "c3-0", 4: "c4-0"}
    made = await target.cascades.bulk_create([WCascade(name="new", target_id=2)])
    assert made[0].name == "new"
    made[0].name = "newer"
    assert await target.cascades.bulk_update(made, ["name"]) == 1
    assert await WCascade.avinyl.using(db.vinyl).filter(name="newer").count() == 1


async def test_one_statement_runs_alone_several_in_one_transaction(db: DB) -> None:
    """Django's statements, one per batch; ``BEGIN``/``COMMIT`` only around several.

    ARCHITECTURE §3.4: a single statement needs no transaction of its own (Django 5.2
    wraps every bulk_create() in one; its own statements are compared without them).
    """

    async def statements(alias: str, write: Any) -> list[str]:
        reseed(db.django, seed_writes, 0)
        with CaptureQueriesContext(connections[alias]) as captured:
            await resolved(write())
        return [query["sql"].split()[0] for query in captured]

    def writes(manager: Any) -> list[Any]:
        def objs(n: int) -> list[WStock]:
            return [WStock(code=f"q{i}", qty=i) for i in range(n)]

        return [
            lambda: manager.bulk_create(objs(1)),
            lambda: manager.bulk_create(objs(5), batch_size=2),
            lambda: manager.filter(Q(pk=1) | Q(pk=3)).update(qty=F("qty") + 1),
            lambda: manager.bulk_update([WStock(pk=1, qty=5)], ["qty"]),
        ]

    shapes = [
        ["INSERT"],
        ["BEGIN", "INSERT", "INSERT", "INSERT", "COMMIT"],
        ["UPDATE"],
        ["UPDATE"],
    ]
    django_writes = writes(WStock.objects.using(db.django))
    vinyl_writes = writes(WStock.avinyl.using(db.vinyl))
    for django_write, vinyl_write, shape in zip(django_writes, vinyl_writes, shapes, strict=True):
        expected = await statements(db.django, django_write)
        vinyl = await statements(db.vinyl, vinyl_write)
        assert vinyl == shape
        own = [sql for sql in expected if sql not in ("BEGIN", "COMMIT")]
        assert [sql for sql in vinyl if sql not in ("BEGIN", "COMMIT")] == own

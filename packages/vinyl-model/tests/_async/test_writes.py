"""The differential write suite: each scenario through ``M.objects`` and through ``M.avinyl``.

A scenario is data (``vinyl_testing.writes``): a list of operations. Each round seeds the
write models, performs the operations through Django, snapshots every table of the test
app, then resets, reseeds and performs them through vinyl: every row, every column, every
result and every exception (class and message) must be equal, and vinyl must send no
signal. Each scenario runs two rounds with other values. Timestamps written by the
operations (``auto_now``/``auto_now_add``) compare as "inside the run's time window".

Then focused tests: the seed's flow, all-or-nothing failures, no signals, bad input.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import django
import pytest
from django.db import DatabaseError, DataError, IntegrityError
from django.db.models import F, Q, Sum
from django.db.models.deletion import ProtectedError
from vinyl_testapp.models import writes
from vinyl_testapp.models.library import Book
from vinyl_testapp.models.writes import (
    WArticle,
    WByline,
    WCascade,
    WChainA,
    WChainB,
    WChainC,
    WChainD,
    WDefaults,
    WDoNothing,
    WItalian,
    WMenu,
    WNote,
    WPlace,
    WPlaceProxy,
    WProtect,
    WRestaurant,
    WRestrict,
    WSetNull,
    WSlot,
    WStock,
    WTarget,
    WTopic,
    WWriter,
)
from vinyl_testing._async.writes import Scenario, check_scenario, failure, unchanged
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
    Save,
    Set,
    error_of,
    record_signals,
    reseed,
    reset,
    seed_writes,
)

# Seeded primary keys (``vinyl_testing.writes.seed_writes``):
#   WTarget 1..6; t2 is pointed at by every Python-level variant, t3 is protected (WProtect 1),
#   t4 restricted (WRestrict 2), t5 held by a DO_NOTHING constraint (WDoNothing 2).
#   WChainA 1..4: a1 has two branches, a3 is pinned (its delete fails on its last table),
#   a4 is guarded (its delete raises ProtectedError).
#   WPlace 1 (plain), 2 (WRestaurant), 3 (WItalian); WMenu 1 → 2, WMenu 2 → 3.
#   WStock 1..3 with codes A-r, B-r, C-r (r: the round); WSlot (x, 1), (x, 2), (y, 1).
#   WArticle 1 (topics 1, 2; writers 1, 2; notes 1, 2), WArticle 2 (topic 2; writer 1; note 3).


def _create(r: int) -> list[Any]:
    return [
        Create("t", WTarget, {"name": f"new{r}"}),
        Create("t100", WTarget, {"id": 100 + r, "name": "explicit pk"}),
        Create("c", WCascade, {"name": "by object", "target": Ref("t")}),
        Create("c2", WCascade, {"name": "by id", "target_id": 1 + r}),
        # db_default, a callable default, a generated column, auto_now_add/auto_now.
        Create("d", WDefaults, {"name": f"d{r}"}),
        Create("d2", WDefaults, {"name": "given", "counter": 5 + r, "label": "l", "code": "x"}),
        # Multi-table inheritance: two parent rows first, parent links set.
        Create("i", WItalian, {"name": f"it{r}", "seats": 12 + r, "pizza": False}),
        Create("r", WRestaurant, {"name": "rest", "city": "Rome"}),
        Create("p", WPlaceProxy, {"name": f"proxy{r}"}),
        Create("s", WStock, {"code": f"Z{r}", "qty": r}),
        Create("slot", WSlot, {"shelf": "z", "position": r, "item": "new"}),
        Create("a", WArticle, {"title": f"art{r}"}),
        Create("note", WNote, {"text": "n", "content_object": Ref("a")}),
        Create("by", WByline, {"article": Ref("a"), "writer_id": 1, "role": "x"}),
        Create("m", WMenu, {"dish": "pie", "restaurant": Ref("i")}),
    ]


def _new_and_save(r: int) -> list[Any]:
    return [
        New("t", WTarget, {"name": f"n{r}"}),
        Save("t"),
        New("c", WCascade, {"name": "c", "target": Ref("t")}),
        Save("c", using=True),
        New("d", WDefaults, {"name": "d"}),
        Save("d"),
        New("i", WItalian, {"name": "it", "city": "Pisa", "seats": 3 + r}),
        Save("i"),
        # A primary key that exists: save() updates; one that does not: it inserts.
        New("over", WTarget, {"id": 1, "name": f"overwritten{r}"}),
        Save("over"),
        New("fresh", WTarget, {"id": 50 + r, "name": "fresh"}),
        Save("fresh"),
        # A second save of the same instance updates.
        Set("t", {"name": f"renamed{r}"}),
        Save("t"),
        New("p", WPlaceProxy, {"name": "px"}),
        Save("p"),
        # A child over an existing parent row: the parent is updated, the child inserted.
        New("ri", WRestaurant, {"wplace_ptr_id": 1, "name": "diner now", "seats": 9 + r}),
        Save("ri"),
        Get("g", WDefaults, {"pk": 2}),
        Set("g", {"counter": 9 + r}),
        Save("g"),
    ]


def _save_forced(r: int) -> list[Any]:
    return [
        New("a", WTarget, {"name": f"forced{r}"}),
        Save("a", {"force_insert": True}),
        New("dup", WTarget, {"id": 1, "name": "dup"}),
        Save("dup", {"force_insert": True}),
        New("i", WItalian, {"name": "it", "seats": 1 + r}),
        Save("i", {"force_insert": (WPlace,)}),
        New("bad", WItalian, {"name": "bad", "seats": 1}),
        Save("bad", {"force_insert": (WTarget,)}),
        Get("g", WTarget, {"pk": 2}),
        Set("g", {"name": f"upd{r}"}),
        Save("g", {"force_update": True}),
        New("nopk", WTarget, {"name": "x"}),
        Save("nopk", {"force_update": True}),
        New("ghost", WTarget, {"id": 999, "name": "x"}),
        Save("ghost", {"force_update": True}),
        Save("g", {"force_insert": True, "force_update": True}),
    ]


def _save_update_fields(r: int) -> list[Any]:
    return [
        Get("d", WDefaults, {"pk": 1}),
        Set("d", {"name": f"only name{r}", "counter": 77}),
        Save("d", {"update_fields": ["name"]}),
        Refresh("d"),
        Set("d", {"label": "ignored"}),
        Save("d", {"update_fields": []}),
        Refresh("d"),
        Save("d", {"update_fields": ["nope"]}),
        Set("d", {"counter": 11 + r}),
        Save("d", {"update_fields": ["counter", "modified"]}),
        Refresh("d"),
        # Fields of the child and of a grand-parent in one save.
        Get("i", WItalian, {"pk": 3}),
        Set("i", {"name": f"tratt{r}", "pizza": False, "seats": 99}),
        Save("i", {"update_fields": ["name", "pizza"]}),
        Refresh("i"),
        # A row deleted behind the instance's back.
        Get("gone", WTarget, {"pk": 6}),
        Query(WTarget, "delete", build=lambda m: m.filter(pk=6)),
        Save("gone", {"update_fields": ["name"]}),
        Save("gone"),
    ]


def _modify_fk_then_save(r: int) -> list[Any]:
    return [
        Get("c", WCascade, {"pk": 1}),
        Get("t", WTarget, {"pk": 3 + r}),
        Set("c", {"target": Ref("t")}),
        Save("c"),
        Get("n", WSetNull, {"pk": 1}),
        Set("n", {"target": None}),
        Save("n"),
        Set("c", {"target_id": 1, "name": "not saved"}),
        Save("c", {"update_fields": ["target"]}),
        Refresh("c"),
        Get("m", WMenu, {"pk": 1}),
        Get("it", WItalian, {"pk": 3}),
        Set("m", {"restaurant": Ref("it")}),
        Save("m"),
        Set("c", {"target": Ref("m")}),
    ]


def _refresh(r: int) -> list[Any]:
    return [
        Get("s", WStock, {"pk": 1}),
        Query(WStock, "update", {"qty": F("qty") + 5 + r}, build=lambda m: m.filter(pk=1)),
        Refresh("s", ["qty"]),
        Query(WStock, "update", {"note": f"changed{r}"}),
        Refresh("s"),
        # A deferred field: refresh loads it; save() writes only the loaded fields.
        Query(WStock, "get", {"pk": 2}, build=lambda m: m.only("code"), var="o"),
        Refresh("o", ["note"]),
        Set("o", {"code": f"Q{r}", "note": "saved"}),
        Save("o"),
        Refresh("o"),
        Refresh("o", ["nope"]),
        Query(WStock, "delete", build=lambda m: m.filter(pk=1)),
        Refresh("s"),
    ]


def _delete_python_variants(r: int) -> list[Any]:
    return [
        # CASCADE (and RESTRICT reached through it), SET_NULL, SET_DEFAULT, SET(callable),
        # SET(value), DO_NOTHING without a constraint (the row dangles).
        Get("t", WTarget, {"pk": 2}),
        Delete("t"),
        Get("t6", WTarget, {"pk": 6}),
        Delete("t6"),
        # SET_DEFAULT onto the row being deleted: the constraint fails, nothing changes.
        Get("t1", WTarget, {"pk": 1}),
        Delete("t1"),
        Get("c", WCascade, {"pk": 3}),
        Delete("c"),
    ]


def _delete_protect_restrict(r: int) -> list[Any]:
    return [
        Get("t3", WTarget, {"pk": 3}),
        Delete("t3"),
        Get("t4", WTarget, {"pk": 4}),
        Delete("t4"),
        Query(WTarget, "delete", build=lambda m: m.filter(pk__in=[3, 4])),
        Get("p", WProtect, {"pk": 1}),
        Delete("p"),
        Delete("t3"),
        Get("r2", WRestrict, {"pk": 2}),
        Delete("r2"),
        Delete("t4"),
    ]


def _delete_do_nothing(r: int) -> list[Any]:
    return [
        # DO_NOTHING with a database constraint: the delete fails (on PostgreSQL at commit).
        Get("t5", WTarget, {"pk": 5}),
        Delete("t5"),
        Get("x2", WDoNothing, {"pk": 2}),
        Set("x2", {"strict": None}),
        Save("x2"),
        Delete("t5"),
        Query(WTarget, "delete", build=lambda m: m.filter(pk=2)),
    ]


def _delete_chain(r: int) -> list[Any]:
    return [
        Get("a1", WChainA, {"pk": 1}),
        Delete("a1"),
        Query(WChainA, "delete", build=lambda m: m.filter(name=f"a2-{r}")),
        Get("a3", WChainA, {"pk": 3}),
        Delete("a3"),
        Get("a4", WChainA, {"pk": 4}),
        Delete("a4"),
        Get("b4", WChainB, {"pk": 4}),
        Delete("b4"),
        Query(WChainA, "delete"),
    ]


def _delete_inheritance(r: int) -> list[Any]:
    return [
        Get("i", WItalian, {"pk": 3}),
        Delete("i"),
        Get("r", WRestaurant, {"pk": 2}),
        Delete("r", {"keep_parents": True}),
        Get("p", WPlace, {"pk": 2}),
        Delete("p"),
        Get("px", WPlaceProxy, {"pk": 1}),
        Delete("px"),
    ]


def _delete_parents_and_children(r: int) -> list[Any]:
    return [
        Get("i", WItalian, {"pk": 3}),
        Delete("i", {"keep_parents": True}),
        Get("r3", WRestaurant, {"pk": 3}),
        Get("p2", WPlace, {"pk": 2}),
        Delete("p2"),
        Query(WRestaurant, "delete"),
        Query(WPlaceProxy, "delete", build=lambda m: m.filter(name=f"plain-{r}")),
    ]


def _delete_m2m_generic(r: int) -> list[Any]:
    return [
        Get("a", WArticle, {"pk": 1}),
        Delete("a"),
        Get("tp", WTopic, {"pk": 2}),
        Delete("tp"),
        Get("w", WWriter, {"pk": 1}),
        Delete("w"),
        Query(WArticle, "delete"),
        New("n", WTarget, {"name": f"unsaved{r}"}),
        Delete("n"),
    ]


def _queryset_delete(r: int) -> list[Any]:
    return [
        Query(WTarget, "delete", build=lambda m: m.filter(pk__in=[2, 6])),
        Query(WStock, "delete", build=lambda m: m.filter(qty__gte=2 + 100 * r)),
        Query(WStock, "delete", build=lambda m: m.none()),
        Query(WPlace, "delete", build=lambda m: m.filter(city="Roma")),
        Query(WTopic, "delete", build=lambda m: m.filter(name__startswith="topic1")),
        Query(WTarget, "delete", build=lambda m: m.order_by("pk")[:1]),
        Query(WTarget, "delete", build=lambda m: m.values("pk")),
        Query(WTarget, "delete", build=lambda m: m.distinct()),
        Query(WTarget, "delete", build=lambda m: m.filter(pk=1).union(m.filter(pk=3))),
        Query(WChainA, "delete"),
        Query(WChainA, "delete", build=lambda m: m.filter(pk__in=[1, 2])),
    ]


def _queryset_update(r: int) -> list[Any]:
    return [
        Query(WStock, "update", {"qty": F("qty") + 10 + r}, build=lambda m: m.filter(qty__gte=2)),
        Query(WStock, "update", {"note": f"all{r}"}),
        # Fields of the child, its parent and its grand-parent.
        Query(
            WItalian,
            "update",
            {"name": f"renamed{r}", "seats": 5, "pizza": False},
            build=lambda m: m.filter(pk=3),
        ),
        Query(WRestaurant, "update", {"city": f"Milano{r}"}),
        Query(WDefaults, "update", {"counter": F("counter") * 3}),  # the generated column follows
        Query(WCascade, "update", {"target_id": 3}, build=lambda m: m.filter(target_id=2)),
        Get("t4", WTarget, {"pk": 4}),
        Query(WCascade, "update", {"target": Ref("t4")}, build=lambda m: m.filter(pk=4)),
        Query(WStock, "update", {"qty": 0}, build=lambda m: m.filter(pk=-1)),
        Query(WStock, "update", {"qty": 1}, build=lambda m: m.order_by("pk")[:1]),
        Query(WStock, "update", {"qty": 1}, build=lambda m: m.filter(pk=1).union(m.filter(pk=2))),
        Query(WStock, "update", {"qty": 1}, build=lambda m: m.distinct("code")),
        Query(WStock, "update", {"nope": 1}),
        Query(WStock, "update", {"qty": Sum("qty")}),
        Query(WArticle, "update", {"topics": 1}),
        Query(WStock, "update", {"code": f"same{r}"}),  # a unique violation: nothing changes
        Query(WStock, "update", {"qty": F("qty") * 2}, build=lambda m: m.filter(Q(pk=1) | Q(pk=3))),
    ]


def _bulk_create(r: int) -> list[Any]:
    return [
        BulkCreate(WTarget, [{"name": f"b{i}-{r}"} for i in range(3)], prefix="t"),
        BulkCreate(
            WStock,
            [{"code": f"K{i}-{r}", "qty": i} for i in range(5)],
            {"batch_size": 2},
            prefix="s",
        ),
        BulkCreate(WDefaults, [{"name": "bd1"}, {"name": "bd2", "counter": 3 + r}], prefix="d"),
        BulkCreate(WTarget, [{"id": 200 + r, "name": "with pk"}, {"name": "without"}], prefix="m"),
        BulkCreate(WTarget, []),
        BulkCreate(WItalian, [{"name": "mti"}]),
        BulkCreate(WPlaceProxy, [{"name": f"proxy bulk{r}"}], prefix="px"),
        BulkCreate(WStock, [{"code": "q", "qty": 1}], {"batch_size": 0}),
        BulkCreate(WCascade, [{"name": "fk", "target": Ref("t0")}], prefix="c"),
    ]


def _bulk_create_conflicts(r: int) -> list[Any]:
    return [
        BulkCreate(
            WStock,
            [{"code": f"A-{r}", "qty": 50}, {"code": f"N{r}", "qty": 51}],
            {"ignore_conflicts": True},
            prefix="ig",
        ),
        # unique_fields: PostgreSQL requires them, MySQL/MariaDB refuses them.
        BulkCreate(
            WStock,
            [{"code": f"B-{r}", "qty": 60, "note": "upd"}, {"code": f"M{r}", "qty": 61}],
            {"update_conflicts": True, "unique_fields": ["code"], "update_fields": ["qty"]},
            prefix="uc",
        ),
        BulkCreate(
            WStock,
            [{"code": f"C-{r}", "qty": 70, "note": "upd"}, {"code": f"O{r}", "qty": 71}],
            {"update_conflicts": True, "update_fields": ["qty", "note"]},
            prefix="un",
        ),
        BulkCreate(
            WSlot,
            [
                {"shelf": "x", "position": 1, "item": f"new{r}"},
                {"shelf": "q", "position": r, "item": "q"},
            ],
            {
                "update_conflicts": True,
                "unique_fields": ["shelf", "position"],
                "update_fields": ["item"],
            },
            prefix="slot",
        ),
        BulkCreate(WSlot, [{"shelf": "x", "position": 2, "item": "i"}], {"ignore_conflicts": True}),
        BulkCreate(
            WSlot,
            [{"shelf": "x", "position": 1, "item": "i"}],
            {"ignore_conflicts": True, "update_conflicts": True},
        ),
        BulkCreate(
            WStock,
            [{"code": f"C-{r}", "qty": 1}],
            {"update_conflicts": True, "unique_fields": ["code"]},
        ),
        BulkCreate(
            WStock,
            [
                {"code": f"P{r}", "qty": 1},
                {"code": f"R{r}", "qty": 2},
                {"code": f"B-{r}", "qty": 3},
            ],
            {"batch_size": 2},
        ),
    ]


def _bulk_update(r: int) -> list[Any]:
    return [
        Get("s1", WStock, {"pk": 1}),
        Get("s2", WStock, {"pk": 2}),
        Get("s3", WStock, {"pk": 3}),
        Set("s1", {"qty": 10 + r, "note": f"one{r}"}),
        Set("s2", {"qty": F("qty") + 1}),
        Set("s3", {"note": "three"}),
        BulkUpdate(WStock, ["s1", "s2", "s3"], ["qty", "note"], {"batch_size": 2}),
        Refresh("s2"),
        Get("i", WItalian, {"pk": 3}),
        Set("i", {"name": f"bulk it{r}", "pizza": False, "seats": 1}),
        BulkUpdate(WItalian, ["i"], ["name", "pizza"]),
        Get("d", WDefaults, {"pk": 1}),
        Set("d", {"counter": 20 + r}),
        BulkUpdate(WDefaults, ["d"], ["counter", "modified"]),
        BulkUpdate(WStock, ["s1"], ["id"]),
        BulkUpdate(WStock, ["s1"], []),
        New("u", WStock, {"code": "u", "qty": 1}),
        BulkUpdate(WStock, ["u"], ["qty"]),
        Get("a", WArticle, {"pk": 1}),
        BulkUpdate(WArticle, ["a"], ["topics"]),
        BulkUpdate(WStock, [], ["qty"]),
        Set("s1", {"code": f"B-{r}"}),
        BulkUpdate(WStock, ["s1", "s3"], ["code", "note"], {"batch_size": 1}),
    ]


def _get_or_create(r: int) -> list[Any]:
    return [
        Query(WStock, "get_or_create", {"code": f"A-{r}", "defaults": {"qty": 99}}, var="g1"),
        Query(
            WStock,
            "get_or_create",
            {"code": f"G{r}", "defaults": {"qty": 5 + r, "note": "made"}},
            var="g2",
        ),
        Query(WStock, "get_or_create", {"code": f"H{r}", "defaults": {"qty": lambda: 7 + r}}),
        Query(WStock, "get_or_create", {"code__iexact": f"b-{r}", "defaults": {"qty": 1}}),
        Query(WSlot, "get_or_create", {"shelf": "x", "defaults": {"position": 9, "item": "i"}}),
        Query(WStock, "get_or_create", {"code": "z", "defaults": {"nope": 1}}),
        Query(WItalian, "get_or_create", {"name": f"new it{r}", "defaults": {"seats": 2}}),
        Query(WDefaults, "get_or_create", {"name": f"gd{r}"}),
        # Not found, and the create violates a unique constraint: Django's IntegrityError.
        Query(WStock, "get_or_create", {"qty": 12345, "defaults": {"code": f"B-{r}"}}),
        Query(
            WStock,
            "get_or_create",
            {"code": f"G{r}", "defaults": {"qty": 1}},
            build=lambda m: m.filter(qty__gt=1000),
        ),
    ]


def _update_or_create(r: int) -> list[Any]:
    return [
        Query(
            WStock,
            "update_or_create",
            {"code": f"A-{r}", "defaults": {"qty": 500 + r, "note": "updated"}},
            var="u1",
        ),
        Query(
            WStock,
            "update_or_create",
            {"code": f"U{r}", "defaults": {"qty": 1}, "create_defaults": {"qty": 2, "note": "c"}},
        ),
        Query(WDefaults, "update_or_create", {"pk": 1, "defaults": {"name": f"touched{r}"}}),
        Query(WItalian, "update_or_create", {"pk": 3, "defaults": {"name": "x", "pizza": False}}),
        Query(WSlot, "update_or_create", {"shelf": "x", "defaults": {"item": "m"}}),
        Query(WStock, "update_or_create", {"code": f"B-{r}", "defaults": {"code": f"A-{r}"}}),
        Query(WStock, "update_or_create", {"code": f"V{r}", "defaults": {"qty": lambda: 3 + r}}),
    ]


def _bad_input(r: int) -> list[Any]:
    return [
        Create("x", WStock, {"nope": 1}),
        Create("x", WStock, {"code": "q", "qty": "abc"}),
        New("t", WTarget, {"name": f"unsaved{r}"}),
        Create("c", WCascade, {"name": "c", "target": Ref("t")}),
        New("c2", WCascade, {"name": "c2", "target": Ref("t")}),
        Save("c2"),
        Create("c", WCascade, {"name": "c", "target_id": 999}),
        Create("s", WStock, {"code": f"A-{r}", "qty": 1}),
        Create("s", WStock, {"code": "y" * 30, "qty": 1}),
        Query(WStock, "create", {"code": "q", "qty": None}),
        Get("s1", WStock, {"pk": 1}),
        Set("s1", {"qty": "many"}),
        Save("s1"),
    ]


def _db_variants(r: int) -> list[Any]:
    return [
        Get("t", writes.WDbTarget, {"pk": 2}),  # type: ignore[attr-defined,unused-ignore]
        Delete("t"),
        Query(writes.WDbTarget, "delete"),  # type: ignore[attr-defined,unused-ignore]
        Create("n", writes.WDbTarget, {"name": f"n{r}"}),  # type: ignore[attr-defined,unused-ignore]
    ]


SCENARIOS: list[tuple[str, Scenario]] = [
    ("create", _create),
    ("new_and_save", _new_and_save),
    ("save_forced", _save_forced),
    ("save_update_fields", _save_update_fields),
    ("modify_fk_then_save", _modify_fk_then_save),
    ("refresh_from_db", _refresh),
    ("delete_python_variants", _delete_python_variants),
    ("delete_protect_restrict", _delete_protect_restrict),
    ("delete_do_nothing", _delete_do_nothing),
    ("delete_chain", _delete_chain),
    ("delete_inheritance", _delete_inheritance),
    ("delete_parents_and_children", _delete_parents_and_children),
    ("delete_m2m_generic", _delete_m2m_generic),
    ("queryset_delete", _queryset_delete),
    ("queryset_update", _queryset_update),
    ("bulk_create", _bulk_create),
    ("bulk_create_conflicts", _bulk_create_conflicts),
    ("bulk_update", _bulk_update),
    ("get_or_create", _get_or_create),
    ("update_or_create", _update_or_create),
    ("bad_input", _bad_input),
]
if django.VERSION >= (6, 1):
    SCENARIOS.append(("delete_db_variants", _db_variants))


@pytest.mark.parametrize("scenario", [s[1] for s in SCENARIOS], ids=[s[0] for s in SCENARIOS])
async def test_scenario(db: DB, scenario: Scenario) -> None:
    await check_scenario(db, scenario)


# --- The seed's flow ----------------------------------------------------------------------


def rows(model: Any, db: DB) -> Any:
    """Return Django's queryset of *model* on *db* (the oracle reads the tables)."""
    return model.objects.using(db.django)


async def test_seed_flow_create_modify_save_delete_cascading_four_tables(db: DB) -> None:
    reset(db.django)
    vinyl: Any = WChainA.avinyl.using(db.vinyl)
    a = await vinyl.create(name="root")
    other = await vinyl.create(name="other")
    b = await WChainB.avinyl.using(db.vinyl).create(name="b", a=a)
    c = await WChainC.avinyl.using(db.vinyl).create(name="c", b=b)
    d = await WChainD.avinyl.using(db.vinyl).create(name="d", c=c)
    assert (a.pk, other.pk, b.pk, c.pk, d.pk) == (1, 2, 1, 1, 1)
    assert not b._state.adding and b._state.db == db.vinyl

    ob: Any = await WChainB.avinyl.using(db.vinyl).get(pk=b.pk)
    ob.a = other
    await ob.save()
    assert rows(WChainB, db).get(pk=b.pk).a_id == other.pk

    ob.a = a
    ob.name = "not saved"
    await ob.save(update_fields=["a"])
    row = rows(WChainB, db).get(pk=b.pk)
    assert (row.a_id, row.name) == (a.pk, "b")

    deleted = await a.delete()
    assert deleted == (
        4,
        {
            "vinyl_testapp.WChainA": 1,
            "vinyl_testapp.WChainB": 1,
            "vinyl_testapp.WChainC": 1,
            "vinyl_testapp.WChainD": 1,
        },
    )
    assert a.pk is None
    assert list(rows(WChainA, db).values_list("name", flat=True)) == ["other"]
    for model in (WChainB, WChainC, WChainD):
        assert not rows(model, db).exists()


# --- All or nothing -----------------------------------------------------------------------


async def test_cascade_delete_failing_half_way_leaves_every_table_unchanged(db: DB) -> None:
    # a3's chain is deleted from D up to A; A's row is held by a constraint Django does not
    # collect (DO_NOTHING), so the last DELETE fails after three tables were emptied.
    django_result, vinyl_result = await unchanged(db, [Get("a3", WChainA, {"pk": 3}), Delete("a3")])
    assert failure(django_result)[:2] == ("error", IntegrityError)
    assert vinyl_result == django_result


async def test_protected_cascade_leaves_every_table_unchanged(db: DB) -> None:
    django_result, vinyl_result = await unchanged(db, [Get("a4", WChainA, {"pk": 4}), Delete("a4")])
    assert failure(django_result)[:2] == ("error", ProtectedError)
    assert vinyl_result == django_result


async def test_queryset_delete_failing_half_way_leaves_every_table_unchanged(db: DB) -> None:
    op = Query(WChainA, "delete", build=lambda m: m.filter(pk__in=[1, 2, 3]))
    django_result, vinyl_result = await unchanged(db, [op])
    assert failure(django_result)[:2] == ("error", IntegrityError)
    assert vinyl_result == django_result


async def test_two_batch_bulk_create_failing_on_its_last_row_leaves_every_table_unchanged(
    db: DB,
) -> None:
    rows = [{"code": f"new{i}", "qty": i} for i in range(3)] + [{"code": "A-0", "qty": 9}]
    op = BulkCreate(WStock, rows, {"batch_size": 2})
    django_result, vinyl_result = await unchanged(db, [op])
    assert failure(django_result)[:2] == ("error", IntegrityError)
    assert vinyl_result == django_result


# --- No signals ---------------------------------------------------------------------------


async def test_no_vinyl_write_sends_a_signal(db: DB) -> None:
    reseed(db.django, seed_writes, 0)
    with record_signals() as heard:
        rows(WTopic, db).create(name="django's")
    assert heard == [("pre_save", "WTopic"), ("post_save", "WTopic")]  # the receiver works

    using = db.vinyl
    t: Any
    n: Any
    i: Any
    s: Any
    article: Any
    with record_signals() as heard:
        t = await WTarget.avinyl.using(using).create(name="t")
        n = WTarget.avinyl.using(using).new(name="n")
        await n.save()
        t.name = "t2"
        await t.save()
        await t.save(update_fields=["name"])
        i = await WItalian.avinyl.using(using).create(name="i", seats=1)
        await i.delete()
        await WStock.avinyl.using(using).bulk_create([WStock(code="bc", qty=1)])
        s = await WStock.avinyl.using(using).get(pk=1)
        s.qty = 3
        await WStock.avinyl.using(using).bulk_update([s], ["qty"])
        await WStock.avinyl.using(using).get_or_create(code="goc", defaults={"qty": 1})
        await WStock.avinyl.using(using).update_or_create(code="A-0", defaults={"qty": 2})
        await WStock.avinyl.using(using).update_or_create(code="uoc", defaults={"qty": 2})
        await WStock.avinyl.using(using).filter(pk=2).update(qty=F("qty") + 1)
        await WTarget.avinyl.using(using).filter(pk=2).delete()  # cascades, SET_*, RESTRICT
        article = await WArticle.avinyl.using(using).get(pk=1)
        await article.delete()  # M2M through rows, bylines, generic notes
        await WTopic.avinyl.using(using).all().delete()  # M2M through rows
        await WChainA.avinyl.using(using).filter(pk=1).delete()
        await WPlace.avinyl.using(using).all().delete()
    assert heard == []


# --- Bad input: Django's exception and message, nothing written --------------------------


async def test_unknown_field_name_in_create(db: DB) -> None:
    django_result, vinyl_result = await unchanged(db, [Create("x", WStock, {"nope": 1})])
    assert failure(django_result) == (
        "error",
        TypeError,
        "WStock() got unexpected keyword arguments: 'nope'",
    )
    assert vinyl_result == django_result


async def test_wrong_type_for_a_field(db: DB) -> None:
    values = {
        "title": "Typo",
        "author_id": 1,
        "published": datetime.date(2001, 1, 1),
        "created": datetime.datetime(2001, 1, 1, tzinfo=datetime.UTC),
        "price": Decimal("1.00"),
        "pages": "abc",
    }
    django_result, vinyl_result = await unchanged(db, [Create("b", Book, values)])
    assert failure(django_result) == (
        "error",
        ValueError,
        "Field 'pages' expected a number but got 'abc'.",
    )
    assert vinyl_result == django_result


async def test_saving_with_an_unsaved_related_object(db: DB) -> None:
    ops: list[Op] = [
        New("t", WTarget, {"name": "unsaved"}),
        Create("c", WCascade, {"name": "c", "target": Ref("t")}),
    ]
    django_result, vinyl_result = await unchanged(db, ops)
    assert failure(django_result) == (
        "error",
        ValueError,
        "save() prohibited to prevent data loss due to unsaved related object 'target'.",
    )
    assert vinyl_result == django_result


async def test_foreign_key_to_a_missing_row(db: DB) -> None:
    op = Create("c", WCascade, {"name": "c", "target_id": 999})
    django_result, vinyl_result = await unchanged(db, [op])
    assert failure(django_result)[:2] == ("error", IntegrityError)
    assert vinyl_result == django_result


async def test_unique_violation(db: DB) -> None:
    django_result, vinyl_result = await unchanged(
        db, [Create("s", WStock, {"code": "A-0", "qty": 1})]
    )
    assert failure(django_result)[:2] == ("error", IntegrityError)
    assert vinyl_result == django_result


async def test_bulk_create_with_an_integer_out_of_the_columns_range(db: DB) -> None:
    # PostgreSQL: Django on psycopg 3 writes a column of several rows as one typed array
    # literal, whose first item out of range the server names; one row, as a scalar.
    # asyncpg refuses both client-side. SQLite holds them.
    def scenario(r: int) -> list[Op]:
        return [
            BulkCreate(WSlot, [{"shelf": "x", "position": 2**31 + r, "item": "one"}]),
            BulkCreate(
                WSlot,
                [
                    {"shelf": "y", "position": 0, "item": "a"},
                    {"shelf": "y", "position": -(2**31) - 1 - r, "item": "b"},
                    {"shelf": "y", "position": 2**31, "item": "c"},
                ],
            ),
        ]

    await check_scenario(db, scenario)


async def test_a_multi_table_save_failing_on_a_child_table_writes_no_parent(db: DB) -> None:
    # WPlace's row is inserted, then WRestaurant's fails: none remains. Seats out of range
    # (SQLite's integers hold 10**12, so not there), then seats NULL.
    failing: list[tuple[int | None, type[Exception]]] = [(None, IntegrityError)]
    if db.vendor != "sqlite":
        failing.append((10**12, DataError))
    for seats, error in failing:
        ops: list[Op] = [New("i", WItalian, {"name": "big", "seats": seats}), Save("i")]
        django_result, vinyl_result = await unchanged(db, ops)
        assert failure(django_result)[:2] == ("error", error)
        assert vinyl_result == django_result


def test_the_harness_compares_driver_errors_by_their_first_line() -> None:
    try:
        raise IntegrityError("duplicate key\nDETAIL: Key (code)=(A-0) already exists.")
    except IntegrityError as inner:
        try:
            raise IntegrityError(*inner.args) from inner
        except IntegrityError as outer:
            assert error_of(outer) == ("error", IntegrityError, "duplicate key")
    message = "Forced update did not affect any rows."
    assert error_of(DatabaseError(message)) == ("error", DatabaseError, message)

"""The differential delete suite: each delete through ``M.objects`` and through ``M.avinyl``.

A case seeds the write models (``vinyl_testapp.models.writes``) through Django, deletes
through ``M.objects.using(db.django)`` and records the outcome (the return value and the
deleted instances' primary keys, or the exception: class, message, the protected or
restricted objects) and every row of every write table; then seeds the same rows again
(primary keys from 1: sequences are reset) and performs the same delete through
``M.avinyl.using(db.vinyl)``. Outcome, rows, and the statements that write (their kinds,
in order) must be Django's, with no more reads. Each case runs twice, with other values.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import django
import pytest
import vinyl_async
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, connections
from django.db.models import signals
from django.db.models.deletion import ProtectedError, RestrictedError
from django.test.utils import CaptureQueriesContext
from vinyl_async import transaction
from vinyl_testapp.models import writes
from vinyl_testapp.models.writes import (
    WArticle,
    WByline,
    WCascade,
    WChainA,
    WChainB,
    WChainC,
    WChainD,
    WChainGuard,
    WChainPin,
    WDoNothing,
    WItalian,
    WMenu,
    WNote,
    WPlace,
    WPlaceProxy,
    WProtect,
    WRestaurant,
    WRestrict,
    WSetCallable,
    WSetDefault,
    WSetNull,
    WSetValue,
    WTarget,
    WTopic,
    WWriter,
)
from vinyl_testing._async.writes import Side, resolved
from vinyl_testing.plugin import DB
from vinyl_testing.writes import reseed, snapshot

#: Django 6.1's database-level on_delete variants (DB_CASCADE...).
DB_VARIANTS = django.VERSION >= (6, 1)

# --- Seed, outcome ---------------------------------------------------------------


def seed(alias: str, n: int) -> None:
    """Write the rows every case deletes from, through Django; *n* varies the values.

    Each target row (``WTarget``) is referred to by one ``on_delete`` variant, so that
    deleting it exercises that variant alone; target 14 by all the variants that allow it.
    """
    targets = {
        pk: WTarget.objects.using(alias).create(name=f"{name}-{n}")
        for pk, name in enumerate(
            [
                "default",
                "set-value",
                "sentinel",
                "cascade",
                "set-null",
                "set-default",
                "set-callable",
                "set-value-ref",
                "protect",
                "restrict",
                "restrict-allowed",
                "loose",
                "strict",
                "mixed",
                "alone",
            ],
            start=1,
        )
    }
    t = targets.__getitem__
    for i in range(n + 1):
        WCascade.objects.using(alias).create(name=f"c{i}-{n}", target=t(4))
        WCascade.objects.using(alias).create(name=f"mixed-c{i}-{n}", target=t(14))
        WSetNull.objects.using(alias).create(name=f"n{i}-{n}", target=t(5))
        WSetNull.objects.using(alias).create(name=f"mixed-n{i}-{n}", target=t(14))
    WSetDefault.objects.using(alias).create(name=f"d-{n}", target=t(6))
    WSetDefault.objects.using(alias).create(name=f"mixed-d-{n}", target=t(14))
    WSetCallable.objects.using(alias).create(name=f"f-{n}", target=t(7))
    WSetCallable.objects.using(alias).create(name=f"mixed-f-{n}", target=t(14))
    WSetValue.objects.using(alias).create(name=f"v-{n}", target=t(8))
    WSetValue.objects.using(alias).create(name=f"mixed-v-{n}", target=t(14))
    WProtect.objects.using(alias).create(name=f"p-{n}", target=t(9))
    WProtect.objects.using(alias).create(name=f"p2-{n}", target=t(9))
    WRestrict.objects.using(alias).create(name=f"r-{n}", target=t(10))
    # Restricted by target 11, but deleted by the cascade from target 11 through ``via``.
    via = WCascade.objects.using(alias).create(name=f"via-{n}", target=t(11))
    WRestrict.objects.using(alias).create(name=f"r-allowed-{n}", target=t(11), via=via)
    WDoNothing.objects.using(alias).create(name=f"loose-{n}", loose=t(12))
    WDoNothing.objects.using(alias).create(name=f"mixed-loose-{n}", loose=t(14))
    WDoNothing.objects.using(alias).create(name=f"strict-{n}", strict=t(13))

    # Chains A ← B ← C ← D: a plain one; one whose D is protected; one pinned at its root.
    for kind in ("plain", "guarded", "pinned"):
        a = WChainA.objects.using(alias).create(name=f"{kind}-{n}")
        for i in range(n + 1):
            b = WChainB.objects.using(alias).create(name=f"{kind}-b{i}-{n}", a=a)
            c = WChainC.objects.using(alias).create(name=f"{kind}-c{i}-{n}", b=b)
            d = WChainD.objects.using(alias).create(name=f"{kind}-d{i}-{n}", c=c)
        if kind == "guarded":
            WChainGuard.objects.using(alias).create(name=f"guard-{n}", d=d)
        if kind == "pinned":
            WChainPin.objects.using(alias).create(name=f"pin-{n}", a=a)

    WPlace.objects.using(alias).create(name=f"place-{n}", city=f"city-{n}")
    restaurant = WRestaurant.objects.using(alias).create(name=f"restaurant-{n}", seats=10 + n)
    italian = WItalian.objects.using(alias).create(name=f"italian-{n}", seats=20 + n)
    WMenu.objects.using(alias).create(dish=f"soup-{n}", restaurant=restaurant)
    WMenu.objects.using(alias).create(dish=f"pizza-{n}", restaurant=italian)

    topics = [WTopic.objects.using(alias).create(name=f"topic{i}-{n}") for i in range(2)]
    writers = [WWriter.objects.using(alias).create(name=f"writer{i}-{n}") for i in range(2)]
    for i in range(2):
        article = WArticle.objects.using(alias).create(title=f"article{i}-{n}")
        article.topics.set(topics[: i + 1])
        for writer in writers[i:]:
            WByline.objects.using(alias).create(article=article, writer=writer, role=f"r{n}")
        for j in range(n + i):
            WNote.objects.using(alias).create(text=f"note{j}-{n}", content_object=article)
    # A note on another model with the same object id: a generic relation must not reach it.
    WNote.objects.using(alias).create(text=f"other-{n}", content_object=topics[0])

    if DB_VARIANTS:
        connection = connections[alias]
        db_target: Any = writes.WDbTarget  # type: ignore[attr-defined,unused-ignore]
        db_target.objects.using(alias).create(name=f"default-{n}")
        victim = db_target.objects.using(alias).create(name=f"victim-{n}")
        for model in db_target._meta.related_objects:
            if model.related_model._meta.can_migrate(connection):
                model.related_model.objects.using(alias).create(name=f"x-{n}", target=victim)


def objects_of(objs: Any) -> list[tuple[str, Any]]:
    """Return the protected/restricted objects of an error as sorted ``(label, pk)``."""
    return sorted((obj._meta.label, obj.pk) for obj in objs)


def outcome_of_error(exc: BaseException) -> tuple[Any, ...]:
    """Return what must agree about an exception: its class, and all but a driver's text."""
    if isinstance(exc, ProtectedError):
        return (ProtectedError, str(exc.args[0]), objects_of(exc.protected_objects))
    if isinstance(exc, RestrictedError):
        return (RestrictedError, str(exc.args[0]), objects_of(exc.restricted_objects))
    if isinstance(exc, IntegrityError):
        # The server's message, through another driver: only the class must agree.
        return (IntegrityError,)
    return (type(exc), str(exc))


#: A delete: given a side, return what must agree (it may raise).
Case = Callable[[Side], Awaitable[Any]]


def kinds(captured: CaptureQueriesContext) -> list[str]:
    """Return the first word of each statement run, leaving out transaction control.

    A statement that failed is ``"?"``: Django's MySQL backend logs it as ``None``.
    """
    words = [str(query["sql"]).split(None, 1)[0].upper() for query in captured.captured_queries]
    control = {"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"}
    return ["?" if w == "NONE" else w for w in words if w not in control]


def same_statements(django_kinds: list[str], vinyl_kinds: list[str]) -> bool:
    """Return whether vinyl wrote as Django did, reading no more than Django read.

    Django reads the parent of a multi-table child that was loaded with ``only()`` (one
    query per child); vinyl takes its primary key from the child's link instead. A failed
    statement of Django's matches any.
    """
    django_writes = [kind for kind in django_kinds if kind != "SELECT"]
    vinyl_writes = [kind for kind in vinyl_kinds if kind != "SELECT"]
    return (
        len(django_writes) == len(vinyl_writes)
        and all(want in ("?", got) for want, got in zip(django_writes, vinyl_writes, strict=True))
        and vinyl_kinds.count("SELECT") <= django_kinds.count("SELECT")
    )


async def outcome(side: Side, case: Case) -> tuple[Any, list[str]]:
    """Return the outcome of *case* on *side* and the kinds of statement it ran."""
    # Both sides read the content types a generic relation needs (cached per alias).
    ContentType.objects.clear_cache()
    with CaptureQueriesContext(connections[side.alias]) as captured:
        try:
            result: Any = ("returned", await case(side))
        except Exception as exc:
            result = ("raised", *outcome_of_error(exc))
    return result, kinds(captured)


async def check(db: DB, case: Case) -> Any:
    """Run *case* through Django then through vinyl on the same seed, twice; compare.

    Return Django's outcome of the last round.
    """
    for n in (1, 2):
        reseed(db.django, seed, n)
        expected, django_statements = await outcome(Side(db.django, vinyl=False), case)
        django_rows = snapshot(db.django)
        await vinyl_async.close_pools()
        reseed(db.django, seed, n)
        actual, vinyl_statements = await outcome(Side(db.vinyl, vinyl=True), case)
        assert actual == expected
        assert snapshot(db.django) == django_rows
        assert same_statements(django_statements, vinyl_statements), (
            django_statements,
            vinyl_statements,
        )
    return expected


# --- Cases ------------------------------------------------------------------------------


def delete_one(model: Any, keep_parents: bool = False, **lookup: Any) -> Case:
    """Return the case ``model.get(**lookup).delete(keep_parents=...)``, and the pk after."""

    async def case(side: Side) -> Any:
        obj = await resolved(side.manager(model).get(**lookup))
        result = await resolved(obj.delete(keep_parents=keep_parents))
        return result, obj.pk

    return case


def delete_all(model: Any, *args: Any, **lookup: Any) -> Case:
    """Return the case ``model.filter(*args, **lookup).delete()``."""

    async def case(side: Side) -> Any:
        return await resolved(side.manager(model).filter(*args, **lookup).delete())

    return case


@pytest.mark.parametrize(
    "pk",
    [
        pytest.param(4, id="cascade"),
        pytest.param(5, id="set-null"),
        pytest.param(6, id="set-default"),
        pytest.param(7, id="set-callable"),
        pytest.param(8, id="set-value"),
        pytest.param(11, id="restrict-allowed-through-cascade"),
        pytest.param(12, id="do-nothing-unconstrained"),
        pytest.param(14, id="every-variant"),
        pytest.param(15, id="nothing-refers"),
    ],
)
async def test_on_delete_variants(db: DB, pk: int) -> None:
    (kind, (deleted, pk_after)) = await check(db, delete_one(WTarget, pk=pk))
    assert kind == "returned" and deleted[0] >= 1 and pk_after is None


async def test_protect_raises_protected_error_and_changes_nothing(db: DB) -> None:
    expected = await check(db, delete_one(WTarget, pk=9))
    assert expected[0] == "raised" and expected[1] is ProtectedError
    assert expected[2] == (
        "Cannot delete some instances of model 'WTarget' because they are referenced "
        "through protected foreign keys: 'WProtect.target'."
    )
    assert len(expected[3]) == 2


async def test_restrict_raises_restricted_error(db: DB) -> None:
    expected = await check(db, delete_one(WTarget, pk=10))
    assert expected[:3] == (
        "raised",
        RestrictedError,
        "Cannot delete some instances of model 'WTarget' because they are referenced "
        "through restricted foreign keys: 'WRestrict.target'.",
    )


async def test_do_nothing_with_a_constraint_fails_and_changes_nothing(db: DB) -> None:
    assert await check(db, delete_one(WTarget, pk=13)) == ("raised", IntegrityError)


async def test_cascade_through_four_tables(db: DB) -> None:
    (_, (deleted, _)) = await check(db, delete_one(WChainA, name__startswith="plain"))
    assert deleted[1] == {
        "vinyl_testapp.WChainD": 3,
        "vinyl_testapp.WChainC": 3,
        "vinyl_testapp.WChainB": 3,
        "vinyl_testapp.WChainA": 1,
    }
    await check(db, delete_all(WChainA, name__startswith="plain"))
    await check(db, delete_all(WChainB, a__name__startswith="plain"))


async def test_protected_row_at_the_end_of_a_cascade(db: DB) -> None:
    expected = await check(db, delete_one(WChainA, name__startswith="guarded"))
    # Each level reports the foreign key it cascaded through, as Django's collector does.
    assert expected[2] == (
        "Cannot delete some instances of model 'WChainA' because they are referenced "
        "through protected foreign keys: 'WChainB.a'."
    )
    assert expected[3] == [("vinyl_testapp.WChainGuard", 1)]


async def test_a_cascade_failing_half_way_changes_nothing(db: DB) -> None:
    # The chain's B, C and D rows go first; the root fails on the pin's constraint.
    assert await check(db, delete_one(WChainA, name__startswith="pinned")) == (
        "raised",
        IntegrityError,
    )
    assert await check(db, delete_all(WChainA, name__startswith="pinned")) == (
        "raised",
        IntegrityError,
    )


async def test_a_failed_delete_leaves_the_instances_primary_keys(db: DB) -> None:
    # On PostgreSQL the pin's constraint fails at the commit: Django sets the primary keys
    # to None only once the delete has committed.
    async def case(side: Side) -> Any:
        obj = await resolved(side.manager(WChainA).get(name__startswith="pinned"))
        try:
            await resolved(obj.delete())
        except IntegrityError:
            return obj.pk
        return None

    assert await check(db, case) == ("returned", 3)


@pytest.mark.parametrize(
    ("model", "lookup", "keep_parents"),
    [
        pytest.param(WItalian, {"name__startswith": "italian"}, False, id="child"),
        pytest.param(WItalian, {"name__startswith": "italian"}, True, id="child-keep-parents"),
        pytest.param(WRestaurant, {"name__startswith": "italian"}, True, id="middle-keep"),
        pytest.param(WRestaurant, {"name__startswith": "restaurant"}, False, id="middle"),
        pytest.param(WPlace, {"name__startswith": "italian"}, False, id="root-of-children"),
        pytest.param(WPlaceProxy, {"name__startswith": "place"}, False, id="proxy"),
    ],
)
async def test_multi_table_inheritance(
    db: DB, model: Any, lookup: dict[str, Any], keep_parents: bool
) -> None:
    await check(db, delete_one(model, keep_parents, **lookup))


async def test_multi_table_inheritance_querysets(db: DB) -> None:
    await check(db, delete_all(WRestaurant, seats__gte=10))
    await check(db, delete_all(WItalian))
    await check(db, delete_all(WPlaceProxy, name__startswith="restaurant"))


async def test_many_to_many_rows_and_generic_relations(db: DB) -> None:
    (_, (deleted, _)) = await check(db, delete_one(WArticle, title__startswith="article1"))
    assert deleted[1]["vinyl_testapp.WNote"] == 3
    await check(db, delete_one(WTopic, name__startswith="topic0"))
    await check(db, delete_one(WWriter, name__startswith="writer1"))
    await check(db, delete_all(WArticle))


async def test_queryset_delete_with_filters_across_joins(db: DB) -> None:
    await check(db, delete_all(WTarget, name__startswith="mixed"))
    await check(db, delete_all(WCascade, target__name__startswith="cascade"))
    # Nothing refers to WSetNull: one DELETE, with the join in it.
    await check(db, delete_all(WSetNull, target__name__startswith="set-null"))
    await check(db, delete_all(WSetNull, target__cascades__name__startswith="mixed-c"))
    await check(db, delete_all(WRestrict, via__target__name__startswith="restrict"))
    await check(db, delete_all(WTarget, pk__in=[]))
    await check(db, delete_all(WSetNull, pk__in=[]))
    await check(db, delete_all(WTarget, pk__in=[4, 5, 6, 7, 8, 11, 12, 14, 15]))
    await check(db, delete_all(WTarget, pk__in=[9, 10]))


async def test_an_instance_already_deleted_counts_zero(db: DB) -> None:
    async def case(side: Side) -> Any:
        obj = await resolved(side.manager(WSetNull).get(pk=1))
        await resolved(side.manager(WSetNull).filter(pk=1).delete())
        return await resolved(obj.delete())

    assert await check(db, case) == ("returned", (0, {"vinyl_testapp.WSetNull": 0}))


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda qs: qs[:2], id="sliced"),
        pytest.param(lambda qs: qs[1:], id="offset"),
        pytest.param(lambda qs: qs.distinct("name"), id="distinct-fields"),
        pytest.param(lambda qs: qs.values("name"), id="values"),
        pytest.param(lambda qs: qs.values_list("pk", flat=True), id="values-list"),
        pytest.param(lambda qs: qs.union(qs), id="union"),
    ],
)
async def test_queryset_delete_refusals(db: DB, build: Callable[[Any], Any]) -> None:
    async def case(side: Side) -> Any:
        return await resolved(build(side.manager(WSetNull).all()).delete())

    expected = await check(db, case)
    assert expected[0] == "raised"


async def test_an_unsaved_instance_cannot_be_deleted(db: DB) -> None:
    async def case(side: Side) -> Any:
        obj = side.manager(WTarget).new(name="x") if side.vinyl else WTarget(name="x")
        return await resolved(obj.delete())

    assert await check(db, case) == (
        "raised",
        ValueError,
        "WTarget object can't be deleted because its id attribute is set to None.",
    )


if DB_VARIANTS:
    # DB_CASCADE/DB_SET_NULL/DB_SET_DEFAULT exist from Django 6.1: not defined under 5.2.

    async def test_database_level_variants(db: DB) -> None:
        db_target: Any = writes.WDbTarget  # type: ignore[attr-defined,unused-ignore]
        # The database does the work; Django collects and counts nothing beyond the target.
        counted = {"vinyl_testapp.WDbTarget": 1}
        assert await check(db, delete_one(db_target, pk=2)) == ("returned", ((1, counted), None))
        assert await check(db, delete_all(db_target, pk=2)) == ("returned", (1, counted))


# --- Transactions and signals -----------------------------------------------------------


async def test_lone_fast_delete_runs_alone_and_a_cascade_in_one_transaction(db: DB) -> None:
    seed(db.django, 1)
    obj = await WSetNull.avinyl.using(db.vinyl).get(pk=1)
    with CaptureQueriesContext(connections[db.vinyl]) as captured:
        assert await obj.delete() == (1, {"vinyl_testapp.WSetNull": 1})
    assert [q["sql"].split()[0] for q in captured.captured_queries] == ["DELETE"]

    with CaptureQueriesContext(connections[db.vinyl]) as captured:
        await WChainA.avinyl.using(db.vinyl).filter(name__startswith="plain").delete()
    statements = [q["sql"].split()[0] for q in captured.captured_queries]
    begin = statements.index("BEGIN")
    # The collection reads come first, outside the transaction, as in Django.
    assert set(statements[:begin]) == {"SELECT"}
    assert statements[begin + 1 :] == ["DELETE"] * 4 + ["COMMIT"]


async def test_protected_error_leaves_the_callers_block_usable(db: DB) -> None:
    seed(db.django, 1)
    async with transaction(using=db.vinyl):
        target = await WTarget.avinyl.using(db.vinyl).get(pk=9)
        with pytest.raises(ProtectedError):
            await target.delete()
        await WSetNull.avinyl.using(db.vinyl).filter(target_id=5).delete()
    assert not WSetNull.objects.using(db.django).filter(target_id=5).exists()


async def test_a_delete_in_a_block_that_rolls_back_is_undone(db: DB) -> None:
    seed(db.django, 1)
    before = snapshot(db.django)
    with pytest.raises(RuntimeError):
        async with transaction(using=db.vinyl):
            await WTarget.avinyl.using(db.vinyl).filter(pk__in=[4, 14]).delete()
            await (await WArticle.avinyl.using(db.vinyl).get(pk=1)).delete()
            raise RuntimeError("undo")
    assert snapshot(db.django) == before


async def test_no_signal_is_sent_and_receivers_do_not_stop_fast_deletes(db: DB) -> None:
    seed(db.django, 1)
    received: list[Any] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        received.append(sender)

    for signal in (signals.pre_delete, signals.post_delete, signals.m2m_changed):
        signal.connect(receiver, weak=False, dispatch_uid="test_delete")
    try:
        with CaptureQueriesContext(connections[db.vinyl]) as captured:
            deleted = await (await WArticle.avinyl.using(db.vinyl).get(pk=1)).delete()
    finally:
        for signal in (signals.pre_delete, signals.post_delete, signals.m2m_changed):
            signal.disconnect(dispatch_uid="test_delete")
    assert received == []
    assert deleted[1]["vinyl_testapp.WNote"] == 1
    # As Django without receivers: the bylines, topics and notes are deleted without
    # being read first (the content type may be).
    selects = [
        q["sql"]
        for q in captured.captured_queries
        if q["sql"].startswith("SELECT") and "django_content_type" not in q["sql"]
    ]
    assert len(selects) == 1

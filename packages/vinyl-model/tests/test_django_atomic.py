"""vinyl's writes inside Django's own ``atomic()``: vinyl_sync joins, vinyl_async refuses.

Written per flavor, not generated: the flavors deliberately differ here
(``vinyl.query.djangoatomic``). The oracle is Django doing the same writes in its own
block: what vinyl_sync leaves in the tables, committed or rolled back, is what Django leaves.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

import pytest
from django.db import IntegrityError, connections
from django.db import transaction as django_transaction
from django.db.models import ProtectedError
from django.db.transaction import TransactionManagementError
from vinyl_async import transaction as async_transaction
from vinyl_sync import transaction as sync_transaction
from vinyl_testapp.models.writes import WCascade, WItalian, WPlace, WProtect, WStock, WTarget
from vinyl_testing.plugin import DB


class Boom(Exception):
    """The error a test raises inside a block to make it roll back."""


def seed(db: DB, label: str) -> int:
    """Create a target with two cascading rows through Django; return its pk."""
    target = WTarget.objects.using(db.django).create(name=f"t-{label}")
    for side in "ab":
        WCascade.objects.using(db.django).create(name=f"c-{label}{side}", target=target)
    return target.pk


def rows(db: DB, label: str) -> dict[str, list[Any]]:
    """Return what the tables hold of *label*'s rows, as Django's own connection sees them."""
    places = WPlace.objects.using(db.django).filter(name__startswith=label)
    return {
        "places": [(p.name[len(label) :], p.city) for p in places.order_by("name")],
        "italians": list(
            WItalian.objects.using(db.django)
            .filter(name__startswith=label)
            .order_by("seats")
            .values_list("seats", "pizza")
        ),
        "targets": [WTarget.objects.using(db.django).filter(name=f"t-{label}").count()],
        "cascades": sorted(
            name[len(f"c-{label}") :]
            for name in WCascade.objects.using(db.django)
            .filter(name__startswith=f"c-{label}")
            .values_list("name", flat=True)
        ),
    }


def sides(db: DB) -> list[tuple[str, Callable[[type[Any]], Any], str]]:
    """Return the oracle and the subject: Django's managers on Django's alias, then vinyl_sync's
    on vinyl's, each with its label and the alias of its own ``atomic()``."""
    return [
        ("django", lambda model: model.objects.using(db.django), db.django),
        ("vinyl", lambda model: model.vinyl.using(db.vinyl), db.vinyl),
    ]


def writes(manager: Callable[[type[Any]], Any], label: str, target: int, number: int) -> None:
    """A multi-table save, a cascading delete, an update and a get_or_create."""
    manager(WItalian).create(name=f"{label}-{number}", seats=number)
    manager(WTarget).get(pk=target).delete()
    manager(WPlace).filter(name=f"{label}-{number}").update(city=f"city {number}")
    manager(WPlace).get_or_create(name=f"{label}-{number}", defaults={"city": "never"})
    manager(WPlace).get_or_create(name=f"{label}-new{number}", defaults={"city": "made"})


@pytest.mark.parametrize("outcome", ["commit", "rollback"])
def test_vinyl_sync_writes_inside_djangos_block_commit_or_roll_back_with_it(
    db: DB, outcome: str
) -> None:
    for number in (1, 2):
        for label, manager, alias in sides(db):
            target = seed(db, f"{label}{number}")
            with pytest.raises(Boom) if outcome == "rollback" else nullcontext():
                with django_transaction.atomic(using=alias):
                    writes(manager, label, target, number)
                    if outcome == "rollback":
                        raise Boom
        assert rows(db, "vinyl") == rows(db, "django")
        assert rows(db, f"vinyl{number}") == rows(db, f"django{number}")
    if outcome == "commit":
        assert rows(db, "vinyl")["places"] == [
            ("-1", "city 1"),
            ("-2", "city 2"),
            ("-new1", "made"),
            ("-new2", "made"),
        ]
    else:
        assert rows(db, "vinyl")["places"] == []
        assert rows(db, "vinyl1")["cascades"] == ["a", "b"]


def failing_write(manager: Callable[[type[Any]], Any], kind: str, code: str) -> None:
    """Write one statement that breaks WStock's unique code (*code*, *code*-other exist)."""
    if kind == "save":
        manager(WStock).create(code=code, qty=2)
    else:
        manager(WStock).filter(code=f"{code}-other").update(code=code)


@pytest.mark.parametrize("kind", ["save", "update"])
def test_a_failed_write_caught_inside_djangos_block_marks_it_for_rollback_as_djangos(
    db: DB, kind: str
) -> None:
    # Django wraps a write of one statement in mark_for_rollback_on_error(): once it fails,
    # the block only rolls back, even if the caller catches the error. Without that, vinyl
    # left the block usable, and on MariaDB and SQLite it committed the rows written before.
    message = "An error occurred in the current transaction. You can't execute queries"

    def after_the_error(manager: Callable[[type[Any]], Any], alias: str) -> list[object]:
        seen: list[object] = [connections[alias].needs_rollback]
        for read in (WPlace.objects.using(alias).count, manager(WPlace).count):
            with pytest.raises(TransactionManagementError) as raised:
                read()
            seen.append(str(raised.value))
        return seen

    for number in (1, 2):
        seen: dict[str, list[object]] = {}
        for label, manager, alias in sides(db):
            code = f"{label}-{number}"
            WStock.objects.using(db.django).create(code=code, qty=1)
            WStock.objects.using(db.django).create(code=f"{code}-other", qty=1)
            with django_transaction.atomic(using=alias):
                manager(WPlace).create(name=f"{label}-{number}")
                with pytest.raises(IntegrityError):
                    failing_write(manager, kind, code)
                seen[label] = after_the_error(manager, alias)
        assert seen["vinyl"] == seen["django"]
        assert seen["django"][0] is True
        assert str(seen["django"][1]).startswith(message)
        assert own_block_names(db) == []
        assert WStock.objects.using(db.django).filter(qty=2).count() == 0


def test_a_protected_delete_caught_inside_djangos_block_leaves_it_usable_as_djangos(
    db: DB,
) -> None:
    # Django raises ProtectedError while collecting, before its delete: nothing marks the
    # block, which goes on and commits.
    for number in (1, 2):
        for label, manager, alias in sides(db):
            target = seed(db, f"{label}{number}")
            WProtect.objects.using(db.django).create(name=f"{label}{number}", target_id=target)
            with django_transaction.atomic(using=alias):
                manager(WPlace).create(name=f"{label}-{number}")
                with pytest.raises(ProtectedError):
                    manager(WTarget).get(pk=target).delete()
                assert connections[alias].needs_rollback is False
                assert manager(WPlace).filter(name=f"{label}-{number}").count() == 1
        assert rows(db, f"vinyl{number}") == rows(db, f"django{number}")
    assert own_block_names(db) == ["django-1", "django-2", "vinyl-1", "vinyl-2"]


def test_vinyl_sync_select_for_update_inside_djangos_block(db: DB) -> None:
    target = seed(db, "locked")
    with django_transaction.atomic(using=db.django):
        expected = WTarget.objects.using(db.django).select_for_update().get(pk=target)
    with django_transaction.atomic(using=db.vinyl):
        for _ in range(2):
            locked = WTarget.vinyl.using(db.vinyl).select_for_update().get(pk=target)
            assert (locked.pk, locked.name) == (expected.pk, expected.name)
    # Outside any block, Django's error, as before.
    if connections[db.vinyl].features.has_select_for_update:
        with pytest.raises(TransactionManagementError, match="outside of a transaction"):
            WTarget.vinyl.using(db.vinyl).select_for_update().get(pk=target)


async def test_vinyl_async_writes_inside_djangos_block_raise(db: DB) -> None:
    message = (
        f"Django's transaction.atomic(using='{db.vinyl}') is open, but vinyl_async does not "
        f"run on Django's connection"
    )
    with django_transaction.atomic(using=db.vinyl):
        for _ in range(2):
            with pytest.raises(TransactionManagementError) as raised:
                await WPlace.avinyl.using(db.vinyl).create(name="never")
            assert str(raised.value).startswith(message)
            with pytest.raises(TransactionManagementError) as raised:
                await WPlace.avinyl.using(db.vinyl).filter(name="never").update(city="Rome")
            assert str(raised.value).startswith(message)
    assert WPlace.objects.using(db.django).count() == 0


def own_block_names(db: DB) -> list[str]:
    """Return the places' names as Django's connection of the Django alias sees them."""
    return sorted(WPlace.objects.using(db.django).values_list("name", flat=True))


def test_vinyl_sync_writes_in_its_own_block_with_djangos_block_opened_inside(db: DB) -> None:
    # vinyl's block was opened first: vinyl's writes run in it, as its reads do, whatever
    # Django's block on its own connection holds (here: marked to roll back).
    for number in (1, 2):
        with sync_transaction(using=db.vinyl):
            with django_transaction.atomic(using=db.vinyl):
                django_transaction.set_rollback(True, using=db.vinyl)
                WPlace.vinyl.using(db.vinyl).create(name=f"sync-{number}", city="Rome")
                assert WPlace.vinyl.using(db.vinyl).count() == number
        assert own_block_names(db) == [f"sync-{n}" for n in range(1, number + 1)]


async def test_vinyl_async_writes_in_its_own_block_with_djangos_block_opened_inside(
    db: DB,
) -> None:
    for number in (1, 2):
        async with async_transaction(using=db.vinyl):
            with django_transaction.atomic(using=db.vinyl):
                await WPlace.avinyl.using(db.vinyl).create(name=f"async-{number}", city="Rome")
                assert await WPlace.avinyl.using(db.vinyl).count() == number
        assert own_block_names(db) == [f"async-{n}" for n in range(1, number + 1)]

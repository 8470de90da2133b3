"""Models for the differential write suite (issue 15): every ``on_delete``, inheritance,
database defaults, generated and auto-set fields, unique constraints, M2M and generic
relations.

Each model has Django's ``objects`` (the oracle) and both vinyl flavors (``avinyl`` /
``vinyl``), as in ``library``. The suite seeds these tables through ``objects`` with fixed
primary keys 1, 2, 3, ... (sequences are reset before each seed), so the defaults below
may name a row by its primary key.

Django 6.1's database-level variants (``DB_CASCADE``, ``DB_SET_NULL``, ``DB_SET_DEFAULT``)
exist only when ``django.VERSION >= (6, 1)``. They live in a cluster of their own
(``WDbTarget`` and its children): Django refuses a model, or a chain of references, that
mixes database-level and Python-level variants. MySQL/MariaDB has no ``ON DELETE SET
DEFAULT``, so ``WDbSetDefault`` requires ``supports_on_delete_db_default`` and exists on
PostgreSQL only.
"""

from __future__ import annotations

import django
from django.contrib.contenttypes.fields import GenericForeignKey, GenericRelation
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import F

from vinyl_testapp.models.base import AppModel

__all__ = [
    "WArticle",
    "WByline",
    "WCascade",
    "WChainA",
    "WChainB",
    "WChainC",
    "WChainD",
    "WChainGuard",
    "WChainPin",
    "WDefaults",
    "WDoNothing",
    "WItalian",
    "WMenu",
    "WNote",
    "WPlace",
    "WPlaceProxy",
    "WProtect",
    "WRestaurant",
    "WRestrict",
    "WSetCallable",
    "WSetDefault",
    "WSetNull",
    "WSetValue",
    "WSlot",
    "WStock",
    "WTarget",
    "WTopic",
    "WWriter",
    "sentinel_target",
]

#: The primary key of the target rows the SET_DEFAULT / SET(...) variants point at.
DEFAULT_TARGET = 1
SET_VALUE_TARGET = 5
SENTINEL_TARGET = 3


def sentinel_target() -> int:
    """Return the target that ``WSetCallable`` rows get when theirs is deleted."""
    return SENTINEL_TARGET


def default_code() -> str:
    """Return ``WDefaults.code``'s default (a callable default)."""
    return "made-by-callable"


class WTarget(AppModel):
    """The row every Python-level ``on_delete`` variant points at."""

    name = models.CharField(max_length=50)


class WCascade(AppModel):
    name = models.CharField(max_length=50)
    target = models.ForeignKey(WTarget, models.CASCADE, related_name="cascades")


class WProtect(AppModel):
    name = models.CharField(max_length=50)
    target = models.ForeignKey(WTarget, models.PROTECT, related_name="protects")


class WRestrict(AppModel):
    """RESTRICT: deleting the target fails unless the row goes too through ``via``'s cascade."""

    name = models.CharField(max_length=50)
    target = models.ForeignKey(WTarget, models.RESTRICT, related_name="restricts")
    via = models.ForeignKey(WCascade, models.CASCADE, null=True, related_name="restricts")


class WSetNull(AppModel):
    name = models.CharField(max_length=50)
    target = models.ForeignKey(WTarget, models.SET_NULL, null=True, related_name="set_nulls")


class WSetDefault(AppModel):
    name = models.CharField(max_length=50)
    target = models.ForeignKey(
        WTarget, models.SET_DEFAULT, default=DEFAULT_TARGET, related_name="set_defaults"
    )


class WSetCallable(AppModel):
    name = models.CharField(max_length=50)
    target = models.ForeignKey(WTarget, models.SET(sentinel_target), related_name="set_callables")


class WSetValue(AppModel):
    name = models.CharField(max_length=50)
    target = models.ForeignKey(WTarget, models.SET(SET_VALUE_TARGET), related_name="set_values")


class WDoNothing(AppModel):
    """DO_NOTHING twice: without a database constraint (the row dangles) and with one (the
    delete fails with IntegrityError, on PostgreSQL at commit: Django's constraints there
    are deferred)."""

    name = models.CharField(max_length=50)
    loose = models.ForeignKey(
        WTarget, models.DO_NOTHING, null=True, db_constraint=False, related_name="+"
    )
    strict = models.ForeignKey(WTarget, models.DO_NOTHING, null=True, related_name="+")


# A four-table cascade chain: A ← B ← C ← D, each CASCADE.


class WChainA(AppModel):
    name = models.CharField(max_length=50)


class WChainB(AppModel):
    name = models.CharField(max_length=50)
    a = models.ForeignKey(WChainA, models.CASCADE, related_name="bs")


class WChainC(AppModel):
    name = models.CharField(max_length=50)
    b = models.ForeignKey(WChainB, models.CASCADE, related_name="cs")


class WChainD(AppModel):
    name = models.CharField(max_length=50)
    c = models.ForeignKey(WChainC, models.CASCADE, related_name="ds")


class WChainPin(AppModel):
    """Makes a cascade delete of ``WChainA`` fail half-way: a database constraint that
    Django does not collect (DO_NOTHING) on the chain's root, which is deleted last."""

    name = models.CharField(max_length=50)
    a = models.ForeignKey(WChainA, models.DO_NOTHING, related_name="pins")


class WChainGuard(AppModel):
    """Protects a row at the end of the chain: deleting its root raises ProtectedError."""

    name = models.CharField(max_length=50)
    d = models.ForeignKey(WChainD, models.PROTECT, related_name="guards")


# Multi-table inheritance on two levels, a proxy, and a foreign key to the middle level.


class WPlace(AppModel):
    name = models.CharField(max_length=50)
    city = models.CharField(max_length=50, default="Oslo")


class WRestaurant(WPlace):
    seats = models.IntegerField(default=10)

    class Meta:
        app_label = "vinyl_testapp"


class WItalian(WRestaurant):
    pizza = models.BooleanField(default=True)

    class Meta:
        app_label = "vinyl_testapp"


class WPlaceProxy(WPlace):
    class Meta:
        proxy = True
        app_label = "vinyl_testapp"


class WPlaceSelectOnSave(WPlace):
    class Meta:
        proxy = True
        select_on_save = True
        app_label = "vinyl_testapp"


class WMenu(AppModel):
    dish = models.CharField(max_length=50)
    restaurant = models.ForeignKey(WRestaurant, models.CASCADE, related_name="menus")


class WDefaults(AppModel):
    """Values the database or Django fills in: ``db_default``, a callable default, a stored
    generated column, ``auto_now_add`` and ``auto_now``."""

    name = models.CharField(max_length=50)
    counter = models.IntegerField(db_default=42)
    label = models.CharField(max_length=20, db_default="fresh")
    code = models.CharField(max_length=30, default=default_code)
    doubled = models.GeneratedField(
        expression=F("counter") * 2, output_field=models.IntegerField(), db_persist=True
    )
    created = models.DateTimeField(auto_now_add=True)
    modified = models.DateTimeField(auto_now=True)


class WStock(AppModel):
    """A unique field, for ``bulk_create``'s conflict options and unique violations."""

    code = models.CharField(max_length=20, unique=True)
    qty = models.IntegerField()
    note = models.CharField(max_length=50, default="")


class WSlot(AppModel):
    """A unique constraint on two columns."""

    shelf = models.CharField(max_length=20)
    position = models.IntegerField()
    item = models.CharField(max_length=50)

    class Meta(AppModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["shelf", "position"], name="wslot_shelf_position")
        ]


# M2M with an automatic through table and with a custom one; a generic relation.


class WTopic(AppModel):
    name = models.CharField(max_length=50)


class WWriter(AppModel):
    name = models.CharField(max_length=50)


class WNote(AppModel):
    text = models.CharField(max_length=50)
    content_type = models.ForeignKey(ContentType, models.CASCADE, related_name="+")
    object_id = models.PositiveIntegerField()
    content_object = GenericForeignKey("content_type", "object_id")


class WArticle(AppModel):
    title = models.CharField(max_length=50)
    topics = models.ManyToManyField(WTopic, related_name="articles", blank=True)
    writers = models.ManyToManyField(
        WWriter, through="WByline", related_name="articles", blank=True
    )
    notes = GenericRelation(WNote)


class WByline(AppModel):
    article = models.ForeignKey(WArticle, models.CASCADE, related_name="bylines")
    writer = models.ForeignKey(WWriter, models.CASCADE, related_name="bylines")
    role = models.CharField(max_length=20)


if django.VERSION >= (6, 1):
    # Django 6.1's database-level variants: the database does the work, Django collects
    # nothing. A cluster of their own (see the module docstring).

    class WDbTarget(AppModel):
        name = models.CharField(max_length=50)

    class WDbCascade(AppModel):
        name = models.CharField(max_length=50)
        target = models.ForeignKey(
            WDbTarget,
            models.DB_CASCADE,  # type: ignore[attr-defined,unused-ignore]
            related_name="db_cascades",
        )

    class WDbSetNull(AppModel):
        name = models.CharField(max_length=50)
        target = models.ForeignKey(
            WDbTarget,
            models.DB_SET_NULL,  # type: ignore[attr-defined,unused-ignore]
            null=True,
            related_name="db_set_nulls",
        )

    class WDbSetDefault(AppModel):
        """PostgreSQL only: MySQL/MariaDB has no ``ON DELETE SET DEFAULT``."""

        name = models.CharField(max_length=50)
        target = models.ForeignKey(
            WDbTarget,
            models.DB_SET_DEFAULT,  # type: ignore[attr-defined,unused-ignore]
            db_default=DEFAULT_TARGET,
            related_name="db_set_defaults",
        )

        class Meta(AppModel.Meta):
            required_db_features = ["supports_on_delete_db_default"]

    __all__ += ["WDbCascade", "WDbSetDefault", "WDbSetNull", "WDbTarget"]

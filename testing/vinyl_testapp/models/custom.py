"""Models for issue 14's gaps: custom querysets and managers (``from_queryset()`` in each
flavor), a base manager that filters, and a file field.

``Shelf`` carries one Django ``QuerySet`` subclass for Django's manager (the oracle) and for
both vinyl flavors (``avinyl`` / ``vinyl``, as in ``library``); ``Bin`` carries a subclass of
each flavor's ``VinylQuerySet``.
"""

from __future__ import annotations

from typing import Any

import vinyl_async
import vinyl_sync
from django.contrib.contenttypes.fields import GenericForeignKey
from django.db import models

from vinyl_testapp.models.base import AppModel


class ArgumentFirst(models.QuerySet[Any]):
    """A queryset ``__init__`` that takes an argument of its own first (Django's
    ``CustomInitQuerySet``): managers build querysets with keywords."""

    def __init__(
        self,
        custom_optional_arg: Any = None,
        model: Any = None,
        query: Any = None,
        using: str | None = None,
        hints: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(model=model, query=query, using=using, hints=hints)


class ShelfQuerySet(ArgumentFirst, models.QuerySet[Any]):
    """A Django queryset with two builder methods, used by Django's and vinyl's managers."""

    def long(self) -> Any:
        return self.filter(pages__gt=300)

    def titled(self, prefix: str) -> Any:
        return self.filter(title__startswith=prefix).order_by("title")

    def _private(self) -> Any:  # not copied onto managers, as in Django
        return self


class Room(AppModel):
    """Related managers of Shelf and Bin: their custom queryset methods too."""

    name = models.CharField(max_length=50)


class Shelf(models.Model):
    title = models.CharField(max_length=100)
    pages = models.IntegerField()
    room = models.ForeignKey(Room, models.CASCADE, null=True, related_name="shelves")

    objects = models.Manager.from_queryset(ShelfQuerySet)()
    avinyl = vinyl_async.VinylManager.from_queryset(ShelfQuerySet)()
    vinyl = vinyl_sync.VinylManager.from_queryset(ShelfQuerySet)()

    class Meta:
        app_label = "vinyl_testapp"


class AsyncBinQuerySet(ArgumentFirst, vinyl_async.VinylQuerySet[Any]):
    def long(self) -> Any:
        return self.filter(pages__gt=300)

    def titled(self, prefix: str) -> Any:
        return self.filter(title__startswith=prefix).order_by("title")


class SyncBinQuerySet(ArgumentFirst, vinyl_sync.VinylQuerySet[Any]):
    def long(self) -> Any:
        return self.filter(pages__gt=300)

    def titled(self, prefix: str) -> Any:
        return self.filter(title__startswith=prefix).order_by("title")


class Bin(models.Model):
    title = models.CharField(max_length=100)
    pages = models.IntegerField()
    room = models.ForeignKey(Room, models.CASCADE, null=True, related_name="bins")

    objects = models.Manager.from_queryset(ShelfQuerySet)()
    avinyl = vinyl_async.VinylManager.from_queryset(AsyncBinQuerySet)()
    vinyl = vinyl_sync.VinylManager.from_queryset(SyncBinQuerySet)()

    class Meta:
        app_label = "vinyl_testapp"


class Document(AppModel):
    """A file field: its attribute is a ``FieldFile``, as in Django."""

    name = models.CharField(max_length=50)
    file = models.FileField(null=True, db_column="file_field")


class VisibleClubs(models.Manager["Club"]):
    def get_queryset(self) -> models.QuerySet[Any]:
        return super().get_queryset().filter(visible=True)


class Club(models.Model):
    """Its base manager filters (``Meta.base_manager_name``, as Django's ``many_to_one``
    School in its test): a relation to a hidden club finds nothing, in Django and in vinyl.
    """

    visible = models.BooleanField()
    founder = models.OneToOneField("Member", models.SET_NULL, null=True, related_name="founded")
    objects = VisibleClubs()
    everyone = models.Manager()
    avinyl = vinyl_async.VinylManager()
    vinyl = vinyl_sync.VinylManager()

    class Meta:
        app_label = "vinyl_testapp"
        base_manager_name = "objects"


class Member(AppModel):
    """Reaches a club three ways: a foreign key, a reverse one-to-one, a generic key."""

    club = models.ForeignKey(Club, models.SET_NULL, null=True, related_name="+")
    content_type = models.ForeignKey(
        "contenttypes.ContentType", models.CASCADE, null=True, related_name="+"
    )
    object_id = models.PositiveIntegerField(null=True)
    favourite = GenericForeignKey("content_type", "object_id")

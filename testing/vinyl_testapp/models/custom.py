"""Models for issue 14's gaps: custom querysets and managers (``from_queryset()`` in each
flavor), and a file field.

``Shelf`` carries one Django ``QuerySet`` subclass for Django's manager (the oracle) and for
both vinyl flavors (``avinyl`` / ``vinyl``, as in ``library``); ``Bin`` carries a subclass of
each flavor's ``VinylQuerySet``.
"""

from __future__ import annotations

from typing import Any

import vinyl_async
import vinyl_sync
from django.db import models

from vinyl_testapp.models.base import AppModel


class ShelfQuerySet(models.QuerySet[Any]):
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


class AsyncBinQuerySet(vinyl_async.VinylQuerySet[Any]):
    def long(self) -> Any:
        return self.filter(pages__gt=300)

    def titled(self, prefix: str) -> Any:
        return self.filter(title__startswith=prefix).order_by("title")


class SyncBinQuerySet(vinyl_sync.VinylQuerySet[Any]):
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

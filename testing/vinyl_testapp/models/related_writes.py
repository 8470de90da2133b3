"""Models for the related-manager write scenarios (issue 16) that ``writes`` lacks.

A symmetrical many-to-many to self (``RPerson.friends``), a many-to-many to a model with a
unique field (``RPerson.tags``: ``get_or_create()`` through it can violate it), and a model
whose default manager filters (``RFan.objects``: Django's related managers of ``idol``,
``liked`` and ``fan_things`` see only fans with ``fun=True``, and remove only those).
``fan_things``'s ``related_query_name`` gives each fan ``thing_people``: the persons whose
``fan_things`` hold it, which Django reads as a reverse relation through the generic one.

Each model has Django's ``objects`` (the oracle) and both vinyl flavors (``avinyl`` /
``vinyl``). The scenarios create their rows themselves; nothing seeds these tables.
"""

from __future__ import annotations

from typing import Any

import vinyl_async
import vinyl_sync
from django.contrib.contenttypes.fields import GenericForeignKey, GenericRelation
from django.contrib.contenttypes.models import ContentType
from django.db import models

from vinyl_testapp.models.base import AppModel

__all__ = ["FunFans", "RFan", "RPerson", "RTag"]


class RTag(AppModel):
    name = models.CharField(max_length=50, unique=True)


class RPerson(AppModel):
    name = models.CharField(max_length=50)
    friends = models.ManyToManyField("self", blank=True)
    tags = models.ManyToManyField(RTag, related_name="people", blank=True)
    fan_things = GenericRelation("RFan", related_query_name="thing_people")


class FunFans(models.Manager["RFan"]):
    """Only the fans with ``fun=True`` (Django's ``custom_managers.FunPeopleManager``)."""

    def get_queryset(self) -> models.QuerySet[Any]:
        return super().get_queryset().filter(fun=True)

    def named(self, prefix: str) -> models.QuerySet[Any]:
        """A method of the default manager's own: Django's related managers have it too."""
        return self.filter(name__startswith=prefix).order_by("name")


class RFan(models.Model):
    name = models.CharField(max_length=50)
    fun = models.BooleanField(default=True)
    idol = models.ForeignKey(RPerson, models.SET_NULL, null=True, related_name="fans")
    liked = models.ManyToManyField(RPerson, related_name="likers", blank=True)
    content_type = models.ForeignKey(ContentType, models.CASCADE, null=True, related_name="+")
    object_id = models.PositiveIntegerField(null=True)
    thing = GenericForeignKey("content_type", "object_id")

    objects = FunFans()  # the default manager: Django's related managers subclass it
    everyone = models.Manager()
    avinyl = vinyl_async.VinylManager()
    vinyl = vinyl_sync.VinylManager()

    class Meta:
        app_label = "vinyl_testapp"

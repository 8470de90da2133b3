"""Models for the queryset-write tests (``test_bulk``) that the write suite's models lack."""

from __future__ import annotations

import vinyl_async
import vinyl_sync
from django.db import models

from vinyl_testapp.models.writes import WTarget

__all__ = ["BStep"]


class BStep(models.Model):
    """Ordered within its target (``order_with_respect_to``): Django 6 numbers ``_order``
    in ``bulk_create()`` after the largest of each target, which it reads first."""

    name = models.CharField(max_length=50)
    target = models.ForeignKey(WTarget, models.CASCADE, related_name="steps")

    objects = models.Manager()
    avinyl = vinyl_async.VinylManager()
    vinyl = vinyl_sync.VinylManager()

    class Meta:
        app_label = "vinyl_testapp"
        order_with_respect_to = "target"

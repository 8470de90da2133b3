"""Models for the queryset-write tests (``test_bulk``) that the write suite's models lack."""

from __future__ import annotations

from django.db import models

from vinyl_testapp.models.base import AppModel
from vinyl_testapp.models.writes import WTarget

__all__ = ["BStep"]


class BStep(AppModel):
    """Ordered within its target (``order_with_respect_to``): Django 6 numbers ``_order``
    in ``bulk_create()`` after the largest of each target, which it reads first."""

    name = models.CharField(max_length=50)
    target = models.ForeignKey(WTarget, models.CASCADE, related_name="steps")

    class Meta(AppModel.Meta):
        order_with_respect_to = "target"

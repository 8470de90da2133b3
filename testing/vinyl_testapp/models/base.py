"""The test models' common base: Django's manager and both vinyl flavors."""

import vinyl_async
import vinyl_sync
from django.db import models

__all__ = ["AppModel"]


class AppModel(models.Model):
    """Abstract: ``objects`` (Django's, the oracle and the seed), ``avinyl`` (vinyl_async)
    and ``vinyl`` (vinyl_sync), inherited by each subclass.

    ``objects`` is the only Django manager here, so it is the subclasses' default manager.
    A subclass that declares ``class Meta`` extends ``AppModel.Meta`` (Django then sets
    ``abstract = False`` on it), to keep ``app_label``.
    """

    objects = models.Manager()
    avinyl = vinyl_async.VinylManager()
    vinyl = vinyl_sync.VinylManager()

    class Meta:
        abstract = True
        app_label = "vinyl_testapp"

"""A model that overrides ``save()`` and ``delete()``, which vinyl's writes do not run."""

import vinyl_async
import vinyl_sync
from django.db import models


class Stamped(models.Model):
    name = models.CharField(max_length=50)
    #: What the overrides count: they run on Django's writes, never on vinyl's.
    saves = models.IntegerField(default=0)

    objects = models.Manager()
    avinyl = vinyl_async.VinylManager()
    vinyl = vinyl_sync.VinylManager()

    class Meta:
        app_label = "vinyl_testapp"

    def save(self, *args: object, **kwargs: object) -> None:
        self.saves += 1
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise RuntimeError("Stamped objects are never deleted through Django.")

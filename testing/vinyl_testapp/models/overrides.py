"""A model that overrides ``save()`` and ``delete()``, which vinyl's writes do not run."""

from django.db import models

from vinyl_testapp.models.base import AppModel


class Stamped(AppModel):
    name = models.CharField(max_length=50)
    #: What the overrides count: they run on Django's writes, never on vinyl's.
    saves = models.IntegerField(default=0)

    def save(self, *args: object, **kwargs: object) -> None:
        self.saves += 1
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise RuntimeError("Stamped objects are never deleted through Django.")

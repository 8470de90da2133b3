"""``VinylManager``: the entry point next to ``objects`` (``vinyl = VinylManager(using=...)``).

It is a plain descriptor, not a Django ``Manager``: Django never registers it in
``_meta.managers``, so it can never become the model's ``_default_manager`` or
``_base_manager``, whatever order the managers are declared in, and ``objects``
behaves exactly as without vinyl.
"""

from __future__ import annotations

from django.db.models import Model
from vinyl.model._async.queryset import QuerySetMethods, VinylQuerySet

__all__ = ["VinylManager"]


class VinylManager(QuerySetMethods):
    """Run the model's queries through vinyl on the alias *using* (``default`` if omitted).

    ``M.vinyl.using(alias)`` returns a queryset on another alias. Every queryset method
    (``filter``, ``get``, ``count``...) is available on the manager, as in Django.
    """

    def __init__(self, using: str = "default") -> None:
        self.using_alias = using
        self.model: type[Model] | None = None
        self._bound: dict[type[Model], VinylManager] = {}

    def __get__(self, instance: Model | None, owner: type[Model]) -> VinylManager:
        if instance is not None:
            raise AttributeError(
                f"Manager isn't accessible via {owner.__name__} instances; "
                f"use it on the class {owner.__name__}."
            )
        if owner._meta.abstract:
            raise AttributeError(f"Manager isn't available; {owner._meta.object_name} is abstract")
        model = owner._meta.model
        if model not in self._bound:
            bound = VinylManager(self.using_alias)
            bound.model = model
            self._bound[model] = bound
        return self._bound[model]

    def get_queryset(self) -> VinylQuerySet:
        """Return a new queryset of every object of the model, on the manager's alias."""
        if self.model is None:
            raise TypeError("VinylManager is used through a model class: M.vinyl.all().")
        return VinylQuerySet(self.model, using=self.using_alias)

    def __repr__(self) -> str:
        model = self.model.__name__ if self.model else "unbound"
        return f"<VinylManager of {model} on {self.using_alias!r}>"

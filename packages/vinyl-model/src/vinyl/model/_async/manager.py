"""``VinylManager``: vinyl's entry point on a model, next to ``objects`` or as ``objects``.

It is a plain descriptor, not a Django ``Manager``: Django never registers it in
``_meta.managers``, so it never becomes the model's ``_default_manager`` or
``_base_manager``. Written as ``objects = VinylManager()``, it is ``M.objects``, and a
plain Django manager named ``objects`` is registered in its place in ``_meta``, where
Django's machinery (admin, serializers, forms, related lookups) finds its default manager.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS
from django.db.models import Manager, Model
from vinyl.model._async.manager_methods import ManagerMethods
from vinyl.model._async.queryset import VinylQuerySet

__all__ = ["VinylManager", "default_alias"]


class VinylManager(ManagerMethods[Any]):
    """Run the model's queries through vinyl on the alias *using*.

    Without *using*, the alias is ``default`` when it has a vinyl ENGINE, else the only
    alias that has one (see :func:`default_alias`). ``M.vinyl.using(alias)`` returns a
    queryset on another alias. Every queryset method (``filter``, ``get``, ``count``...) is
    available on the manager, as in Django.
    """

    def __init__(self, using: str | None = None) -> None:
        self.using_alias = using
        self.name: str | None = None
        self._bound: dict[type[Model], VinylManager] = {}
        # Created now, in declaration order: if this manager is named ``objects``, Django's
        # default manager is a plain one at the place the user declared vinyl's.
        self._django_manager: Manager[Any] = Manager()

    def contribute_to_class(self, cls: type[Model], name: str) -> None:
        """Install the manager on *cls* as *name* (Django's ``ModelBase`` calls this).

        Django's ``_prepare()`` would put a plain ``objects = Manager()`` over an ``objects``
        attribute that is not a Django manager. When *name* is ``objects``, a plain
        manager is registered in ``_meta`` under that name instead (Django's machinery uses
        it), and the class attribute stays vinyl's.
        """
        self.name = name
        if name == "objects":
            self._django_manager.contribute_to_class(cls, name)
        setattr(cls, name, self)

    def __get__[O: Model](self, instance: O | None, owner: type[O]) -> ManagerMethods[O]:
        """Return the manager bound to the model *owner* (its methods typed for *owner*)."""
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
            bound.name = self.name
            self._bound[model] = bound
        return self._bound[model]

    def get_queryset(self) -> VinylQuerySet[Any]:
        """Return a new queryset of every object of the model, on the manager's alias."""
        model = getattr(self, "model", None)
        if model is None:
            raise TypeError("VinylManager is used through a model class: M.vinyl.all().")
        # Every read through the manager starts here: no detour through using().
        return VinylQuerySet(model, using=self.using_alias or default_alias())

    def using(self, alias: str | None) -> VinylQuerySet[Any]:
        """Return a queryset of every object of the model on the vinyl alias *alias*.

        With ``None``, Django's router picks the alias, as ``using(None)`` in Django.
        """
        model = getattr(self, "model", None)
        if model is None:
            raise TypeError("VinylManager is used through a model class: M.vinyl.all().")
        return VinylQuerySet(model, using=alias)

    def __repr__(self) -> str:
        model = getattr(self, "model", None)
        alias = self.using_alias or "the default vinyl alias"
        return f"<VinylManager of {model.__name__ if model else 'unbound'} on {alias!r}>"


def default_alias() -> str:
    """Return the alias a ``VinylManager()`` without ``using`` reads on.

    ``default`` when its ENGINE is vinyl's; else the only alias with a vinyl ENGINE.
    Raise ``ImproperlyConfigured`` naming the candidates when there is none, or several.
    """
    vinyl_aliases = [
        alias
        for alias, config in settings.DATABASES.items()
        if str(config.get("ENGINE", "")).startswith("vinyl.")
    ]
    if DEFAULT_DB_ALIAS in vinyl_aliases:
        return DEFAULT_DB_ALIAS
    if len(vinyl_aliases) == 1:
        return vinyl_aliases[0]
    if not vinyl_aliases:
        raise ImproperlyConfigured(
            "VinylManager() has no database alias: no DATABASES entry has a vinyl ENGINE "
            "('vinyl.postgresql_backend', 'vinyl.mysql_backend'). Add one, or name the alias "
            "with VinylManager(using='...')."
        )
    raise ImproperlyConfigured(
        f"VinylManager() has no database alias and several DATABASES entries have a vinyl "
        f"ENGINE ({', '.join(map(repr, vinyl_aliases))}): name one with "
        f"VinylManager(using='...')."
    )

"""``VinylManager``: vinyl's entry point on a model, next to ``objects`` or as ``objects``.

It is a plain descriptor, not a Django ``Manager``: Django never registers it in
``_meta.managers``, so it never becomes the model's ``_default_manager`` or
``_base_manager``. Written as ``objects = VinylManager()``, it is ``M.objects``, and a
plain Django manager named ``objects`` is registered in its place in ``_meta``, where
Django's machinery (admin, serializers, forms, related lookups) finds its default manager.
"""

from __future__ import annotations

import copy
import functools
from typing import TYPE_CHECKING, Any, ClassVar, cast

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.db import DEFAULT_DB_ALIAS, router
from django.db.models import Manager, Model, QuerySet
from vinyl.model._async.manager_methods import ManagerMethods
from vinyl.model._async.queryset import VinylQuerySet
from vinyl.model._custom import queryset_methods

__all__ = ["CustomManagerMethods", "VinylManager", "default_alias", "routers_pick_databases"]


class VinylManager(ManagerMethods[Any]):
    """Run the model's queries through vinyl on the alias *using*.

    Without *using*, Django's router picks each queryset's alias (reads and writes apart,
    as for Django's managers) when ``DATABASE_ROUTERS`` has a router that picks databases
    (:func:`routers_pick_databases`); else the alias is ``default`` when it has a vinyl
    ENGINE, or the only alias that has one (:func:`default_alias`). ``M.vinyl.using(alias)``
    returns a queryset on another alias. Every queryset method (``filter``, ``get``,
    ``count``...) is available on the manager, as in Django.

    ``VinylManager.from_queryset(MyQuerySet)()`` is a manager whose queryset is a
    ``MyQuerySet`` and which has its public methods, as Django's ``from_queryset()``.
    """

    #: The class of the manager's querysets: the flavor's ``VinylQuerySet`` or a subclass.
    _queryset_class: ClassVar[type[VinylQuerySet[Any]]] = VinylQuerySet

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
            # A copy, so that a subclass (from_queryset(), custom methods) stays itself.
            bound = copy.copy(self)
            bound._bound = {}
            bound.model = model
            self._bound[model] = bound
        return self._bound[model]

    @classmethod
    def from_queryset(
        cls, queryset_class: type[QuerySet[Any]], class_name: str | None = None
    ) -> type[CustomVinylManager]:
        """Return a manager class whose querysets are *queryset_class*'s, with its methods.

        As Django's ``Manager.from_queryset()``: each public method of *queryset_class*
        that the manager lacks runs on a new ``get_queryset()``. *queryset_class* is a
        subclass of this flavor's ``VinylQuerySet``, or of Django's ``QuerySet``, whose
        methods then run on a vinyl queryset (its own class, with ``VinylQuerySet``'s
        reads): one queryset class serves Django's manager and both flavors.
        """
        vinyl_class = vinyl_queryset_class(queryset_class)
        attrs: dict[str, Any] = {"_queryset_class": vinyl_class, "__module__": cls.__module__}
        for name, method in queryset_methods(queryset_class, VinylQuerySet).items():
            if not hasattr(cls, name):
                attrs[name] = _manager_method(name, method)
        bases = (cls,) if issubclass(cls, CustomVinylManager) else (CustomVinylManager, cls)
        name = class_name or f"{cls.__name__}From{queryset_class.__name__}"
        made: type[CustomVinylManager] = type(name, bases, attrs)
        return made

    def get_queryset(self) -> VinylQuerySet[Any]:
        """Return a new queryset of every object of the model, on the manager's alias."""
        # Every read through the manager starts here: no detour through using().
        alias = self.using_alias
        if alias is None and not routers_pick_databases():
            alias = default_alias()
        return self._queryset_class(model=self._model(), using=alias)

    def using(self, alias: str | None) -> VinylQuerySet[Any]:
        """Return a queryset of every object of the model on the vinyl alias *alias*.

        With ``None``, Django's router picks the alias, as ``using(None)`` in Django.
        """
        model = self._model()
        if type(self).get_queryset is not VinylManager.get_queryset:
            # A get_queryset() of the user's (a filter...) applies on every alias.
            return self.get_queryset().using(alias)
        return self._queryset_class(model=model, using=alias)

    def _model(self) -> type[Model]:
        """Return the model the manager is bound to; raise ``TypeError`` if unbound."""
        model: type[Model] | None = getattr(self, "model", None)
        if model is None:
            raise TypeError("VinylManager is used through a model class: M.vinyl.all().")
        return model

    def __repr__(self) -> str:
        model = getattr(self, "model", None)
        alias = self.using_alias or "the default vinyl alias"
        return f"<VinylManager of {model.__name__ if model else 'unbound'} on {alias!r}>"


class CustomManagerMethods[M: Model](ManagerMethods[M]):
    """The typed manager methods, plus a custom queryset's (typed ``Any``)."""

    if TYPE_CHECKING:

        def __getattr__(self, name: str) -> Any: ...


class CustomVinylManager(VinylManager):
    """A manager made by :meth:`VinylManager.from_queryset`, with a custom queryset's methods."""

    def __get__[O: Model](self, instance: O | None, owner: type[O]) -> CustomManagerMethods[O]:
        """Return the manager bound to the model *owner* (its methods typed for *owner*)."""
        return cast(CustomManagerMethods[O], super().__get__(instance, owner))


#: The vinyl class of each Django ``QuerySet`` subclass given to ``from_queryset()``.
_vinyl_classes: dict[type[QuerySet[Any]], type[VinylQuerySet[Any]]] = {}


def vinyl_queryset_class(queryset_class: type[QuerySet[Any]]) -> type[VinylQuerySet[Any]]:
    """Return the vinyl queryset class for *queryset_class*.

    A subclass of this flavor's ``VinylQuerySet`` is itself; a subclass of Django's
    ``QuerySet`` becomes a subclass of both (``VinylQuerySet`` first, for the reads),
    made once.
    """
    if issubclass(queryset_class, VinylQuerySet):
        return queryset_class
    if not isinstance(queryset_class, type) or not issubclass(queryset_class, QuerySet):
        raise TypeError(
            f"VinylManager.from_queryset() takes a QuerySet subclass (Django's QuerySet or "
            f"VinylQuerySet), not {queryset_class!r}."
        )
    if hasattr(queryset_class, "_shape"):
        raise TypeError(
            f"{queryset_class.__qualname__} is a queryset of the other vinyl flavor: subclass "
            f"the VinylQuerySet of the flavor whose VinylManager takes it, or subclass "
            f"Django's QuerySet, which both flavors take."
        )
    made = _vinyl_classes.get(queryset_class)
    if made is None:
        attrs = {
            "__module__": queryset_class.__module__,
            "__qualname__": queryset_class.__qualname__,
            "__doc__": queryset_class.__doc__,
        }
        made = _vinyl_classes[queryset_class] = type(
            queryset_class.__name__, (VinylQuerySet, queryset_class), attrs
        )
    return made


def _manager_method(name: str, method: Any) -> Any:
    @functools.wraps(method)
    def manager_method(self: VinylManager, *args: Any, **kwargs: Any) -> Any:
        return getattr(self.get_queryset(), name)(*args, **kwargs)

    return manager_method


@functools.cache
def default_alias() -> str:
    """Return the alias a ``VinylManager()`` without ``using`` reads on.

    ``default`` when its ENGINE is vinyl's; else the only alias with a vinyl ENGINE.
    Raise ``ImproperlyConfigured`` naming the candidates when there is none, or several.
    Worked out once (every read of such a manager asks), again when ``DATABASES`` changes.
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


@functools.cache
def routers_pick_databases() -> bool:
    """Return whether a router of ``DATABASE_ROUTERS`` picks databases for reads or writes.

    A router that only answers ``allow_migrate()`` does not. Worked out once (every read of
    a ``VinylManager()`` without ``using`` asks), again when ``DATABASE_ROUTERS`` changes.
    """
    return any(
        hasattr(each, "db_for_read") or hasattr(each, "db_for_write") for each in router.routers
    )


def _forget_default_alias(*, setting: str, **kwargs: Any) -> None:
    if setting == "DATABASES":
        default_alias.cache_clear()
    elif setting == "DATABASE_ROUTERS":
        routers_pick_databases.cache_clear()


setting_changed.connect(_forget_default_alias)

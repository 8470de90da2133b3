"""Mode 3: every manager of every test model becomes vinyl_sync's ``VinylManager``.

This is what ``objects = VinylManager()`` does in a user's model: ``M.objects`` (and every
other manager attribute) reads through vinyl, while ``M._meta`` keeps Django's managers, so
``_default_manager``, ``_base_manager`` and Django's related managers stay Django's.

A manager of a custom class becomes what a user would write:
``VinylManager.from_queryset(TheirQuerySet)`` when vinyl has ``from_queryset`` (else a plain
``VinylManager``, and the tests that call the queryset's methods fail and are listed),
subclassed by a copy of each of the user's own manager classes (their ``get_queryset()``
overrides and extra methods, ``super()`` pointing along the copy), built with the
arguments the manager was built with.

**Runner-only write fallback.** vinyl's model layer does not write yet (writes raise
``NotSupportedError``). So that the tests can set up and change their data, this module
patches vinyl_sync's classes *in this process only* so that writes run Django's own code on
Django's connection: queryset ``create``, ``get_or_create``, ``update_or_create``,
``bulk_create``, ``bulk_update``, ``update``, ``delete``; instance ``save`` and
``delete``; related managers' ``add``, ``remove``, ``set``, ``clear``, ``create``... Reads
always go through vinyl. The write issues remove this fallback app by app.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from django.apps import apps
from django.db.models import Manager, Model, QuerySet

#: The Django test apps' models only; contrib apps (auth, contenttypes...) keep Django's.
CONTRIB = ("django.",)

QUERYSET_WRITES = (
    "create",
    "get_or_create",
    "update_or_create",
    "bulk_create",
    "bulk_update",
    "update",
    "delete",
)
MANAGER_WRITES = (
    "create",
    "get_or_create",
    "update_or_create",
    "bulk_create",
    "bulk_update",
    "update",
)
RELATED_WRITES = (
    "add",
    "remove",
    "set",
    "clear",
    "create",
    "get_or_create",
    "update_or_create",
    "bulk_create",
)

#: What the fallback ran, by method, for the run's log.
fallback_calls: dict[str, int] = {}
#: Managers that could not be rebuilt as the user's class, with why.
translation_notes: list[str] = []


def install() -> None:
    """Replace the test models' managers and install the write fallback."""
    from vinyl_sync import VinylManager

    _install_write_fallback()
    replaced = 0
    for model in apps.get_models():
        if model.__module__.startswith(CONTRIB):
            continue
        for manager in model._meta.managers:
            if not manager.name:
                continue
            vinyl_manager = _vinyl_manager_for(manager, VinylManager)
            vinyl_manager.name = manager.name
            setattr(model, manager.name, vinyl_manager)
            replaced += 1
    print(
        f"parity: mode 3: {replaced} managers replaced by vinyl_sync.VinylManager; "
        f"writes fall back to Django's own code (runner-only, see parity/README.md)",
        file=sys.stderr,
    )
    for note in sorted(set(translation_notes)):
        print(f"parity: mode 3: {note}", file=sys.stderr)


def _vinyl_manager_for(manager: Manager[Any], vinyl_manager: type[Any]) -> Any:
    django_class = type(manager)
    queryset_class = getattr(manager, "_queryset_class", QuerySet)
    base = vinyl_manager
    if queryset_class is not QuerySet:
        if hasattr(vinyl_manager, "from_queryset"):
            base = vinyl_manager.from_queryset(queryset_class)
        else:
            translation_notes.append(
                f"no VinylManager.from_queryset: {queryset_class.__qualname__}'s methods are "
                f"missing on vinyl's managers"
            )
    # The user's own manager classes, outermost last; Django's (Manager, the classes
    # from_queryset() generates) are vinyl's to provide.
    own = [
        klass
        for klass in reversed(django_class.__mro__)
        if issubclass(klass, Manager) and not klass.__module__.startswith(CONTRIB)
    ]
    cls = base
    for klass in own:
        cls = _copy_class(klass, cls)
    if cls is base:
        return base()
    args, kwargs = getattr(manager, "_constructor_args", ((), {}))
    try:
        return cls(*args, **kwargs)
    except Exception as exc:  # the user's __init__ may want Django's manager
        translation_notes.append(f"{django_class.__qualname__}(...) failed on vinyl: {exc!r}")
        return base()


def _copy_class(klass: type, base: type) -> type:
    """Return a subclass of *base* with *klass*'s own attributes (``super()`` re-pointed)."""
    namespace: dict[str, Any] = {}
    for name, value in vars(klass).items():
        if name in {"__dict__", "__weakref__", "__module__", "__qualname__", "__doc__"}:
            continue
        namespace[name] = value
    new = type(klass.__name__, (base,), namespace)
    new.__module__ = klass.__module__
    for name, value in list(namespace.items()):
        setattr(new, name, _rebind(value, klass, new))
    return new


def _rebind(value: Any, old: type, new: type) -> Any:
    """Return *value* with zero-argument ``super()`` (the ``__class__`` cell) on *new*."""
    if isinstance(value, staticmethod | classmethod):
        return type(value)(_rebind(value.__func__, old, new))
    if isinstance(value, property):
        return property(
            *(_rebind(f, old, new) if f else None for f in (value.fget, value.fset, value.fdel)),
            value.__doc__,
        )
    if not isinstance(value, types.FunctionType) or "__class__" not in value.__code__.co_freevars:
        return value
    closure = tuple(
        types.CellType(new) if name == "__class__" else cell
        for name, cell in zip(value.__code__.co_freevars, value.__closure__ or (), strict=True)
    )
    function = types.FunctionType(
        value.__code__, value.__globals__, value.__name__, value.__defaults__, closure
    )
    function.__kwdefaults__ = value.__kwdefaults__
    function.__dict__.update(value.__dict__)
    function.__qualname__ = value.__qualname__
    return function


def _counted(name: str) -> None:
    fallback_calls[name] = fallback_calls.get(name, 0) + 1


def _install_write_fallback() -> None:
    from vinyl.model._sync.instance import VinylInstance, to_vinyl
    from vinyl.model._sync.manager_methods import ManagerMethods
    from vinyl.model._sync.queryset import VinylQuerySet
    from vinyl.model._sync.related import RelatedManager

    def as_vinyl(result: Any) -> Any:
        # A vinyl write would return vinyl instances; Django's code returned its own.
        if isinstance(result, Model):
            to_vinyl([result], VinylQuerySet)
        elif isinstance(result, tuple) and result and isinstance(result[0], Model):
            to_vinyl([result[0]], VinylQuerySet)
        elif isinstance(result, list) and all(isinstance(obj, Model) for obj in result):
            to_vinyl(result, VinylQuerySet)
        return result

    def queryset_write(name: str) -> Any:
        django_method = getattr(QuerySet, name)

        def method(self: Any, *args: Any, **kwargs: Any) -> Any:
            _counted(f"QuerySet.{name}")
            django_queryset = QuerySet(model=self.model, query=self.query.chain(), using=self._db)
            django_queryset._for_write = self._for_write
            return as_vinyl(django_method(django_queryset, *args, **kwargs))

        method.__name__ = name
        return method

    def manager_write(name: str) -> Any:
        def method(self: Any, *args: Any, **kwargs: Any) -> Any:
            return getattr(self.get_queryset(), name)(*args, **kwargs)

        method.__name__ = name
        return method

    def related_write(name: str) -> Any:
        def method(self: Any, *args: Any, **kwargs: Any) -> Any:
            _counted(f"RelatedManager.{name}")
            django_manager = self.descriptor.related_manager_cls(self.instance)
            return as_vinyl(getattr(django_manager, name)(*args, **kwargs))

        method.__name__ = name
        return method

    def save(self: Any, *args: Any, **kwargs: Any) -> None:
        _counted("Model.save")
        Model.save(self, *args, **kwargs)

    def delete(self: Any, *args: Any, **kwargs: Any) -> Any:
        _counted("Model.delete")
        return Model.delete(self, *args, **kwargs)

    for name in QUERYSET_WRITES:
        setattr(VinylQuerySet, name, queryset_write(name))
    for name in MANAGER_WRITES:
        setattr(ManagerMethods, name, manager_write(name))
    for name in RELATED_WRITES:
        setattr(RelatedManager, name, related_write(name))
    VinylInstance.save = save  # type: ignore[method-assign]
    VinylInstance.delete = delete  # type: ignore[method-assign]

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

**No write fallback.** Writes go through vinyl too (issue 15: ``save()``, ``delete()``,
queryset ``create``/``get_or_create``/``update_or_create``/``bulk_create``/``bulk_update``/
``update``/``delete``, the related managers' ``add``/``remove``/``set``/``clear``/``create``...),
on vinyl's own connections, with vinyl's semantics (no signals, a model's own ``save()``/
``delete()`` override not run). Until then this module patched vinyl_sync's write methods to run
Django's own code on Django's connection; nothing of it is left, because vinyl now writes
everywhere Django's managers do. Django's own code still writes where a test calls it
directly (``M._default_manager``, ``Model.save()`` on an instance built with ``M(...)``: README
difference 7) - that is the test's code, not a fallback.
"""

from __future__ import annotations

import sys
import types
from collections import Counter
from typing import Any

from django.apps import apps
from django.db.models import Manager, Model, QuerySet

#: The Django test apps' models only; contrib apps (auth, contenttypes...) keep Django's.
CONTRIB = ("django.",)

#: Managers that could not be rebuilt as the user's class, with why.
translation_notes: list[str] = []
#: What the running test did that vinyl does differently on purpose: event -> how many
#: times. The test runner empties it before each test and appends it to a failing test's
#: message (``EVIDENCE_PREFIX``), where ``parity/classify.py`` reads it. Only facts the
#: runner observed go in.
evidence: Counter[str] = Counter()
EVIDENCE_PREFIX = "parity-evidence: "
#: Event keys (classify.py matches them).
REQUERIED = "difference-1: a relation Django would read from its cache was queried"
SIGNALLED = "difference-2: a vinyl write ran while a receiver was connected to a model signal"
OVERRIDE = "difference-6: a vinyl save()/delete() skipped the model's own override"
#: The signals Django's writes send and vinyl's do not (README difference 2), and the
#: receivers each had when the running test started.
_WRITE_SIGNALS = ("pre_save", "post_save", "pre_delete", "post_delete", "m2m_changed")
_receivers_before: dict[str, set[Any]] = {name: set() for name in _WRITE_SIGNALS}
#: Forward relations already read in this test: Django caches them on the instance.
_read_relations: set[tuple[int, str, tuple[Any, ...]]] = set()


def reset_evidence() -> None:
    """Forget what the previous test did (called before each test)."""
    evidence.clear()
    # Receivers connected before the test (Django's own, the apps' models modules, one an
    # earlier test left connected) are not this test's: only one it connects counts.
    from django.db.models import signals

    for name in _WRITE_SIGNALS:
        _receivers_before[name] = _receiver_keys(getattr(signals, name))
    _read_relations.clear()


def evidence_line() -> str:
    """Return ``parity-evidence: {...}`` for a failing test's message, or ``""``."""
    if not evidence:
        return ""
    import json

    return "\n" + EVIDENCE_PREFIX + json.dumps(dict(sorted(evidence.items()))) + "\n"


def install() -> None:
    """Replace the test models' managers by vinyl's and start watching for evidence."""
    from vinyl_sync import VinylManager

    _install_evidence()
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
        f"reads and writes go through vinyl (no write fallback)",
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


def _install_evidence() -> None:
    """Record, per test, what explains a difference: see ``evidence``."""
    from vinyl.model._sync.related import ForwardRelation, GenericObject, ReverseOneRelation
    from vinyl.model._sync.related_managers import RelatedManager

    def one_object(descriptor_class: type[Any], cached: Any) -> None:
        fetch = descriptor_class.fetch

        def wrapper(self: Any, instance: Model) -> Any:
            # Django answers from the instance's cache: what select_related() loaded, or
            # what an earlier access read (vinyl queries every time: difference 1).
            name = self.django.__class__.__name__
            key = (id(instance), f"{name}.{_relation_name(self)}", _key_values(self, instance))
            if cached(self, instance) or key in _read_relations:
                evidence[REQUERIED] += 1
            _read_relations.add(key)
            return fetch(self, instance)

        descriptor_class.fetch = wrapper  # type: ignore[method-assign]

    one_object(ForwardRelation, lambda self, obj: self.django.field.is_cached(obj))
    one_object(ReverseOneRelation, lambda self, obj: self.django.related.is_cached(obj))
    one_object(GenericObject, lambda self, obj: _generic_cached(self, obj))

    for method_name in ("all", "count", "exists"):
        method = getattr(RelatedManager, method_name)

        def many(self: Any, *args: Any, _method: Any = method, **kwargs: Any) -> Any:
            # Django's related manager returns what prefetch_related() loaded; vinyl's
            # queries (difference 1).
            if _prefetched(self):
                evidence[REQUERIED] += 1
            return _method(self, *args, **kwargs)

        many.__name__ = method_name
        setattr(RelatedManager, method_name, many)

    _install_write_evidence(RelatedManager)


def _install_write_evidence(related_manager: type[Any]) -> None:
    """Record a vinyl write made while a test listens to Django's model signals (difference
    2), and one that skipped a model's own ``save()``/``delete()`` (difference 6)."""
    from django.db.models import signals
    from vinyl.model._sync import instance as instance_module
    from vinyl.model._sync.queryset import VinylQuerySet

    def listened() -> bool:
        return any(
            _receiver_keys(getattr(signals, name)) - _receivers_before[name]
            for name in _WRITE_SIGNALS
        )

    def watched(method: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if listened():
                evidence[SIGNALLED] += 1
            return method(*args, **kwargs)

        wrapper.__name__ = method.__name__
        wrapper.__qualname__ = method.__qualname__
        return wrapper

    classes = [instance_module.VinylInstance, VinylQuerySet, *_subclasses(related_manager)]
    names = (
        "save",
        "delete",
        "create",
        "get_or_create",
        "update_or_create",
        "add",
        "remove",
        "set",
        "clear",
    )
    for klass in classes:
        for name in names:
            if name in vars(klass):
                setattr(klass, name, watched(vars(klass)[name]))

    warn = instance_module.warn_if_overridden

    def warn_if_overridden(model: type[Model], method: str) -> None:
        owner = next(klass for klass in model.__mro__ if method in vars(klass))
        if owner is not Model:
            evidence[OVERRIDE] += 1
        warn(model, method)

    instance_module.warn_if_overridden = warn_if_overridden


def _receiver_keys(signal: Any) -> set[Any]:
    return {receiver[0] for receiver in signal.receivers}


def _subclasses(klass: type[Any]) -> list[type[Any]]:
    found = [klass]
    for sub in klass.__subclasses__():
        found += _subclasses(sub)
    return found


def _relation_name(descriptor: Any) -> str:
    django = descriptor.django
    field = getattr(django, "field", None) or getattr(django, "related", None)
    return str(getattr(field, "name", None) or getattr(django, "name", "?"))


def _key_values(descriptor: Any, instance: Model) -> tuple[Any, ...]:
    """The values an access depends on (a changed foreign key is a new read in Django)."""
    field = getattr(descriptor.django, "field", None)
    if field is not None and hasattr(field, "get_local_related_value"):
        return tuple(field.get_local_related_value(instance))
    return (instance.pk,)


def _generic_cached(descriptor: Any, instance: Model) -> bool:
    from vinyl.model._descriptors_compat import generic_foreign_key

    gfk = generic_foreign_key(descriptor.django)
    return bool(gfk is not None and gfk.is_cached(instance))


def _prefetched(manager: Any) -> bool:
    """Return whether Django's related manager would answer from ``prefetch_related()``."""
    if not getattr(manager.instance, "_prefetched_objects_cache", None):
        return False
    try:
        django_manager = manager.descriptor.related_manager_cls(manager.instance)
        result = django_manager.get_queryset()
    except Exception:  # Django's manager refuses the instance (unsaved...): it would too
        return False
    return isinstance(result, list) or getattr(result, "_result_cache", None) is not None

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

import contextlib
import sys
import types
from collections import Counter
from collections.abc import Iterator
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
#: What the running test did that vinyl does differently on purpose, or that only the
#: runner's fallback causes: event -> how many times. The test runner empties it before each
#: test and appends it to a failing test's message (``EVIDENCE_PREFIX``), where
#: ``parity/classify.py`` reads it. Only facts the runner observed go in.
evidence: Counter[str] = Counter()
EVIDENCE_PREFIX = "parity-evidence: "
#: Event keys (classify.py matches them).
REQUERIED = "difference-1: a relation Django would read from its cache was queried"
STALE_READ = "writes: vinyl read while Django's connection held uncommitted fallback writes"
FALLBACK_READ = "writes: the fallback's Django code read a relation through vinyl's descriptor"
#: Depth of fallback writes running (Django's code reading vinyl's descriptors is theirs).
_in_fallback = [0]
#: Aliases on which the fallback wrote inside a transaction of Django's connection.
_written_in_transaction: set[str] = set()
#: Forward relations already read in this test: Django caches them on the instance.
_read_relations: set[tuple[int, str, tuple[Any, ...]]] = set()


def reset_evidence() -> None:
    """Forget what the previous test did (called before each test)."""
    evidence.clear()
    _written_in_transaction.clear()
    _read_relations.clear()


def evidence_line() -> str:
    """Return ``parity-evidence: {...}`` for a failing test's message, or ``""``."""
    if not evidence:
        return ""
    import json

    return "\n" + EVIDENCE_PREFIX + json.dumps(dict(sorted(evidence.items()))) + "\n"


def install() -> None:
    """Replace the test models' managers and install the write fallback."""
    from vinyl_sync import VinylManager

    _install_write_fallback()
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
    # A write inside a transaction of Django's connection stays invisible to vinyl's own
    # connections until it commits; remember it, so a vinyl read can check (_stale_read).
    from django.db import connections

    for alias in connections:
        connection = connections[alias]
        if connection.connection is not None and not connection.autocommit:
            _written_in_transaction.add(alias)


@contextlib.contextmanager
def _fallback() -> Iterator[None]:
    _in_fallback[0] += 1
    try:
        yield
    finally:
        _in_fallback[0] -= 1


def _uncommitted_writes(alias: str) -> bool:
    """Return whether Django's connection on *alias* holds uncommitted writes now.

    Asked of the server on the raw DB-API connection, so Django's query log does not see
    it (a test's assertNumQueries stays as it was).
    """
    from django.db import connections

    connection = connections[alias]
    raw = connection.connection
    if raw is None or connection.autocommit:
        return False
    if connection.vendor == "postgresql":
        sql = "SELECT txid_current_if_assigned() IS NOT NULL"
    else:
        sql = (
            "SELECT COALESCE(SUM(trx_rows_modified), 0) > 0 FROM information_schema.innodb_trx"
            " WHERE trx_mysql_thread_id = CONNECTION_ID()"
        )
    try:
        with raw.cursor() as cursor:
            cursor.execute(sql)
            row = cursor.fetchone()
    except Exception:  # an aborted transaction: no evidence either way
        return False
    return bool(row and row[0])


def _install_evidence() -> None:
    """Record, per test, what explains a difference: see ``evidence``."""
    from vinyl.model._sync import fetch as fetch_module
    from vinyl.model._sync.related import ForwardRelation, GenericObject, ReverseOneRelation

    RelatedManager, _ = _related_manager_class()

    def checked(read: Any) -> Any:
        def wrapper(alias: str, *args: Any, **kwargs: Any) -> Any:
            if alias in _written_in_transaction and _uncommitted_writes(alias):
                evidence[STALE_READ] += 1
            return read(alias, *args, **kwargs)

        return wrapper

    fetch_module.fetch_rows = checked(fetch_module.fetch_rows)
    fetch_module.fetch_with_columns = checked(fetch_module.fetch_with_columns)

    def one_object(descriptor_class: type[Any], cached: Any) -> None:
        fetch = descriptor_class.fetch

        def wrapper(self: Any, instance: Model) -> Any:
            # Django answers from the instance's cache: what select_related() loaded, or
            # what an earlier access read (vinyl queries every time: difference 1).
            name = self.django.__class__.__name__
            if _in_fallback[0]:
                evidence[FALLBACK_READ] += 1
                return fetch(self, instance)
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
            if _in_fallback[0]:
                evidence[FALLBACK_READ] += 1
            elif _prefetched(self):
                evidence[REQUERIED] += 1
            return _method(self, *args, **kwargs)

        many.__name__ = method_name
        setattr(RelatedManager, method_name, many)


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


def _related_manager_class() -> tuple[type[Any], bool]:
    """Return vinyl_sync's related manager base class, and whether it writes natively.

    Since vinyl-model's related managers write (``related_managers`` module: ``add``,
    ``remove``, ``set``, ``clear``, ``create``...), the fallback leaves them alone.
    """
    try:
        from vinyl.model._sync.related_managers import RelatedManager
    except ImportError:  # before the related managers wrote natively
        from vinyl.model._sync.related import RelatedManager  # type: ignore[attr-defined,no-redef]

        return RelatedManager, False
    return RelatedManager, True


def _install_write_fallback() -> None:
    from vinyl.model._sync.instance import VinylInstance, to_vinyl
    from vinyl.model._sync.manager_methods import ManagerMethods
    from vinyl.model._sync.queryset import VinylQuerySet

    RelatedManager, related_writes_native = _related_manager_class()

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
            with _fallback():
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
            with _fallback():
                return as_vinyl(getattr(django_manager, name)(*args, **kwargs))

        method.__name__ = name
        return method

    def save(self: Any, *args: Any, **kwargs: Any) -> None:
        _counted("Model.save")
        with _fallback():
            Model.save(self, *args, **kwargs)

    def delete(self: Any, *args: Any, **kwargs: Any) -> Any:
        _counted("Model.delete")
        with _fallback():
            return Model.delete(self, *args, **kwargs)

    for name in QUERYSET_WRITES:
        setattr(VinylQuerySet, name, queryset_write(name))
    for name in MANAGER_WRITES:
        setattr(ManagerMethods, name, manager_write(name))
    if not related_writes_native:
        for name in RELATED_WRITES:
            setattr(RelatedManager, name, related_write(name))
    VinylInstance.save = save  # type: ignore[method-assign]
    VinylInstance.delete = delete  # type: ignore[method-assign]

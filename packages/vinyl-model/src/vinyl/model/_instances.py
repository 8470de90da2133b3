"""vinyl's instance classes, and what ``obj[name]`` reads, without I/O.

A vinyl instance is an instance of a cached Python subclass of the user's model, built
with ``type.__new__(ModelBase, ...)``: that bypasses ``ModelBase.__new__``, so nothing
is registered in Django's app registry and ``_meta`` stays the model's own. The
subclass overrides each relation descriptor with the flavor's eager one and each field
descriptor with :class:`FieldAttribute`, which never loads a deferred field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.core import exceptions as django_exceptions
from django.core.exceptions import FieldDoesNotExist, FieldError
from django.db import models as django_models
from django.db import router
from django.db.models import Model, QuerySet
from django.db.models.base import ModelBase
from django.db.models.query_utils import DeferredAttribute
from vinyl.model._messages import not_fetched, not_loaded

#: Django 6.1's fetch mode that blocks on-demand fetching, and its error (a FieldError);
#: ``None`` and ``FieldError`` on Django 5.2, which has no fetch modes.
_FETCH_RAISE: object = getattr(django_models, "FETCH_RAISE", None)
_FETCH_BLOCKED: type[FieldError] = getattr(django_exceptions, "FieldFetchBlocked", FieldError)

__all__ = [
    "ConvertingFieldAttribute",
    "FieldAttribute",
    "alias_of",
    "SettableFieldAttribute",
    "build_instance_class",
    "field_attribute",
    "loaded",
    "peers",
    "read_alias",
    "swap_classes",
    "with_fetch_mode",
]


class FieldAttribute:
    """A concrete field's attribute on a vinyl instance: never fetched behind the user's back.

    Django's ``DeferredAttribute`` runs ``refresh_from_db()`` (a query) when a field that
    ``only()``/``defer()`` left out is read; this raises ``FieldError`` instead. It is a
    non-data descriptor, as Django's: a loaded value is read straight from the instance's
    ``__dict__``, and ``__get__`` runs only for a field that was not loaded.
    """

    def __init__(self, django: DeferredAttribute) -> None:
        self.django = django
        self.attname: str = django.field.attname

    def __get__(self, instance: Model | None, owner: type[Model] | None = None) -> Any:
        if instance is None:
            return self.django
        try:
            return instance.__dict__[self.attname]
        except KeyError:
            pass
        # A parent's primary key left out by only()/defer() is the child's parent link,
        # which is loaded: Django reads it from there without a query, and so does vinyl.
        django: Any = self.django  # _check_parent_chain is private: Django's stubs leave it out.
        value = django._check_parent_chain(instance)
        if value is None:
            raise _not_loaded(
                instance, django.field.name, not_fetched(instance, self.attname)
            ) from None
        instance.__dict__[self.attname] = value
        return value


class SettableFieldAttribute(FieldAttribute):
    """A :class:`FieldAttribute` for a field whose Django descriptor also runs on assignment.

    ``ForeignKeyDeferredAttribute`` drops the cached related object when the key changes,
    so this one stays a data descriptor and hands each assignment to Django's.
    """

    def __set__(self, instance: Model, value: Any) -> None:
        # The stubs type it as DeferredAttribute, which has no __set__; this one has.
        django: Any = self.django
        django.__set__(instance, value)


class ConvertingFieldAttribute(SettableFieldAttribute):
    """A :class:`SettableFieldAttribute` whose Django descriptor also converts on reading.

    ``FileDescriptor`` (``FileField``, ``ImageField``) turns the stored name into a
    ``FieldFile``: a loaded value is read through it, as in Django.
    """

    def __get__(self, instance: Model | None, owner: type[Model] | None = None) -> Any:
        if instance is None:
            return self.django
        if self.attname not in instance.__dict__:
            raise _not_loaded(
                instance, self.django.field.name, not_fetched(instance, self.attname)
            ) from None
        return self.django.__get__(instance, owner)

    def __set__(self, instance: Model, value: Any) -> None:
        django: Any = self.django
        if hasattr(django, "__set__"):
            django.__set__(instance, value)
        else:
            instance.__dict__[self.attname] = value


def field_attribute(django: DeferredAttribute) -> FieldAttribute:
    """Return the vinyl attribute replacing Django's descriptor *django* of a concrete field."""
    if type(django).__get__ is not DeferredAttribute.__get__:
        return ConvertingFieldAttribute(django)
    if hasattr(django, "__set__"):
        return SettableFieldAttribute(django)
    return FieldAttribute(django)


#: Turns one of Django's class attributes into the flavor's replacement, or ``None``.
Wrapper = Callable[[Any], Any]


def build_instance_class(
    model: type[Model], mixin: type, wrap: Wrapper, extra: dict[str, Any]
) -> type[Model]:
    """Return a new vinyl subclass of *model*: *mixin* first, then the wrapped descriptors.

    *extra* holds further class attributes (the flavor's queryset class).
    """
    attrs: dict[str, Any] = {
        "__module__": model.__module__,
        "__qualname__": model.__qualname__,
        "__doc__": model.__doc__,
        **extra,
    }
    if getattr(model, "__iter__", None) is None:
        # ``obj[name]`` alone would make Python iterate an instance (obj[0], obj[1]...):
        # a model that is not iterable stays so, as Django code checking for one expects.
        attrs["__iter__"] = None
    for name, value in _class_attributes(model):
        replacement = (
            field_attribute(value) if isinstance(value, DeferredAttribute) else wrap(value)
        )
        if replacement is not None:
            attrs[name] = replacement
    cls: Any = type.__new__(ModelBase, model.__name__, (mixin, model), attrs)
    built: type[Model] = cls
    return built


def _class_attributes(model: type[Model]) -> Iterable[tuple[str, Any]]:
    merged: dict[str, Any] = {}
    for klass in reversed(model.__mro__):
        merged.update(vars(klass))
    return merged.items()


def swap_classes(objs: Iterable[Any], instance_class: Callable[[type[Model]], type[Model]]) -> None:
    """Make each model instance in *objs* (and what select_related() put in its caches) vinyl's.

    Instances of a vinyl class are left alone, which also stops at the back-references
    Django's populators set.
    """
    for obj in objs:
        if not isinstance(obj, Model):
            return
        cls = type(obj)
        if cls is instance_class(cls):
            continue
        obj.__class__ = instance_class(cls)
        swap_classes(
            (rel for rel in obj._state.fields_cache.values() if rel is not None),
            instance_class,
        )


def loaded(instance: Model, name: str) -> Any:
    """Return what select_related()/prefetch_related() loaded into *instance* as *name*.

    Raise ``FieldError`` naming both ways to load it when nothing was loaded.
    """
    prefetched = getattr(instance, "_prefetched_objects_cache", {})
    if name in prefetched:
        return prefetched[name]
    fields_cache = instance._state.fields_cache
    if name in fields_cache:
        return fields_cache[name]
    try:
        field = instance._meta.get_field(name)
    except FieldDoesNotExist:
        field = None
    is_value = field is not None and field.concrete and not field.is_relation
    if not is_value and name in instance.__dict__:
        # Prefetch(to_attr=...) lists and annotations.
        return instance.__dict__[name]
    if field is None:
        if getattr(type(instance), name, None) is not None:
            raise _not_loaded(instance, name, not_loaded(instance, name)) from None
        raise FieldError(
            f"{type(instance).__name__} has no relation {name!r}: obj[name] reads what "
            f"select_related()/prefetch_related() loaded, by relation or to_attr name."
        )
    if is_value:
        raise FieldError(
            f"{type(instance).__name__}[{name!r}]: {name!r} is a field, not a relation; "
            f"read it as obj.{getattr(field, 'attname', name)}."
        )
    raise _not_loaded(instance, name, not_loaded(instance, name)) from None


def _not_loaded(instance: Model, name: str, message: str) -> FieldError:
    """Return the error for the field or relation *name* that was not loaded into *instance*.

    ``FieldError``; Django's ``FieldFetchBlocked`` (a ``FieldError``) with Django's message
    first when the instance was read with ``fetch_mode(FETCH_RAISE)`` (Django 6.1), as
    Django raises there.
    """
    mode = getattr(instance._state, "fetch_mode", None)
    if mode is not None and mode is _FETCH_RAISE:
        return _fetch_blocked(instance, name, message)
    return FieldError(message)


def _fetch_blocked(instance: Model, name: str, advice: str) -> FieldError:
    """Return Django's ``FieldFetchBlocked`` for reading *name* of *instance*, then *advice*.

    Raise it ``from None``, as Django does.
    """
    return _FETCH_BLOCKED(f"Fetching of {type(instance).__qualname__}.{name} blocked. {advice}")


def peers(instance: Model, is_cached: Callable[[Model], bool], name: str) -> list[Model]:
    """Return the instances a relation read on *instance* is read for, as its fetch mode says.

    Django 6.1's ``FETCH_PEERS``: *instance* and its peers (the instances of the result
    it came from that are still alive) for which *is_cached* is false, when there are
    such peers. ``FETCH_RAISE``: raise ``FieldFetchBlocked`` (the relation *name* would be
    queried on attribute access, which that mode blocks). Otherwise (and on Django 5.2)
    an empty list: the relation is read for *instance* alone.
    """
    mode = getattr(instance._state, "fetch_mode", None)
    if mode is None:
        return []
    if mode is _FETCH_RAISE:
        advice = (
            f"vinyl's obj.{name} always queries; read what select_related()/"
            f"prefetch_related() loaded with obj[{name!r}]."
        )
        raise _fetch_blocked(instance, name, advice) from None
    if not mode.track_peers:
        return []
    others = [
        peer
        for ref in instance._state.peers
        if (peer := ref()) is not None and peer is not instance and not is_cached(peer)
    ]
    return [instance, *others] if others else []


def with_fetch_mode[Q: QuerySet[Any]](queryset: Q, instance: Model) -> Q:
    """Return *queryset*, made to read with *instance*'s fetch mode (Django 6.1), in place.

    As Django's relation querysets: the objects read through a relation of *instance*
    fetch as it does. *queryset* must be a new one of the caller's own.
    """
    if hasattr(instance._state, "fetch_mode"):
        private: Any = queryset  # Django's stubs leave the private attributes out.
        private._fetch_mode = instance._state.fetch_mode
    return queryset


def alias_of(instance: Model) -> str:
    """Return the alias *instance* was read from; raise ``ValueError`` for an unsaved one."""
    alias = instance._state.db
    if alias is None:
        raise ValueError(
            f"{type(instance).__name__} instance was not read from a database: a relation is "
            f"read on the alias its instance came from."
        )
    return alias


def read_alias(model: type[Model], instance: Model) -> str:
    """Return the alias a relation of *instance* reads its *model* objects on.

    The one Django's related managers and descriptors read on: Django's router's, asked
    with *instance* as hint. That is *instance*'s own alias unless a router answers
    otherwise (a primary/replica router sends them to the replica, wherever *instance*
    was read from).
    """
    alias: str = router.db_for_read(model, instance=instance)
    return alias

"""Eager relation descriptors of vinyl instances (ARCHITECTURE §3.1).

``obj.author`` always queries (an awaitable in the async flavor): it never reads what
``select_related()`` cached, which ``obj["author"]`` returns instead. The descriptors
wrap Django's own, which keep assignment (``obj.author = a``) and the class-level API
(``Book.author.field``, ``Author.profile.RelatedObjectDoesNotExist``). A many-valued
relation returns a related manager (``vinyl.model._async.related_managers``).

They read through the flavor's queryset class, which the instance's class carries
(``vinyl.model._async.instance``), with the instance's fetch mode (Django 6.1): under
``FETCH_PEERS`` a relation to one object is read, in one query, for the instance and for
each of its peers that has not loaded it (``peer["author"]`` then reads it); under
``FETCH_RAISE``, whose point is that no attribute access queries, ``obj.author`` raises
Django's ``FieldFetchBlocked``.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Model
from django.db.models.fields.related_descriptors import (
    ForwardManyToOneDescriptor,
    ReverseManyToOneDescriptor,
    ReverseOneToOneDescriptor,
)
from vinyl.model._async.contenttypes import content_type
from vinyl.model._async.prefetch import prefetch_related_objects
from vinyl.model._async.related_managers import (
    managed_queryset,
    queryset_class_of,
    related_manager,
)
from vinyl.model._descriptors_compat import generic_foreign_key
from vinyl.model._instances import alias_of, peers, read_alias

__all__ = [
    "ForwardRelation",
    "GenericObject",
    "ManyRelation",
    "ReverseOneRelation",
    "relation_descriptor",
]


class _Wrapping:
    """Keep Django's descriptor for assignment and for its class-level attributes."""

    def __init__(self, django: Any) -> None:
        self.django = django

    def __set__(self, instance: Model, value: Any) -> None:
        self.django.__set__(instance, value)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.django, name)


class _OneObject(_Wrapping):
    """A relation to one object: ``obj.<name>`` returns ``fetch(obj)``, which queries it."""

    def __get__(self, instance: Model | None, owner: type[Model] | None = None) -> Any:
        if instance is None:
            return self
        return self.fetch(instance)

    async def fetch(self, instance: Model) -> Model | None:
        """Return the related object, read from the database now."""
        raise NotImplementedError

    async def _read_for_peers(
        self, instance: Model, cache: Any, name: str, lookup: str | None = None
    ) -> list[Model]:
        """Return who the relation was read for: *instance* and its peers, or nobody.

        *cache* is Django's object holding the relation's cache, *name* the relation's name
        in Django's messages, *lookup* its ``prefetch_related()`` name when that differs.
        Under ``FETCH_PEERS`` (Django 6.1), with peers that have not loaded the relation,
        it is read for them all in one query, as a ``prefetch_related()`` would, and what
        *instance* had loaded is read again (``obj.rel`` always queries). An empty list
        when it was read for nobody.
        """
        readers = peers(instance, cache.is_cached, name)
        if readers:
            if cache.is_cached(instance):
                cache.delete_cached_value(instance)
            await prefetch_related_objects(queryset_class_of(instance), readers, lookup or name)
        return readers


class ForwardRelation(_OneObject):
    """``book.author``: query the object a foreign key or one-to-one field points to."""

    async def fetch(self, instance: Model) -> Model | None:
        """Return the related object, read from the database now (``None`` for a null key)."""
        field = self.django.field
        if None in field.get_local_related_value(instance):
            if field.null:
                return None
            raise self._missing()
        if await self._read_for_peers(instance, field, field.name):
            read: Model | None = field.get_cached_value(instance)
            if read is None:
                raise self._missing()
            return read
        # Through the related model's base manager, as Django's descriptor reads.
        model = field.remote_field.model
        related = managed_queryset(
            instance, model, model._base_manager, read_alias(model, instance)
        )
        result: Model = await related.get(field.get_reverse_related_filter(instance))
        if not field.remote_field.multiple:
            # A one-to-one's object knows the instance it was read from, as in Django:
            # ``(await profile.author)["profile"] is profile``.
            field.remote_field.set_cached_value(result, instance)
        return result

    def _missing(self) -> Exception:
        """Return Django's error for a key to no object (``RelatedObjectDoesNotExist``)."""
        field = self.django.field
        error: Exception = self.django.RelatedObjectDoesNotExist(
            f"{field.model.__name__} has no {field.name}."
        )
        return error


class ReverseOneRelation(_OneObject):
    """``author.profile``: query the object whose one-to-one field points here."""

    async def fetch(self, instance: Model) -> Model:
        """Return the related object, read now; raise ``RelatedObjectDoesNotExist`` if none."""
        related = self.django.related
        missing = self.django.RelatedObjectDoesNotExist(
            f"{type(instance).__name__} has no {related.accessor_name}."
        )
        if instance.pk is None:
            raise missing
        if await self._read_for_peers(instance, related, related.name, related.accessor_name):
            read: Model | None = related.get_cached_value(instance)
            if read is None:
                raise missing
            return read
        model = related.related_model
        queryset = managed_queryset(
            instance, model, model._base_manager, read_alias(model, instance)
        )
        lookup = related.field.get_forward_related_filter(instance)
        try:
            result: Model = await queryset.get(**lookup)
        except related.related_model.DoesNotExist:
            raise missing from None
        # It knows the instance it was read from, as in Django: ``profile["author"]``.
        related.field.set_cached_value(result, instance)
        return result


class GenericObject(_OneObject):
    """``item.content_object``: query the object a generic foreign key points to."""

    async def fetch(self, instance: Model) -> Model | None:
        """Return the object, read now (``None`` when the content type or id is null, or when
        no such object is found)."""
        gfk = generic_foreign_key(self.django)
        assert gfk is not None
        if await self._read_for_peers(instance, gfk, gfk.name):
            read: Model | None = gfk.get_cached_value(instance)
            return read
        ct_id = getattr(instance, gfk.model._meta.get_field(gfk.ct_field).attname)
        pk_val = getattr(instance, gfk.fk_field)
        if ct_id is None or pk_val is None:
            return None
        alias = alias_of(instance)
        queryset_class = queryset_class_of(instance)
        found = await content_type(queryset_class, alias, ct_id)
        model = found.model_class()
        objects = managed_queryset(instance, model, model._base_manager, alias)
        try:
            result: Model = await objects.get(pk=pk_val)
        except model.DoesNotExist:
            return None  # As Django's: a generic key to no object (or a hidden one) is None.
        return result


class ManyRelation(_Wrapping):
    """``author.books`` / ``book.tags``: a :class:`RelatedManager`; never a cached list."""

    def __get__(self, instance: Model | None, owner: type[Model] | None = None) -> Any:
        if instance is None:
            return self
        return related_manager(instance, self.django)


def relation_descriptor(attribute: Any) -> Any:
    """Return the vinyl descriptor replacing Django's class attribute, or ``None``."""
    if isinstance(attribute, ForwardManyToOneDescriptor):
        return ForwardRelation(attribute)
    if isinstance(attribute, ReverseOneToOneDescriptor):
        return ReverseOneRelation(attribute)
    if isinstance(attribute, ReverseManyToOneDescriptor):
        return ManyRelation(attribute)
    if generic_foreign_key(attribute) is not None:
        return GenericObject(attribute)
    return None

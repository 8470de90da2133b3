"""Eager relation descriptors and related managers of vinyl instances (ARCHITECTURE §3.1).

``obj.author`` always queries (an awaitable in the async flavor): it never reads what
``select_related()`` cached, which ``obj["author"]`` returns instead. The descriptors
wrap Django's own, which keep assignment (``obj.author = a``) and the class-level API
(``Book.author.field``, ``Author.profile.RelatedObjectDoesNotExist``).

They read through the flavor's queryset class, which the instance's class carries
(``vinyl.model._async.instance``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import Model, QuerySet
from django.db.models.fields.related_descriptors import (
    ForwardManyToOneDescriptor,
    ReverseManyToOneDescriptor,
    ReverseOneToOneDescriptor,
)
from vinyl.model._async.contenttypes import content_type
from vinyl.model._async.manager_methods import ManagerMethods
from vinyl.model._custom import queryset_methods
from vinyl.model._descriptors_compat import generic_foreign_key
from vinyl.model._instances import alias_of

if TYPE_CHECKING:
    from vinyl.model._async.queryset import VinylQuerySet

__all__ = [
    "ForwardRelation",
    "GenericObject",
    "ManyRelation",
    "RelatedManager",
    "ReverseOneRelation",
    "custom_queryset_class",
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


class ForwardRelation(_OneObject):
    """``book.author``: query the object a foreign key or one-to-one field points to."""

    async def fetch(self, instance: Model) -> Model | None:
        """Return the related object, read from the database now (``None`` for a null key)."""
        field = self.django.field
        if None in field.get_local_related_value(instance):
            if field.null:
                return None
            raise self.django.RelatedObjectDoesNotExist(
                f"{field.model.__name__} has no {field.name}."
            )
        related = _queryset_class(instance)(field.remote_field.model, using=instance._state.db)
        result: Model = await related.get(field.get_reverse_related_filter(instance))
        if not field.remote_field.multiple:
            # A one-to-one's object knows the instance it was read from, as in Django:
            # ``(await profile.author)["profile"] is profile``.
            field.remote_field.set_cached_value(result, instance)
        return result


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
        queryset = _queryset_class(instance)(related.related_model, using=instance._state.db)
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
        """Return the object, read now (``None`` when the content type or id is null)."""
        gfk = generic_foreign_key(self.django)
        assert gfk is not None
        ct_id = getattr(instance, gfk.model._meta.get_field(gfk.ct_field).attname)
        pk_val = getattr(instance, gfk.fk_field)
        if ct_id is None or pk_val is None:
            return None
        alias = alias_of(instance)
        queryset_class = _queryset_class(instance)
        found = await content_type(queryset_class, alias, ct_id)
        model = found.model_class()
        result: Model = await queryset_class(model, using=alias).get(pk=pk_val)
        return result


class ManyRelation(_Wrapping):
    """``author.books`` / ``book.tags``: a :class:`RelatedManager`; never a cached list."""

    def __get__(self, instance: Model | None, owner: type[Model] | None = None) -> Any:
        if instance is None:
            return self
        return RelatedManager(instance, self.django)


class RelatedManager(ManagerMethods[Any]):
    """The manager of a reverse foreign key, a many-to-many or a generic relation.

    Every method returns or runs a vinyl queryset of the related objects, on the alias
    the instance was read from. It never returns what ``prefetch_related()`` loaded:
    read that with ``obj[name]``.
    """

    def __init__(self, instance: Model, descriptor: ReverseManyToOneDescriptor[Any]) -> None:
        self.instance = instance
        self.descriptor = descriptor
        rel = descriptor.rel
        # A reverse foreign key or many-to-many relates to the model holding the field; the
        # forward side of a many-to-many (reverse=False) and a GenericRelation to its target.
        forward = _is_generic(rel.field) or not getattr(descriptor, "reverse", True)
        self.model: type[Model] = rel.model if forward else rel.related_model

    def get_queryset(self) -> VinylQuerySet[Any]:
        """Return a vinyl queryset of the objects related to the instance.

        Its class is the related model's custom queryset class, when the model has a
        ``VinylManager.from_queryset()`` manager of this flavor (Django's related managers
        take their model's default manager's).
        """
        queryset_class = custom_queryset_class(self.model, _queryset_class(self.instance))
        return self._related(queryset_class(self.model, using=self.instance._state.db))

    if not TYPE_CHECKING:

        def __getattr__(self, name: str) -> Any:
            # The related model's custom queryset methods, as on Django's related managers.
            if name not in ("instance", "descriptor", "model"):
                flavor = _queryset_class(self.instance)
                if name in queryset_methods(custom_queryset_class(self.model, flavor), flavor):
                    return getattr(self.get_queryset(), name)
            return super().__getattr__(name)

    def _apply_rel_filters(self, queryset: QuerySet[Any]) -> VinylQuerySet[Any]:
        """Return *queryset* as a vinyl queryset of the objects related to the instance.

        Django's ``prefetch_related_objects()`` calls it to store a ``Prefetch`` queryset.
        """
        db = self.instance._state.db
        return self._related(_queryset_class(self.instance).from_django(queryset, db))

    def _related(self, base: VinylQuerySet[Any]) -> VinylQuerySet[Any]:
        """Return *base* filtered to the objects related to the instance."""
        rel: Any = self.descriptor.rel
        if _is_generic(rel.field):
            generic: VinylQuerySet[Any] = base.filter(**_generic_filter(rel.field, self.instance))
            return generic
        # Django's related manager only builds filters here; it does no I/O.
        django_manager: Any = self.descriptor.related_manager_cls(self.instance)  # type: ignore[call-arg]
        filtered: VinylQuerySet[Any] = django_manager._apply_rel_filters(base)
        return filtered

    def get_prefetch_querysets(
        self, instances: list[Model], querysets: list[Any] | None = None
    ) -> tuple[Any, ...]:
        """Return Django's prefetch plan for this relation (``prefetch_related()`` runs it).

        Without *querysets*, the related objects are read through vinyl, where Django's
        plan would read them through Django's default manager.
        """
        if not querysets:
            alias = self.instance._state.db
            querysets = [_queryset_class(self.instance)(self.model, using=alias)]
        django_manager: Any = self.descriptor.related_manager_cls(self.instance)  # type: ignore[call-arg]
        plan: tuple[Any, ...] = django_manager.get_prefetch_querysets(instances, querysets)
        return plan


_custom_classes: dict[tuple[type[Model], type[Any]], type[Any]] = {}


def custom_queryset_class(model: type[Model], flavor: type[Any]) -> Any:
    """Return the queryset class of *model*'s custom vinyl manager of the flavor *flavor*.

    That is the one subclass of *flavor* (the flavor's ``VinylQuerySet``) that the vinyl
    managers on *model* use; *flavor* itself when there is none, or several.
    """
    key = (model, flavor)
    if key not in _custom_classes:
        found = {
            queryset_class
            for klass in model.__mro__
            for value in vars(klass).values()
            if isinstance(queryset_class := getattr(type(value), "_queryset_class", None), type)
            and queryset_class is not flavor
            and issubclass(queryset_class, flavor)
        }
        _custom_classes[key] = found.pop() if len(found) == 1 else flavor
    return _custom_classes[key]


def _queryset_class(instance: Model) -> Any:
    """Return the flavor's queryset class, which a vinyl instance's class carries."""
    return type(instance)._vinyl_queryset  # type: ignore[attr-defined]


def _is_generic(field: Any) -> bool:
    # A GenericRelation, recognised without importing contenttypes (whose models module
    # needs Django's app registry ready).
    return hasattr(field, "object_id_field_name") and hasattr(field, "content_type_field_name")


def _generic_filter(field: Any, instance: Model) -> dict[str, Any]:
    # Filtering on the content type's natural key avoids ContentType.objects, whose cache
    # fills itself with sync queries.
    model = instance._meta.concrete_model if field.for_concrete_model else type(instance)
    opts = model._meta  # type: ignore[union-attr]
    return {
        f"{field.content_type_field_name}__app_label": opts.app_label,
        f"{field.content_type_field_name}__model": opts.model_name,
        field.object_id_field_name: instance.pk,
    }


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

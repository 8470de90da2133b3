"""Related managers of vinyl instances: ``author.books``, ``book.tags``, ``book.items``.

Each reads through a vinyl queryset of the related objects, on the alias the instance was
read from, and writes natively, with Django's checks, messages and order of statements
but without ``m2m_changed`` (ARCHITECTURE §3.2). Each write is all-or-nothing: one
statement, or a ``transaction(savepoint=False)`` block around several. Django's own
related manager is made for what it computes without I/O (filters, the ids to add, the
remove filter); vinyl performs the reads and writes it would run.

As Django's, each manager is an instance of Django's related manager class of its relation
(and so of the related model's default manager class, with that class's own methods),
whose I/O methods vinyl overrides: ``related_manager()`` makes the class, once per relation.
A generic relation's manager subclasses the default manager class alone: Django's reads
the content type through Django's connection when it is made.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Self, cast

from django.db import router
from django.db.models import Manager, Model, QuerySet
from django.db.models.fields.related_descriptors import ReverseManyToOneDescriptor
from django.db.models.manager import BaseManager
from django.db.models.utils import resolve_callables
from vinyl.model import _replay
from vinyl.model._async.contenttypes import content_type_for_model
from vinyl.model._async.manager_methods import ManagerMethods
from vinyl.model._custom import queryset_methods
from vinyl.model._instances import read_alias, with_fetch_mode
from vinyl.model._messages import django_async_method, refused
from vinyl.model._plans import relation_shape
from vinyl.query._async import transaction

if TYPE_CHECKING:
    from vinyl.model._async.queryset import VinylQuerySet

__all__ = [
    "GenericRelatedManager",
    "ManyToManyManager",
    "RelatedManager",
    "ReverseForeignKeyManager",
    "custom_queryset_class",
    "queryset_class_of",
    "related_manager",
]


class RelatedManager[M: Model](ManagerMethods[M]):
    """The manager of a reverse foreign key, a many-to-many or a generic relation.

    Every method returns or runs a vinyl queryset of the related objects, on the alias
    the instance was read from. It never returns what ``prefetch_related()`` loaded:
    read that with ``obj[name]``.

    As Django's, it starts from the related model's default manager (``_default_manager``:
    its ``get_queryset()`` filter applies to reads, ``remove()`` and ``clear()``), or from
    the manager named by ``obj.rel(manager="name")``. It is made by
    :func:`related_manager`, as a subclass of Django's related manager class too.
    """

    # Django's thread-based a* methods of a related manager: refused, as the queryset's.
    aadd = refused("aadd", django_async_method)
    aremove = refused("aremove", django_async_method)
    aclear = refused("aclear", django_async_method)
    aset = refused("aset", django_async_method)
    acreate = refused("acreate", django_async_method)
    aget_or_create = refused("aget_or_create", django_async_method)
    aupdate_or_create = refused("aupdate_or_create", django_async_method)

    def __init__(
        self,
        instance: Model,
        descriptor: ReverseManyToOneDescriptor[Any],
        manager: Any = None,
    ) -> None:
        self._init_django(instance)
        self.instance = instance
        self.descriptor = descriptor
        rel = descriptor.rel
        # A reverse foreign key or many-to-many relates to the model holding the field; the
        # forward side of a many-to-many (reverse=False) and a GenericRelation to its target.
        forward = _is_generic(descriptor) or not getattr(descriptor, "reverse", True)
        self.model = cast(type[M], rel.model if forward else rel.related_model)
        # The manager the relation starts from: the related model's default one, or the one
        # obj.rel(manager="name") named (Django's or a vinyl manager of this flavor).
        self.manager: Any = self.model._default_manager if manager is None else manager

    def _init_django(self, instance: Model) -> None:
        """Run Django's ``__init__``: the relation's attributes and Django's checks (a
        many-to-many of an unsaved instance raises ``ValueError``, as Django's)."""
        cast(Any, super()).__init__(instance)

    def __call__(self, *, manager: str) -> Self:
        """Return this relation's manager starting from the related model's *manager*.

        As Django's ``obj.rel(manager="name")``: reads, ``remove()`` and ``clear()`` see the
        objects that manager's ``get_queryset()`` returns.
        """
        return type(self)(self.instance, self.descriptor, getattr(self.model, manager))

    def get_queryset(self) -> VinylQuerySet[Any]:
        """Return a vinyl queryset of the objects related to the instance.

        Its class is the related model's custom queryset class, when the model has a
        ``VinylManager.from_queryset()`` manager of this flavor (Django's related managers
        take their model's default manager's).
        """
        return self._related(self._base(self._db_for_read()))

    def _base(self, alias: str | None) -> VinylQuerySet[Any]:
        """Return a vinyl queryset of the related model's objects the relation starts from,
        on *alias*: every object, or those its manager's ``get_queryset()`` keeps."""
        return managed_queryset(self.instance, self.model, self.manager, alias)

    if not TYPE_CHECKING:

        def __getattr__(self, name: str) -> Any:
            # The related model's custom queryset methods, as on Django's related managers.
            if name not in ("instance", "descriptor", "model", "manager"):
                flavor = queryset_class_of(self.instance)
                if name in queryset_methods(custom_queryset_class(self.model, flavor), flavor):
                    return getattr(self.get_queryset(), name)
            return super().__getattr__(name)

    def _apply_rel_filters(self, queryset: QuerySet[Any]) -> VinylQuerySet[Any]:
        """Return *queryset* as a vinyl queryset of the objects related to the instance.

        Django's ``prefetch_related_objects()`` calls it to store a ``Prefetch`` queryset.
        """
        db = self._db_for_read()
        return self._related(queryset_class_of(self.instance).from_django(queryset, db))

    def _related(self, base: VinylQuerySet[Any]) -> VinylQuerySet[Any]:
        """Return *base* filtered to the objects related to the instance.

        Django's related manager filters (it does no I/O), as a traced call of *base*'s
        shape when its filter has one (``vinyl.model._plans.relation_shape``): the first
        time, and then from its template, with the instance's key values.
        """
        rel: Any = self.descriptor.rel
        if _is_generic(self.descriptor):
            generic: VinylQuerySet[Any] = base.filter(**_generic_filter(rel.field, self.instance))
            return generic
        # Django's filter, not this class's override (which calls this method).
        django_filter = cast(Any, self.descriptor.related_manager_cls)._apply_rel_filters
        shaped = (
            None if base._shape is None else relation_shape(self.descriptor, self, self.instance)
        )
        if shaped is None:
            filtered: VinylQuerySet[Any] = django_filter(self, base)
            return filtered
        call, values = shaped
        private: Any = base  # Django's stubs leave the private attributes out.
        # Django's filter goes on a copy: Django 6.1 changes the queryset it is given.
        related: VinylQuerySet[Any] = base._templated(
            call, values, lambda: django_filter(self, private._chain())
        )
        _for_instance(related, self)
        return related

    def get_prefetch_querysets(
        self, instances: list[Model], querysets: list[Any] | None = None
    ) -> tuple[Any, ...]:
        """Return Django's prefetch plan for this relation (``prefetch_related()`` runs it).

        Without *querysets*, the related objects are read through vinyl, where Django's
        plan would read them through Django's default manager.
        """
        if not querysets:
            # Django's plan starts from the default manager's queryset: so does vinyl's.
            querysets = [self._base(self._db_for_read())]
        django_manager: Any = self.descriptor.related_manager_cls(self.instance)  # type: ignore[call-arg]
        plan: tuple[Any, ...] = django_manager.get_prefetch_querysets(instances, querysets)
        return plan

    def _db_for_read(self) -> str:
        """Return the alias this relation reads on: the instance's (Django's router's)."""
        return read_alias(self.model, self.instance)

    def _db_for_write(self) -> str:
        """Return the alias this relation writes on: the instance's (Django's router's)."""
        alias: str = router.db_for_write(self.model, instance=self.instance)
        return alias

    def _all_of(self, model: type[Model]) -> VinylQuerySet[Any]:
        """Return a vinyl queryset of every row of *model*, on the relation's alias."""
        base: VinylQuerySet[Any] = queryset_class_of(self.instance)(
            model, using=self._db_for_write()
        )
        return base

    def _related_for_write(self) -> VinylQuerySet[Any]:
        """Return the related objects on the relation's write alias: where Django's
        ``get_or_create()``/``update_or_create()`` look (Django calls them on the related
        manager, whose ``get_queryset()`` is filtered to the instance)."""
        return self._related(self._base(self._db_for_write()))

    def _check_model(self, obj: Any) -> None:
        if not isinstance(obj, self.model):
            raise TypeError(f"'{self.model._meta.object_name}' instance expected, got {obj!r}")


class _KeyedManager[M: Model](RelatedManager[M]):
    """A relation whose objects point to the instance with a key of their own.

    A reverse foreign key or a generic relation: creating among them sets that key
    (``_link()``), which is all their ``create()``/``get_or_create()``/
    ``update_or_create()`` add to the plain ones.
    """

    async def _link(self) -> dict[str, Any]:
        """Return the values that point an object to the instance (after Django's checks)."""
        raise NotImplementedError

    def _forget_prefetched(self) -> None:
        """Forget what ``prefetch_related()`` loaded for this relation, as Django does."""
        raise NotImplementedError

    async def create(self, **kwargs: Any) -> M:
        """Create an object related to the instance; as Django's ``create()``."""
        link = await self._link()
        self._forget_prefetched()
        kwargs.update(link)
        created: M = await self._all_of(self.model).create(**kwargs)
        return created

    async def get_or_create(
        self, defaults: dict[str, Any] | None = None, **kwargs: Any
    ) -> tuple[M, bool]:
        """Return ``(object, created)`` among the instance's related objects."""
        kwargs.update(await self._link())
        return await self._related_for_write().get_or_create(defaults, **kwargs)

    async def update_or_create(
        self,
        defaults: dict[str, Any] | None = None,
        create_defaults: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> tuple[M, bool]:
        """Return ``(object, created)`` among the instance's related objects, updated."""
        kwargs.update(await self._link())
        return await self._related_for_write().update_or_create(defaults, create_defaults, **kwargs)


class ReverseForeignKeyManager[M: Model](_KeyedManager[M]):
    """``author.books``: the objects whose foreign key points to the instance."""

    if TYPE_CHECKING:
        # Django's related manager's (related_manager() makes the class).
        def _check_fk_val(self) -> None: ...
        def _remove_prefetched_objects(self) -> None: ...

    def _field(self) -> Any:
        return self.descriptor.rel.field

    if not TYPE_CHECKING:

        def __getattr__(self, name: str) -> Any:
            if name in ("remove", "clear") and not self.descriptor.rel.field.null:
                # Django's related manager has no such method either: say why.
                field = self.descriptor.rel.field
                raise AttributeError(
                    f"{type(self).__name__!r} object has no attribute {name!r}: {name}() needs "
                    f"a nullable foreign key, and {field.model.__name__}.{field.name} is not "
                    f"null=True."
                )
            return super().__getattr__(name)

    async def add(self, *objs: Model, bulk: bool = True) -> None:
        """Point the foreign key of *objs* to the instance; as Django's ``add()``.

        With ``bulk`` one UPDATE (the objects must be saved), else each object is saved.
        """
        self._check_fk_val()
        self._remove_prefetched_objects()
        field, db = self._field(), self._db_for_write()
        for obj in objs:
            self._check_model(obj)
            setattr(obj, field.name, self.instance)
            if bulk and (obj._state.adding or obj._state.db != db):
                raise ValueError(
                    f"{obj!r} instance isn't saved. Use bulk=False or save the object first."
                )
        if bulk:
            pks = [obj.pk for obj in objs]
            await self._all_of(self.model).filter(pk__in=pks).update(**{field.name: self.instance})
            return
        async with transaction(using=db, savepoint=False):
            for obj in objs:
                vinyl_obj: Any = obj
                await vinyl_obj.save()

    async def _link(self) -> dict[str, Any]:
        self._check_fk_val()
        return {self._field().name: self.instance}

    def _forget_prefetched(self) -> None:
        self._remove_prefetched_objects()

    async def set(self, objs: Any, *, bulk: bool = True, clear: bool = False) -> None:
        """Make *objs* the instance's related objects; as Django's ``set()``."""
        self._check_fk_val()
        objs = tuple(objs)
        await self.add(*objs, bulk=bulk)


class NullableReverseForeignKeyManager[M: Model](ReverseForeignKeyManager[M]):
    """``author.cowritten``: a nullable foreign key, so objects can also be removed."""

    async def remove(self, *objs: Model, bulk: bool = True) -> None:
        """Set the foreign key of *objs* to ``NULL``; they must be related to the instance."""
        if not objs:
            return
        self._check_fk_val()
        field = self._field()
        value = field.get_foreign_related_value(self.instance)
        old_ids = set()
        for obj in objs:
            self._check_model(obj)
            if field.get_local_related_value(obj) != value:
                raise field.remote_field.model.DoesNotExist(
                    f"{obj!r} is not related to {self.instance!r}."
                )
            old_ids.add(obj.pk)
        await self._clear(self.get_queryset().filter(pk__in=old_ids), bulk)

    async def clear(self, *, bulk: bool = True) -> None:
        """Set the foreign key of every related object to ``NULL``."""
        self._check_fk_val()
        await self._clear(self.get_queryset(), bulk)

    async def _clear(self, queryset: VinylQuerySet[Any], bulk: bool) -> None:
        self._remove_prefetched_objects()
        name = self._field().name
        if bulk:
            await queryset.update(**{name: None})
            return
        async with transaction(using=self._db_for_write(), savepoint=False):
            for obj in await queryset._evaluate():
                setattr(obj, name, None)
                await obj.save(update_fields=[name])

    async def set(self, objs: Any, *, bulk: bool = True, clear: bool = False) -> None:
        """Make *objs* the instance's related objects; as Django's ``set()``."""
        self._check_fk_val()
        await _set(self, tuple(objs), bulk=bulk, clear=clear, removal_bulk=bulk)


class ManyToManyManager[M: Model](RelatedManager[M]):
    """``book.tags`` / ``tag.books``: rows of the through table link the two sides."""

    if TYPE_CHECKING:
        # Django's related manager's (related_manager() makes the class).
        through: type[Model]
        source_field_name: str
        target_field_name: str
        target_field: Any
        related_val: tuple[Any, ...]
        symmetrical: bool

        def _get_target_ids(self, target_field_name: str, objs: Any) -> set[Any]: ...
        def _build_remove_filters(self, removed_vals: Any) -> Any: ...
        def _remove_prefetched_objects(self) -> None: ...

    async def add(self, *objs: Any, through_defaults: dict[str, Any] | None = None) -> None:
        """Link *objs* (instances or primary keys); as Django's ``add()``, no m2m_changed."""
        self._remove_prefetched_objects()
        async with transaction(using=self._db_for_write(), savepoint=False):
            await self._add_items(
                self.source_field_name,
                self.target_field_name,
                *objs,
                through_defaults=through_defaults,
            )
            if self.symmetrical:
                # A symmetrical relation to self has the mirror row too.
                await self._add_items(
                    self.target_field_name,
                    self.source_field_name,
                    *objs,
                    through_defaults=through_defaults,
                )

    def _get_add_plan(self, db: str, source_field_name: str) -> tuple[bool, bool, bool]:
        """Return Django's ``(can_ignore_conflicts, must_send_signals, can_fast_add)``.

        Only the pair can collide in an auto-created through table: conflicts are ignored
        there. vinyl sends no ``m2m_changed``, so it takes Django's fast path wherever
        conflicts can be ignored.
        """
        can_ignore_conflicts = (
            self.through._meta.auto_created is not False
            and _replay.features(db).supports_ignore_conflicts
        )
        return can_ignore_conflicts, False, can_ignore_conflicts

    async def _get_missing_target_ids(
        self, source_field_name: str, target_field_name: str, db: str, target_ids: set[Any]
    ) -> set[Any]:
        """Return the ids of *target_ids* the instance is not linked to yet."""
        present = self._all_of(self.through).filter(
            **{
                source_field_name: self.related_val[0],
                f"{target_field_name}__in": target_ids,
            }
        )
        linked = await present.values_list(target_field_name, flat=True)._evaluate()
        missing: set[Any] = target_ids.difference(linked)
        return missing

    async def _add_items(
        self,
        source_field_name: str,
        target_field_name: str,
        *objs: Any,
        through_defaults: dict[str, Any] | None = None,
    ) -> None:
        """Insert the through rows linking *objs*; as Django's, without ``m2m_changed``."""
        if not objs:
            return
        defaults = dict(resolve_callables(through_defaults or {}))
        target_ids = self._get_target_ids(target_field_name, objs)
        db = self._db_for_write()
        can_ignore_conflicts, _, can_fast_add = self._get_add_plan(db, source_field_name)
        if not can_fast_add:
            target_ids = await self._get_missing_target_ids(
                source_field_name, target_field_name, db, target_ids
            )
        await self._all_of(self.through).bulk_create(
            [
                self.through(
                    **defaults,
                    **{
                        f"{source_field_name}_id": self.related_val[0],
                        f"{target_field_name}_id": target_id,
                    },
                )
                for target_id in target_ids
            ],
            ignore_conflicts=can_ignore_conflicts,
        )

    async def count(self) -> int:
        """Return the number of related objects; from the through table alone, as Django."""
        target = self._constrained_target()
        return await (self.get_queryset() if target is None else target).count()

    async def exists(self) -> bool:
        """Return whether there is any related object; from the through table alone, as
        Django."""
        target = self._constrained_target()
        return await (self.get_queryset() if target is None else target).exists()

    def _constrained_target(self) -> VinylQuerySet[Any] | None:
        """Return the instance's through rows when counting them counts the related
        objects (Django's ``constrained_target``), else ``None``.

        So when the database enforces the target's foreign key, and the relation starts
        from a plain manager: a filter of the default manager's needs the JOIN.
        """
        alias: str = router.db_for_read(self.through, instance=self.instance)
        if (
            type(self.manager) is not Manager
            or custom_queryset_class(self.model, queryset_class_of(self.instance))
            is not queryset_class_of(self.instance)
            or not self.target_field.db_constraint
            or not _replay.features(alias).supports_foreign_keys
        ):
            return None
        filters = {self.source_field_name: self.related_val[0]}
        if self.target_field.null:
            # A null target would have been dropped by the INNER JOIN.
            filters[f"{self.target_field_name}__isnull"] = False
        rows: VinylQuerySet[Any] = queryset_class_of(self.instance)(self.through, using=alias)
        return rows.filter(**filters)

    async def remove(self, *objs: Any) -> None:
        """Unlink *objs* (instances or primary keys); as Django's ``remove()``."""
        self._remove_prefetched_objects()
        await self._remove_items(self.source_field_name, self.target_field_name, *objs)

    async def _remove_items(
        self, source_field_name: str, target_field_name: str, *objs: Any
    ) -> None:
        """Delete the through rows linking *objs*; as Django's, without ``m2m_changed``."""
        if not objs:
            return
        old_ids = {
            self.target_field.get_foreign_related_value(obj)[0]
            if isinstance(obj, self.model)
            else obj
            for obj in objs
        }
        # As Django: with a filtering default manager, only the objects it keeps are unlinked.
        target = self._base(self._db_for_write())
        old_vals: Any = old_ids
        if target.query.has_filters():
            old_vals = target.filter(**{f"{self.target_field.target_field.attname}__in": old_ids})
        await self._all_of(self.through).filter(self._build_remove_filters(old_vals)).delete()

    async def clear(self) -> None:
        """Unlink every related object."""
        self._remove_prefetched_objects()
        filters = self._build_remove_filters(self._base(self._db_for_write()))
        await self._all_of(self.through).filter(filters).delete()

    async def set(
        self, objs: Any, *, clear: bool = False, through_defaults: dict[str, Any] | None = None
    ) -> None:
        """Make *objs* the related objects: add the missing, remove the others, as Django."""
        objs = tuple(objs)
        async with transaction(using=self._db_for_write(), savepoint=False):
            self._remove_prefetched_objects()
            if clear:
                await self.clear()
                await self.add(*objs, through_defaults=through_defaults)
                return
            attname = self.target_field.target_field.attname
            old_ids = set(await self.get_queryset().values_list(attname, flat=True)._evaluate())
            new_objs = []
            for obj in objs:
                if isinstance(obj, self.model):
                    key = self.target_field.get_foreign_related_value(obj)[0]
                else:
                    key = self.target_field.get_prep_value(obj)
                if key in old_ids:
                    old_ids.remove(key)
                else:
                    new_objs.append(obj)
            await self._remove_items(self.source_field_name, self.target_field_name, *old_ids)
            await self.add(*new_objs, through_defaults=through_defaults)

    async def create(self, *, through_defaults: dict[str, Any] | None = None, **kwargs: Any) -> M:
        """Create an object and link it; one transaction (Django runs two)."""
        async with transaction(using=self._db_for_write(), savepoint=False):
            obj: M = await self._all_of(self.model).create(**kwargs)
            await self.add(obj, through_defaults=through_defaults)
        return obj

    async def get_or_create(  # type: ignore[override]
        self, *, through_defaults: dict[str, Any] | None = None, **kwargs: Any
    ) -> tuple[M, bool]:
        """Return ``(object, created)``; a created object is linked."""
        return await self._link_created("get_or_create", through_defaults, kwargs)

    async def update_or_create(  # type: ignore[override]
        self, *, through_defaults: dict[str, Any] | None = None, **kwargs: Any
    ) -> tuple[M, bool]:
        """Return ``(object, created)``, updated; a created object is linked."""
        return await self._link_created("update_or_create", through_defaults, kwargs)

    async def _link_created(
        self, method: str, through_defaults: dict[str, Any] | None, kwargs: dict[str, Any]
    ) -> tuple[M, bool]:
        """Run the related queryset's *method* (``get_or_create``...); link what it created."""
        async with transaction(using=self._db_for_write(), savepoint=False):
            # Looked up among the related objects only, as Django: an unrelated match is
            # not found, and creating it can violate a unique constraint.
            obj, created = await getattr(self._related_for_write(), method)(**kwargs)
            if created:
                await self.add(obj, through_defaults=through_defaults)
        return obj, created


class GenericRelatedManager[M: Model](_KeyedManager[M]):
    """``book.items``: the objects whose generic foreign key points to the instance."""

    def _init_django(self, instance: Model) -> None:
        """Run the default manager class's ``__init__``, as Django's generic one does."""
        cast(Any, super(RelatedManager, self)).__init__()

    def _fields(self) -> tuple[str, str]:
        field = self.descriptor.rel.field
        return field.content_type_field_name, field.object_id_field_name  # type: ignore[attr-defined]

    async def _link(self) -> dict[str, Any]:
        """Return the values that point a generic foreign key to the instance."""
        field: Any = self.descriptor.rel.field
        meta = self.instance._meta
        model: Any = meta.concrete_model if field.for_concrete_model else meta.model
        ct_field, id_field = self._fields()
        found = await content_type_for_model(
            queryset_class_of(self.instance), self._db_for_write(), model
        )
        return {ct_field: found, id_field: self.instance.pk}

    def _forget_prefetched(self) -> None:
        cache = getattr(self.instance, "_prefetched_objects_cache", {})
        cache.pop(self.descriptor.rel.field.attname, None)

    async def add(self, *objs: Model, bulk: bool = True) -> None:
        """Point the generic foreign key of *objs* to the instance; as Django's ``add()``."""
        self._forget_prefetched()
        db, link = self._db_for_write(), await self._link()
        for obj in objs:
            if bulk and (obj._state.adding or obj._state.db != db):
                raise ValueError(
                    f"{obj!r} instance isn't saved. Use bulk=False or save the object first."
                )
            self._check_model(obj)
            for name, value in link.items():
                setattr(obj, name, value)
        if bulk:
            await self._all_of(self.model).filter(pk__in=[obj.pk for obj in objs]).update(**link)
            return
        async with transaction(using=db, savepoint=False):
            for obj in objs:
                vinyl_obj: Any = obj
                await vinyl_obj.save()

    async def remove(self, *objs: Model, bulk: bool = True) -> None:
        """Delete *objs* among the related objects (a generic key has no NULL to set)."""
        if objs:
            await self._clear(self.get_queryset().filter(pk__in=[obj.pk for obj in objs]), bulk)

    async def clear(self, *, bulk: bool = True) -> None:
        """Delete every related object."""
        await self._clear(self.get_queryset(), bulk)

    async def _clear(self, queryset: VinylQuerySet[Any], bulk: bool) -> None:
        self._forget_prefetched()
        if bulk:
            await queryset.delete()
            return
        async with transaction(using=self._db_for_write(), savepoint=False):
            for obj in await queryset._evaluate():
                await obj.delete()

    async def set(self, objs: Any, *, bulk: bool = True, clear: bool = False) -> None:
        """Make *objs* the related objects; as Django's ``set()``."""
        # Django's generic set() clears and removes with their default, bulk=True.
        await _set(self, tuple(objs), bulk=bulk, clear=clear, removal_bulk=True)


def related_manager(
    instance: Model, descriptor: ReverseManyToOneDescriptor[Any]
) -> RelatedManager[Any]:
    """Return the manager of the many-valued relation *descriptor* on *instance*."""
    return _manager_class(descriptor)(instance, descriptor)


@functools.cache
def _manager_class(descriptor: ReverseManyToOneDescriptor[Any]) -> type[RelatedManager[Any]]:
    """Return the class of *descriptor*'s managers: vinyl's, subclassing Django's.

    Django's related manager class of the relation (which subclasses the related model's
    default manager class) follows vinyl's in the MRO, so vinyl's methods replace its I/O
    while its attributes, checks and the default manager's own methods stay. A generic
    relation's subclasses the default manager class alone (see the module's docstring).
    """
    rel: Any = descriptor.rel
    vinyl_class: type[RelatedManager[Any]]
    if _is_generic(descriptor):
        vinyl_class, django_class = GenericRelatedManager, type(rel.model._default_manager)
    else:
        vinyl_class = (
            ManyToManyManager
            if rel.many_to_many
            else NullableReverseForeignKeyManager
            if rel.field.null
            else ReverseForeignKeyManager
        )
        django_class = descriptor.related_manager_cls
    attrs = {"__module__": vinyl_class.__module__, "__qualname__": vinyl_class.__qualname__}
    made: type[RelatedManager[Any]] = type(vinyl_class.__name__, (vinyl_class, django_class), attrs)
    return made


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


def queryset_class_of(instance: Model) -> Any:
    """Return the flavor's queryset class, which a vinyl instance's class carries."""
    return type(instance)._vinyl_queryset  # type: ignore[attr-defined]


def managed_queryset(
    instance: Model, model: type[Model], manager: Any, alias: str | None
) -> VinylQuerySet[Any]:
    """Return a vinyl queryset, in *instance*'s flavor, of the *model* objects *manager*
    returns, on *alias*: every object for a plain manager, else those its ``get_queryset()``
    keeps (``Meta.base_manager_name``, ``obj.rel(manager="name")``)."""
    queryset_class = custom_queryset_class(model, queryset_class_of(instance))
    if isinstance(manager, ManagerMethods):
        # A vinyl manager of this flavor (obj.rel(manager="vinyl")): its own queryset.
        queryset: VinylQuerySet[Any] = manager.using(alias)
    elif _plain(manager):
        queryset = queryset_class(model=model, using=alias)
    else:
        # A Django manager of the user's: its get_queryset() (no I/O) as a vinyl queryset.
        queryset = queryset_class.from_django(manager.get_queryset(), alias)
    # The objects read through a relation fetch as the instance does (Django 6.1).
    return with_fetch_mode(queryset, instance)


def _plain(manager: Any) -> bool:
    """Return whether Django's *manager* returns every object, as a plain queryset would."""
    return isinstance(manager, BaseManager) and (
        type(manager).get_queryset is BaseManager.get_queryset
    )


def _for_instance(queryset: VinylQuerySet[Any], django_manager: Any) -> None:
    """Set on *queryset* what Django's ``_apply_rel_filters()`` sets besides the filter.

    A queryset made from the relation call's template has the filter alone: the hints
    (which the router reads), the instance's fetch mode and, for a foreign key, the
    instance as the known related object of the rows (``book.author`` without a query).
    """
    private: Any = queryset  # Django's stubs leave the private attributes out.
    instance = django_manager.instance
    private._add_hints(instance=instance)
    with_fetch_mode(queryset, instance)
    field = getattr(django_manager, "field", None)
    if field is not None and field.many_to_one:
        # relation_shape() took a single-column key: Django's rel_obj_id is its value.
        private._known_related_objects = {
            field: {getattr(instance, field.target_field.attname): instance}
        }


def _is_generic(descriptor: ReverseManyToOneDescriptor[Any]) -> bool:
    """Return whether *descriptor* is a ``GenericRelation``'s own (``bookmark.tags``).

    Not the reverse accessor its ``related_query_name`` adds to the other model
    (``tag.bookmarks``), a plain ``ReverseManyToOneDescriptor`` of the same relation,
    whose manager Django makes as a reverse foreign key's. Recognised without importing
    contenttypes (whose models module needs Django's app registry ready).
    """
    field = descriptor.rel.field
    return (
        type(descriptor) is not ReverseManyToOneDescriptor
        and hasattr(field, "object_id_field_name")
        and hasattr(field, "content_type_field_name")
    )


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


async def _set(
    manager: NullableReverseForeignKeyManager[Any] | GenericRelatedManager[Any],
    objs: tuple[Any, ...],
    *,
    bulk: bool,
    clear: bool,
    removal_bulk: bool,
) -> None:
    """Make *objs* the related objects of *manager*, in one transaction, as Django's ``set()``:
    clear then add them, or remove the old objects not in *objs* and add the new ones.

    *bulk* is passed to ``add()``, *removal_bulk* to ``clear()`` and ``remove()``.
    """
    async with transaction(using=manager._db_for_write(), savepoint=False):
        if clear:
            await manager.clear(bulk=removal_bulk)
            await manager.add(*objs, bulk=bulk)
            return
        old_objs = set(await manager.get_queryset()._evaluate())
        new_objs = []
        for obj in objs:
            if obj in old_objs:
                old_objs.remove(obj)
            else:
                new_objs.append(obj)
        await manager.remove(*old_objs, bulk=removal_bulk)
        await manager.add(*new_objs, bulk=bulk)

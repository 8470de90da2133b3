"""Plan ``delete()``: Django's ``Collector``, its reads and statements as steps, with no signals.

:class:`Collector` is Django's own, subclassed: what it does without I/O (``add()``,
``add_field_update()``, ``add_dependency()``, ``sort()``, ``get_del_batches()``,
``related_objects()``, ``can_fast_delete()``, the restricted-object bookkeeping) runs as
it is, and so do the ``on_delete`` handlers (``CASCADE``, ``PROTECT``, ``SET(...)``...).
Only the two methods that do I/O are replaced by plans (``vinyl.model._writes``):

- :meth:`Collector.collect_plan` decides what Django's ``collect()`` decides, in the
  same order, with the same errors; where Django evaluates a queryset it yields a
  :class:`~vinyl.model._writes.Read` and keeps the rows as that queryset's result cache,
  so the handlers and Django's helpers find them there;
- :meth:`Collector.delete_plan` yields the statements of Django's ``Collector.delete()``,
  written by Django's ``DeleteQuery``/``UpdateQuery`` compilers.

vinyl sends no ``pre_delete``/``post_delete`` (ARCHITECTURE §3.2), so a model with signal
receivers is fast-deleted wherever Django would fast-delete it without them.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import partial, reduce
from itertools import chain
from operator import attrgetter, or_
from typing import Any

from django.db.models import DO_NOTHING, Model, QuerySet, deletion
from django.db.models.deletion import ProtectedError, RestrictedError
from django.db.models.sql import DeleteQuery, UpdateQuery
from django.db.models.sql.constants import GET_ITERATOR_CHUNK_SIZE
from vinyl.model._writes import Plan, Read, run_compiler, write_alias

__all__ = ["Collector", "Deleted", "Deletion", "instance_deletion", "queryset_deletion"]

#: The ``on_delete`` values Django collects nothing for: ``DO_NOTHING``, and Django 6.1's
#: database-level ``DB_CASCADE``/``DB_SET_NULL``/``DB_SET_DEFAULT``.
_SKIP_COLLECTION: frozenset[Any] = getattr(deletion, "SKIP_COLLECTION", frozenset({DO_NOTHING}))

#: What a delete returns: the number of rows deleted, and that number per model label.
type Deleted = tuple[int, dict[str, int]]


class _ByModel(defaultdict[Any, Any]):
    """A ``defaultdict`` keyed by model, where a vinyl instance class counts as its model.

    Django's collector keys its collections by ``obj.__class__``. vinyl's instances are of
    a subclass of their model that shares its ``_meta``; keyed by ``_meta.model`` (the
    model, or the proxy), they meet Django's querysets, ``field.model`` and the parents
    made here under one key, as all instances of a model do in Django.
    """

    def __getitem__(self, model: Any) -> Any:
        return super().__getitem__(model._meta.model)

    def __setitem__(self, model: Any, value: Any) -> None:
        super().__setitem__(model._meta.model, value)

    def __contains__(self, model: Any) -> bool:
        return super().__contains__(model._meta.model)

    def setdefault(self, model: Any, default: Any = None) -> Any:
        return super().setdefault(model._meta.model, default)


class Collector(deletion.Collector):
    """Django's ``Collector`` whose collection and deletion are plans of steps."""

    def __init__(self, using: str, origin: Model | QuerySet[Any] | None = None) -> None:
        super().__init__(using, origin)
        self.data = _ByModel(set)
        self.restricted_objects = _ByModel(partial(defaultdict, set))
        #: The collections the ``on_delete`` handler just called asked for.
        self._requested: list[tuple[Any, dict[str, Any]]] = []

    def _has_signal_listeners(self, model: type[Model]) -> bool:
        """Return ``False``: vinyl sends no delete signals, so none blocks a fast delete."""
        return False

    def collect(self, objs: Any, **options: Any) -> None:  # type: ignore[override]
        """Ask for *objs* to be collected: what ``CASCADE`` (or a custom handler) calls.

        The collection runs as a plan as soon as the handler returns, inside the same
        ``except ProtectedError`` as the handler, as Django's recursive call does. What
        the handler does after asking is recorded first: where constraints cannot be
        deferred (MySQL), ``CASCADE``'s nulling of a nullable key is then updated before,
        not after, the updates the collection adds; the rows end the same.
        """
        self._requested.append((objs, options))

    def collect_plan(
        self,
        objs: Any,
        source: type[Model] | None = None,
        nullable: bool = False,
        collect_related: bool = True,
        source_attr: str | None = None,
        reverse_dependency: bool = False,
        keep_parents: bool = False,
        fail_on_restricted: bool = True,
    ) -> Plan[None]:
        """Collect *objs* and what deleting them reaches; Django's ``collect()``, as a plan.

        *source_attr* is accepted as Django's handlers pass it; Django ignores it too.
        """
        if self.can_fast_delete(objs):
            self.fast_deletes.append(objs)
            return
        objs = yield from self._fetched(objs)
        new_objs = self.add(objs, source, nullable, reverse_dependency=reverse_dependency)
        if not new_objs:
            return
        model: Any = new_objs[0]._meta.model
        if not keep_parents:
            # The parents' rows, not what refers to them: get_fields() lists that already.
            for ptr in model._meta.concrete_model._meta.parents.values():
                if ptr:
                    parents = yield from self._parents(new_objs, ptr)
                    yield from self.collect_plan(
                        parents,
                        source=model,
                        collect_related=False,
                        reverse_dependency=True,
                        fail_on_restricted=False,
                    )
        if not collect_related:
            return
        model_fast_deletes: defaultdict[Any, list[Any]] = defaultdict(list)
        protected_objects: defaultdict[str, list[Model]] = defaultdict(list)
        related: Any
        for related in deletion.get_candidate_relations_to_delete(model._meta):
            # Django 6.1's test; 5.2 compared related.model itself (a proxy of a parent).
            if keep_parents and related.model._meta.concrete_model in model._meta.all_parents:
                continue
            field = related.field
            on_delete = field.remote_field.on_delete
            if on_delete in _SKIP_COLLECTION:
                continue
            related_model = related.related_model
            if self.can_fast_delete(related_model, from_field=field):
                model_fast_deletes[related_model].append(field)
                continue
            for batch in self.get_del_batches(new_objs, [field]):
                sub_objs = self._sub_objects(related_model, field, batch)
                if not getattr(on_delete, "lazy_sub_objs", False):
                    if not (yield from self._fetched(sub_objs)):
                        continue
                try:
                    on_delete(self, field, sub_objs, self.using)
                    yield from self._collect_requested()
                except ProtectedError as error:
                    key = f"'{field.model.__name__}.{field.name}'"
                    protected_objects[key] += error.protected_objects
        if protected_objects:
            raise ProtectedError(
                f"Cannot delete some instances of model {model.__name__!r} because they are "
                f"referenced through protected foreign keys: {', '.join(protected_objects)}.",
                set(chain.from_iterable(protected_objects.values())),
            )
        for related_model, related_fields in model_fast_deletes.items():
            for batch in self.get_del_batches(new_objs, related_fields):
                self.fast_deletes.append(self.related_objects(related_model, related_fields, batch))
        for field in model._meta.private_fields:
            if hasattr(field, "bulk_related_objects"):
                # Something like a generic relation, whose rows name a content type.
                if (yield from self._has_content_type(field)):
                    yield from self.collect_plan(
                        field.bulk_related_objects(new_objs, self.using),
                        source=model,
                        nullable=True,
                        fail_on_restricted=False,
                    )
        if fail_on_restricted:
            yield from self._check_restricted(model)

    def _fetched(self, objs: Any) -> Plan[Any]:
        """Return *objs*; an unevaluated queryset is read first and keeps its rows, as
        evaluating it in Django would."""
        private: Any = objs  # Django's stubs leave the result cache out.
        if isinstance(objs, QuerySet) and private._result_cache is None:
            private._result_cache = yield Read(objs)
            private._prefetch_done = True
        return objs

    def _collect_requested(self) -> Plan[None]:
        """Run the collections the handler just called asked for (depth first, as Django)."""
        requested, self._requested = self._requested, []
        for objs, options in requested:
            yield from self.collect_plan(objs, **options)

    def _sub_objects(self, related_model: Any, field: Any, batch: Any) -> QuerySet[Any]:
        """Return the rows of *related_model* that refer to *batch* through *field*.

        As Django with no signal receivers: only the fields that other rows refer to are
        loaded (the rows are never shown to a receiver), unless ``related_objects()``
        selects related rows.
        """
        sub_objs = self.related_objects(related_model, [field], batch)
        if sub_objs.query.select_related:
            return sub_objs
        referenced_fields = {
            target.attname
            for relation in deletion.get_candidate_relations_to_delete(related_model._meta)
            for target in relation.field.foreign_related_fields  # type: ignore[attr-defined]
        }
        return sub_objs.only(*referenced_fields)

    def _parents(self, objs: list[Any], ptr: Any) -> Plan[list[Model]]:
        """Return the parent objects of the multi-table children *objs* through *ptr*.

        Django reads them with ``getattr(obj, ptr.name)``, which on a vinyl instance is a
        query. A parent already cached on the child is that one; any other is made from
        the child's loaded fields (deleting it needs only its primary key) and is not
        cached on the child. A link the child has not loaded is read, once for all.
        """
        unloaded = [obj.pk for obj in objs if ptr.attname not in obj.__dict__]
        if unloaded:
            model: Any = objs[0]._meta.model
            rows = yield Read(
                model._base_manager.using(self.using)
                .filter(pk__in=unloaded)
                .values_list("pk", ptr.attname)
            )
            links = dict(rows)
            for obj in objs:
                if obj.pk in links:
                    obj.__dict__[ptr.attname] = links[obj.pk]
        parent: Any = ptr.remote_field.model
        names = [f.attname for f in parent._meta.concrete_fields]
        target = ptr.target_field.attname
        parents = []
        for obj in objs:
            cached = ptr.get_cached_value(obj, None)
            if cached is None:
                loaded = {name: obj.__dict__[name] for name in names if name in obj.__dict__}
                loaded[target] = obj.__dict__[ptr.attname]
                cached = parent.from_db(self.using, list(loaded), list(loaded.values()))
            parents.append(cached)
        return parents

    def _has_content_type(self, field: Any) -> Plan[bool]:
        """Return whether the content type that *field*'s rows name exists on the alias.

        ``bulk_related_objects()`` takes it from ``ContentType.objects``' cache, which
        would fill itself through Django's own connection: it is read through vinyl and
        put there first. With no content type there are no rows to collect (Django would
        create the content type).
        """
        # Imported here: this module loads before Django's app registry is ready.
        from django.contrib.contenttypes.models import ContentType

        manager: Any = ContentType.objects.db_manager(self.using)
        opts = manager._get_opts(field.model, getattr(field, "for_concrete_model", True))
        try:
            manager._get_from_cache(opts)
        except KeyError:
            found = yield Read(manager.filter(app_label=opts.app_label, model=opts.model_name))
            for content_type in found:
                manager._add_to_cache(self.using, content_type)
            return bool(found)
        return True

    def _check_restricted(self, model: Any) -> Plan[None]:
        """Raise ``RestrictedError`` for restricted rows that nothing else deletes; as Django."""
        # Keyed by model (_ByModel): Django's stubs key it by instance.
        by_model: Any = self.restricted_objects
        for related_model, instances in self.data.items():
            self.clear_restricted_objects_from_set(related_model, instances)  # type: ignore[arg-type]
        for qs in self.fast_deletes:
            if qs.model in by_model:
                pks = [obj.pk for objs in by_model[qs.model].values() for obj in objs]
                deleted = yield Read(qs.filter(pk__in=pks))
                self.clear_restricted_objects_from_set(qs.model, set(deleted))
        restricted_objects: defaultdict[str, list[Model]] = defaultdict(list)
        for related_model, fields in by_model.items():
            for field, objs in fields.items():
                if objs:
                    key = f"'{related_model.__name__}.{field.name}'"
                    restricted_objects[key] += objs
        if restricted_objects:
            raise RestrictedError(
                f"Cannot delete some instances of model {model.__name__!r} because they are "
                f"referenced through restricted foreign keys: {', '.join(restricted_objects)}.",
                set(chain.from_iterable(restricted_objects.values())),
            )

    def _lone_instance(self) -> Model | None:
        """Return the one collected object when Django deletes it alone, in one statement."""
        if len(self.data) != 1:
            return None
        [instances] = self.data.values()
        if len(instances) != 1:
            return None
        [instance] = instances
        return instance if self.can_fast_delete(instance) else None

    @property
    def atomic(self) -> bool:
        """Return whether the collected delete may take more than one statement.

        Django deletes one object that nothing refers to with one statement, outside a
        transaction; so does vinyl, and also a queryset deleted with one statement
        (Django runs that one in a transaction of its own: the server's autocommit is as
        atomic).
        """
        if self._lone_instance() is not None:
            return False
        return any(self.data.values()) or bool(self.field_updates) or len(self.fast_deletes) > 1

    def delete_plan(self) -> Plan[Deleted]:
        """Delete what was collected; Django's ``Collector.delete()``, without signals.

        The instances keep their primary keys until :meth:`forget_primary_keys`.
        """
        for model, instances in self.data.items():
            self.data[model] = sorted(instances, key=attrgetter("pk"))
        # An order that works where constraints cannot be deferred to the commit.
        self.sort()
        counter: Counter[str] = Counter()
        lone = self._lone_instance()
        if lone is not None:
            meta: Any = lone._meta
            count = yield from self._delete_rows(meta.model, [lone.pk])
            return count, {meta.label: count}
        for qs in self.fast_deletes:
            count = yield from self._raw_delete(qs)
            if count:
                counter[qs.model._meta.label] += count
        field_updates: Any = self.field_updates  # Django's stubs say instances, not lists.
        for (field, value), instances_list in field_updates.items():
            updates: list[QuerySet[Any]] = []
            objs: list[Any] = []
            for instances in instances_list:
                if isinstance(instances, QuerySet) and instances._result_cache is None:
                    updates.append(instances)
                else:
                    objs.extend(instances)
            if updates:
                yield from self._update_queryset(reduce(or_, updates), field, value)
            if objs:
                pks = list({obj.pk for obj in objs})
                yield from self._update_rows(objs[0]._meta.model, pks, field, value)
        for instances in self.data.values():
            instances.reverse()  # type: ignore[union-attr]
        for model, instances in self.data.items():
            count = yield from self._delete_rows(model, [obj.pk for obj in instances])
            if count:
                counter[model._meta.label] += count
        return sum(counter.values()), dict(counter)

    def forget_primary_keys(self) -> None:
        """Set the primary key of each deleted instance to ``None``, as Django does.

        Django does it once its transaction has committed: a delete that fails at the
        commit (a deferred constraint) leaves the instances as they were.
        """
        for model, instances in self.data.items():
            for instance in instances:
                setattr(instance, model._meta.pk.attname, None)

    def _raw_delete(self, qs: QuerySet[Any]) -> Plan[int]:
        """Delete the rows of *qs* with one statement; Django's ``QuerySet._raw_delete()``."""

        def build(compile_alias: str) -> Any:
            query = qs.query.clone()
            query.__class__ = DeleteQuery
            return query.get_compiler(compile_alias)

        return (yield from run_compiler(self.using, build))

    def _delete_rows(self, model: Any, pks: list[Any]) -> Plan[int]:
        """Delete the rows of *model* with primary keys *pks*; Django's ``delete_batch()``."""
        count = 0
        for offset in range(0, len(pks), GET_ITERATOR_CHUNK_SIZE):
            chunk = pks[offset : offset + GET_ITERATOR_CHUNK_SIZE]

            def build(compile_alias: str, chunk: list[Any] = chunk) -> Any:
                query: Any = DeleteQuery(model)  # Django's stubs mistype add_filter().
                query.add_filter(f"{model._meta.pk.attname}__in", chunk)
                return query.get_compiler(compile_alias)

            count += yield from run_compiler(self.using, build)
        return count

    def _update_queryset(self, qs: QuerySet[Any], field: Any, value: Any) -> Plan[int]:
        """Set *field* to *value* on the rows of *qs*; Django's ``qs.update(field=value)``."""

        def build(compile_alias: str) -> Any:
            query: Any = qs.query.chain(UpdateQuery)
            query.add_update_values({field.name: value})
            query.clear_select_clause()
            return query.get_compiler(compile_alias)

        return (yield from run_compiler(self.using, build))

    def _update_rows(self, model: Any, pks: list[Any], field: Any, value: Any) -> Plan[int]:
        """Set *field* to *value* on the rows of *model* with primary keys *pks*; Django's
        ``UpdateQuery.update_batch()``."""
        count = 0
        for offset in range(0, len(pks), GET_ITERATOR_CHUNK_SIZE):
            chunk = pks[offset : offset + GET_ITERATOR_CHUNK_SIZE]

            def build(compile_alias: str, chunk: list[Any] = chunk) -> Any:
                query: Any = UpdateQuery(model)
                query.add_update_values({field.name: value})
                query.add_filter("pk__in", chunk)
                return query.get_compiler(compile_alias)

            count += yield from run_compiler(self.using, build)
        return count


@dataclass(frozen=True, slots=True)
class Deletion:
    """A ``delete()`` Django accepts: *objs* to collect with *collector*, then delete."""

    collector: Collector
    objs: Any
    keep_parents: bool = False

    def collect(self) -> Plan[None]:
        """Return the plan that collects what the delete reaches (reads only)."""
        return self.collector.collect_plan(self.objs, keep_parents=self.keep_parents)


def instance_deletion(obj: Model, using: str | None, keep_parents: bool) -> Deletion:
    """Return the deletion of *obj* on *using* (else where the router sends its writes).

    Django's checks first.
    """
    if not obj._is_pk_set():  # type: ignore[attr-defined]
        meta: Any = obj._meta
        raise ValueError(
            f"{meta.object_name} object can't be deleted because its {meta.pk.attname} "
            f"attribute is set to None."
        )
    alias = write_alias(obj, using, "delete")
    return Deletion(Collector(alias, origin=obj), [obj], keep_parents)


def queryset_deletion(queryset: QuerySet[Any]) -> Deletion:
    """Return the deletion of *queryset*'s rows; Django's refusals, with its messages."""
    private: Any = queryset  # Django's stubs leave the private helpers out.
    private._not_support_combined_queries("delete")
    if queryset.query.is_sliced:
        raise TypeError("Cannot use 'limit' or 'offset' with delete().")
    if queryset.query.distinct_fields:
        raise TypeError("Cannot call delete() after .distinct(*fields).")
    if private._fields is not None:
        raise TypeError("Cannot call delete() after .values() or .values_list()")
    del_query = private._chain()
    # Read on the alias that deletes; SELECT ... FOR UPDATE, joins and order are not needed.
    del_query._for_write = True
    del_query.query.select_for_update = False
    del_query.query.select_related = False
    del_query.query.clear_ordering(force=True)
    return Deletion(Collector(del_query.db, origin=queryset), del_query)

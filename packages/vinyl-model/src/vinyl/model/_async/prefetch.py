"""``prefetch_related()`` for vinyl instances: Django's plan, vinyl's reads.

The loop follows Django's ``prefetch_related_objects()`` (lookups, nesting, ``Prefetch``
with ``queryset``/``to_attr``, automatic lookups from a prefetch queryset). For each level
Django's own prefetcher (``get_prefetch_querysets()``) builds the query and the matching
functions, run on a replay twin so its read goes through vinyl. Two kinds of relation
have their own prefetcher here: generic foreign keys, whose Django prefetcher reads
content types and objects on Django's connections, and foreign keys (forward or reverse)
read with their default queryset (the most common prefetches), so that their query has a
plan.

Each instance's many-valued relation is stored as the list of its related objects,
where Django stores a related manager's queryset holding that list: vinyl's related
managers never read it, ``obj[name]`` does.

The read path (``vinyl.model._async.fetch``) runs the prefetch after it decodes a result;
the prefetch reads through the flavor's queryset class (*queryset_class*), whose reads end
in that read path again.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Callable, Sequence
from operator import attrgetter
from typing import Any

from django.apps import apps
from django.core import exceptions
from django.db.models import Model, Prefetch, QuerySet
from django.db.models.constants import LOOKUP_SEP
from django.db.models.fields.related_descriptors import (
    ForwardManyToOneDescriptor,
    ReverseManyToOneDescriptor,
    ReverseOneToOneDescriptor,
)
from django.db.models.query import get_prefetcher, normalize_prefetch_lookups
from vinyl.model._async.contenttypes import content_type, content_types
from vinyl.model._async.manager_methods import ManagerMethods
from vinyl.model._descriptors_compat import generic_foreign_key
from vinyl.model._instances import alias_of, read_alias, with_fetch_mode

__all__ = ["keys_lookup", "prefetch_related_objects"]

#: What a prefetcher returns: the related objects (evaluated), the same grouped by the key
#: that matches them to an instance, the function giving an instance's key, whether the
#: relation is single-valued, and where to store it.
Prefetched = tuple[list[Any], dict[Any, list[Any]], Callable[[Any], Any], bool, str, bool]


async def prefetch_related_objects(
    queryset_class: type[Any],
    model_instances: Sequence[Any],
    *related_lookups: str | Prefetch[Any, Any, Any],
) -> None:
    """Populate the prefetched relations of *model_instances*, as Django's function does."""
    if not model_instances:
        return
    done_queries: dict[str, list[Any]] = {}
    auto_lookups: set[Prefetch[Any, Any, Any]] = set()
    followed_descriptors: set[Any] = set()
    all_lookups = normalize_prefetch_lookups(list(reversed(related_lookups)))
    while all_lookups:
        lookup = all_lookups.pop()
        if lookup.prefetch_to in done_queries:
            if lookup.queryset is not None:
                raise ValueError(
                    f"'{lookup.prefetch_to}' lookup was already seen with a different "
                    f"queryset. You may need to adjust the ordering of your lookups."
                )
            continue
        obj_list: Sequence[Any] = model_instances
        through_attrs = lookup.prefetch_through.split(LOOKUP_SEP)
        for level, through_attr in enumerate(through_attrs):
            if not obj_list:
                break
            prefetch_to = lookup.get_current_prefetch_to(level)
            if prefetch_to in done_queries:
                obj_list = done_queries[prefetch_to]
                continue
            if not all(isinstance(obj, Model) for obj in obj_list):
                # values()/values_list() rows: prefetching makes no sense, as in Django.
                break
            for obj in obj_list:
                if not hasattr(obj, "_prefetched_objects_cache"):
                    obj._prefetched_objects_cache = {}
            first_obj = obj_list[0]
            to_attr = lookup.get_current_to_attr(level)[0]
            found: Any = get_prefetcher(first_obj, through_attr, to_attr)
            prefetcher, descriptor, attr_found, is_fetched = found
            if not attr_found:
                raise AttributeError(
                    f"Cannot find '{through_attr}' on {type(first_obj).__name__} object, "
                    f"'{lookup.prefetch_through}' is an invalid parameter to "
                    f"prefetch_related()"
                )
            if level == len(through_attrs) - 1 and prefetcher is None:
                raise ValueError(
                    f"'{lookup.prefetch_through}' does not resolve to an item that supports "
                    f"prefetching - this is an invalid parameter to prefetch_related()."
                )
            obj_to_fetch = []
            if prefetcher is not None:
                obj_to_fetch = [obj for obj in obj_list if not is_fetched(obj)]
            if obj_to_fetch:
                obj_list, additional_lookups = await _prefetch_one_level(
                    queryset_class, obj_to_fetch, prefetcher, lookup, level, through_attr
                )
                # Don't keep adding lookups from relationships already followed.
                if not (
                    prefetch_to in done_queries
                    and lookup in auto_lookups
                    and descriptor in followed_descriptors
                ):
                    done_queries[prefetch_to] = obj_list
                    new_lookups = normalize_prefetch_lookups(
                        list(reversed(additional_lookups)), prefetch_to
                    )
                    auto_lookups.update(new_lookups)
                    all_lookups.extend(new_lookups)
                followed_descriptors.add(descriptor)
            else:
                obj_list = _loaded_objects(obj_list, through_attr)


def _loaded_objects(obj_list: Sequence[Any], through_attr: str) -> list[Any]:
    # A level already loaded (select_related(), an earlier prefetch): descend through what
    # is cached, never through the eager attribute, which would query.
    loaded = []
    for obj in obj_list:
        if through_attr in obj._prefetched_objects_cache:
            loaded.extend(obj._prefetched_objects_cache[through_attr])
            continue
        try:
            new_obj = obj[through_attr]
        except exceptions.FieldError:
            continue
        if isinstance(new_obj, list):
            loaded.extend(new_obj)
        elif new_obj is not None:
            loaded.append(new_obj)
    return loaded


async def _prefetch_one_level(
    queryset_class: type[Any],
    instances: list[Any],
    prefetcher: Any,
    lookup: Prefetch[Any, Any, Any],
    level: int,
    through_attr: str,
) -> tuple[list[Any], list[Prefetch[Any, Any, Any]]]:
    alias = alias_of(instances[0])
    custom = lookup.get_current_querysets(level)
    # A Prefetch queryset's own prefetch_related() lookups continue this walk (as in
    # Django); copies, as a Prefetch may be reused.
    additional = [
        copy.copy(extra)
        for qs in custom or ()
        for extra in getattr(qs, "_prefetch_related_lookups", ())
    ]
    # They also run inside its evaluation where Django's prefetcher evaluates it itself;
    # the walk then finds them fetched.
    keep = _evaluates_queryset(prefetcher)
    gfk = generic_foreign_key(getattr(prefetcher, "django", None))
    base = None
    if gfk is None:
        # A relation reads where Django's router sends it, with the first instance as hint
        # (as Django's prefetcher).
        model = _related_model(prefetcher)
        read = read_alias(model, instances[0])
        base = queryset_class(model, using=read)
        if not isinstance(prefetcher, ManagerMethods):
            # A relation to one object reads with the first instance's fetch mode (Django
            # 6.1), as Django's descriptors do; a related manager's prefetch with the default.
            with_fetch_mode(base, instances[0])
    else:
        # A generic foreign key reads on the instances' alias, as Django's.
        read = alias
    # A Prefetch queryset given its alias with using() reads there, as in Django's
    # prefetchers (queryset.using(queryset._db or ...)).
    custom = [_on_alias(queryset_class, qs, qs._db or read, keep) for qs in custom or ()]
    if gfk is not None:
        prefetched = await _prefetch_generic(queryset_class, gfk, instances, custom)
    elif not custom and (reverse := _reverse_foreign_key(prefetcher)) is not None:
        prefetched = await _prefetch_reverse_foreign_key(reverse, base, instances)
    elif not custom and (forward := _forward_foreign_key(prefetcher)) is not None:
        prefetched = await _prefetch_forward_foreign_key(forward, base, instances)
    else:
        # Django's generic relation manager reads its content type from Django's cache; a
        # project without contenttypes has no generic relation (nor the ContentType model).
        if apps.is_installed("django.contrib.contenttypes"):
            await content_types(queryset_class, alias)
        prefetched = await _prefetch_django(prefetcher, instances, custom or [base])
    all_related, rel_obj_cache, instance_attr, single, cache_name, is_descriptor = prefetched
    to_attr, as_attr = lookup.get_current_to_attr(level)
    if as_attr:
        try:
            instances[0]._meta.get_field(to_attr)
        except exceptions.FieldDoesNotExist:
            pass
        else:
            raise ValueError(
                f"to_attr={to_attr} conflicts with a field on the "
                f"{type(instances[0]).__name__} model."
            )
    for obj in instances:
        vals = rel_obj_cache.get(instance_attr(obj), [])
        if single:
            val = vals[0] if vals else None
            if as_attr:
                setattr(obj, to_attr, val)
            elif is_descriptor:
                setattr(obj, cache_name, val)
            else:
                obj._state.fields_cache[cache_name] = val
        elif as_attr:
            setattr(obj, to_attr, vals)
        else:
            # Under the attribute name, which obj[name] and Django's is_fetched read.
            obj._prefetched_objects_cache[through_attr] = vals
    return all_related, additional


def _on_alias(
    queryset_class: type[Any], queryset: QuerySet[Any], alias: str, keep_lookups: bool
) -> Any:
    """Return *queryset* as the flavor's, on *alias*; without its ``prefetch_related()``
    lookups unless *keep_lookups*."""
    clone = queryset_class.from_django(queryset, alias)
    if not keep_lookups:
        clone._prefetch_related_lookups = ()
    return clone


def _evaluates_queryset(prefetcher: Any) -> bool:
    """Whether Django's *prefetcher* evaluates a ``Prefetch`` queryset itself.

    A reverse foreign key's, to set the reverse cache of the objects that have none, and
    a one-to-one's (either way), to set it on all: the queryset's own ``prefetch_related()``
    lookups run then, before that cache is set. A ``Prefetch`` back to the parent
    (``Prefetch("rooms", Room.objects.prefetch_related(Prefetch("house", ...)))``) is thus
    read, and kept by a reverse foreign key. The other prefetchers (many-to-many, generic
    relations, a forward foreign key) leave the queryset to ``prefetch_one_level()``,
    which drops its lookups before reading it.
    """
    if isinstance(prefetcher, ManagerMethods):
        return type(getattr(prefetcher, "descriptor", None)) is ReverseManyToOneDescriptor
    django = getattr(prefetcher, "django", None)
    if isinstance(django, ReverseOneToOneDescriptor):
        return True
    if isinstance(django, ForwardManyToOneDescriptor):
        return not django.field.remote_field.multiple
    return False


async def _prefetch_django(
    prefetcher: Any, instances: list[Any], base: Sequence[Any]
) -> Prefetched:
    def plan(twin: QuerySet[Any]) -> tuple[Any, ...]:
        rel_qs, *rest = prefetcher.get_prefetch_querysets(instances, [twin])
        return (list(rel_qs), *rest)

    related, rel_obj_attr, *rest = await base[0].run_django(plan)
    return (related, _grouped(related, rel_obj_attr), *rest)


def _grouped(related: list[Any], key: Callable[[Any], Any]) -> dict[Any, list[Any]]:
    """Return *related* grouped by *key*, each group in their order."""
    groups: defaultdict[Any, list[Any]] = defaultdict(list)
    for rel_obj in related:
        groups[key(rel_obj)].append(rel_obj)
    return groups


def _reverse_foreign_key(prefetcher: Any) -> Any:
    """Return the foreign key behind *prefetcher* if it is a one-column reverse one."""
    descriptor = getattr(prefetcher, "descriptor", None)
    if type(descriptor) is not ReverseManyToOneDescriptor:
        return None  # many-to-many and generic relations subclass it
    field = descriptor.rel.field
    if not field.many_to_one:
        return None  # a GenericRelation's reverse accessor: Django's prefetcher reads it
    return field if len(field.foreign_related_fields) == 1 else None


async def _prefetch_reverse_foreign_key(field: Any, base: Any, instances: list[Any]) -> Prefetched:
    """Do what Django's reverse foreign key prefetcher does with its default queryset.

    The same query and the same reverse cache, but filtered on the instances' keys rather
    than on the instances, so that its plan is reused: Django normalises each instance to
    its key on every prefetch.
    """
    key, foreign_key = field.foreign_related_fields[0].attname, field.attname
    by_key = {getattr(instance, key): instance for instance in instances}
    # In order of first appearance, as Django's IN list of the instances.
    related = await base.filter(**{keys_lookup(field): list(by_key)})._evaluate()
    cache_name = field.cache_name
    groups: defaultdict[Any, list[Any]] = defaultdict(list)
    # One pass per related object: set its reverse cache (field.set_cached_value(),
    # inlined) and group it by its instance's key. The default queryset loads every
    # field: the key is read from the instance's dict, not through the key's attribute
    # (a data descriptor, so a call per object).
    for rel_obj in related:
        value = rel_obj.__dict__[foreign_key]
        rel_obj._state.fields_cache[cache_name] = by_key[value]
        groups[value].append(rel_obj)
    return (
        related,
        groups,
        attrgetter(key),
        False,
        field.remote_field.cache_name,
        False,
    )


def _forward_foreign_key(prefetcher: Any) -> Any:
    """Return the foreign key behind *prefetcher* if it is a one-column forward one."""
    if type(getattr(prefetcher, "django", None)) is not ForwardManyToOneDescriptor:
        return None  # one-to-one fields subclass it, and also set a reverse cache
    field = prefetcher.django.field
    return field if len(field.foreign_related_fields) == 1 else None


async def _prefetch_forward_foreign_key(field: Any, base: Any, instances: list[Any]) -> Prefetched:
    """Do what Django's forward foreign key prefetcher does with its default queryset.

    The same query (the related objects whose key is one of the instances', unordered),
    on a list of the keys in order of first appearance where Django builds a set, so that
    its plan is reused; null keys are left out, as Django's ``IN`` list leaves them out.
    """
    key, target = field.attname, field.foreign_related_fields[0]
    keys = [
        value
        for value in dict.fromkeys(getattr(obj, key) for obj in instances)
        if value is not None
    ]
    related = await base.filter(**{f"{target.name}__in": keys}).order_by()._evaluate()
    groups = _grouped(related, attrgetter(target.attname))
    return related, groups, attrgetter(key), True, field.cache_name, False


def keys_lookup(field: Any) -> str:
    """Return the lookup filtering *field*'s model on a list of its target's values.

    ``<fk>__<target>__in`` compiles to the SQL of Django's ``<fk>__in`` (the join to the
    target is trimmed) and prepares each value once, through the target field, where the
    foreign key's lookup does it three times.
    """
    target = field.foreign_related_fields[0]
    if target.is_relation:
        return f"{field.name}__in"  # a parent link: its own lookup would go on through it
    return f"{field.name}__{target.name}__in"


def _related_model(prefetcher: Any) -> type[Model]:
    # What Django's prefetcher reads by default: the related model, unfiltered.
    if isinstance(prefetcher, ManagerMethods):
        model: type[Model] = prefetcher.model  # a related manager
    elif hasattr(prefetcher.django, "related"):
        model = prefetcher.django.related.related_model  # reverse one-to-one
    else:
        model = prefetcher.django.field.remote_field.model  # forward foreign key / one-to-one
    return model


async def _prefetch_generic(
    queryset_class: type[Any], gfk: Any, instances: list[Any], custom: Sequence[Any]
) -> Prefetched:
    alias = alias_of(instances[0])
    custom_by_model = {qs.model: qs for qs in custom}
    ct_attname = gfk.model._meta.get_field(gfk.ct_field).attname
    fk_dict: defaultdict[Any, set[Any]] = defaultdict(set)
    for instance in instances:
        ct_id, fk_val = getattr(instance, ct_attname), getattr(instance, gfk.fk_field)
        if ct_id is not None and fk_val is not None:
            fk_dict[ct_id].add(fk_val)
    models: dict[Any, type[Model]] = {}
    related: list[Any] = []
    for ct_id, fkeys in fk_dict.items():
        model = (await content_type(queryset_class, alias, ct_id)).model_class()
        assert model is not None
        models[ct_id] = model
        if model in custom_by_model:
            base = custom_by_model[model]
        else:
            base = queryset_class(model, using=alias)
        # Every queryset, the Prefetch's too, reads with the first instance's fetch mode
        # (Django 6.1), as Django's generic foreign key prefetch.
        related.extend(await with_fetch_mode(base.filter(pk__in=fkeys), instances[0]))

    def instance_key(instance: Model) -> Any:
        ct_id = getattr(instance, ct_attname)
        if ct_id is None:
            return None
        return str(getattr(instance, gfk.fk_field)), models.get(ct_id)

    def related_key(obj: Model) -> Any:
        return obj._meta.pk.value_to_string(obj), obj._meta.model

    return related, _grouped(related, related_key), instance_key, True, gfk.name, False

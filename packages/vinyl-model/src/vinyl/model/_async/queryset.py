"""``VinylQuerySet``: Django's lazy queryset, evaluated through vinyl's driver.

Building (``filter``, ``annotate``, ``values``, ``union``...) is Django's, unchanged.
Every path where Django would read from its own connection is replaced: evaluation
(``await qs`` / ``async for``; ``list(qs)`` in the sync flavor) compiles, fetches and
decodes through ``vinyl.query``; ``get()``, ``count()``, ``aggregate()``, ``latest()``...
run Django's own method on a replay twin (``vinyl.model._replay``) so that its logic and
messages stay Django's while the reads go through vinyl.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from django.db import NotSupportedError
from django.db.models import Model, QuerySet
from django.db.models.query import MAX_GET_RESULTS
from django.db.models.sql import Query
from vinyl.model import _plans, _replay
from vinyl.model._async import instance as instances
from vinyl.model._async import prefetch
from vinyl.model._async.raw import VinylRawQuerySet, vinyl_raw_queryset
from vinyl.model._compat import AsyncEvaluation
from vinyl.model._messages import (
    django_async_method,
    no_chunked_fetching,
    reads_only,
)
from vinyl.query._async import connection, fetch_sql
from vinyl.query.compiler import compile_with
from vinyl.query.databases import get_backend
from vinyl.query.decode import Decoder, decoder

#: Django's ``QuerySet.query`` property, whose setter ``VinylQuerySet.query`` extends.
_DJANGO_QUERY: property = QuerySet.query  # type: ignore[assignment]

__all__ = [
    "QuerySetMethods",
    "VinylQuerySet",
    "alias_of",
    "content_type",
    "content_types",
    "run_django",
    "vinyl_queryset",
]


class VinylQuerySet(AsyncEvaluation, QuerySet[Any]):
    """A Django queryset whose reads run on a vinyl alias, returning vinyl instances.

    The reading methods are coroutines in the async flavor, so they override Django's sync
    ones with another return type (``type: ignore[override]``; the sync twin needs none).
    """

    #: How this queryset was built, for ``vinyl.model._plans``; ``None`` when unknown.
    _shape: tuple[Any, ...] | None = None
    #: The filter values of the shape, in the order the plan binds them.
    _shape_values: tuple[Any, ...] = ()
    _known_related_objects: dict[Any, dict[Any, Model]]  # Django's; its stubs leave it out.

    def __init__(
        self,
        model: type[Model] | None = None,
        query: Any = None,
        using: str | None = None,
        hints: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(model, query, using, hints)
        if query is None and model is not None and using is not None:
            # Every query of the model starts as this one: the root of its shapes. The
            # class tells the flavors apart, whose instances differ.
            self._shape = (type(self), model, using)

    def _set_query(self, value: Query) -> None:
        # A query set from outside (unpickled, say) is not the one the shape describes.
        _DJANGO_QUERY.fset(self, value)  # type: ignore[misc]
        self._shape, self._shape_values = None, ()

    # Django's getter itself, not a wrapper: builders read ``query`` on every call.
    query = _DJANGO_QUERY.setter(_set_query)

    async def _evaluate(self) -> list[Any]:
        """Fill the result cache (and the prefetched relations) once; return it."""
        if self._result_cache is None:
            self._result_cache = await self._fetch()
        await prefetch.prefetch_once(self)
        return self._result_cache

    def _plan_shape(self) -> tuple[Any, ...] | None:
        """Return the shape, if it tells all there is to know of the query; else ``None``.

        A related manager sets its instance on its queryset in place
        (``_known_related_objects``): that is not part of any shape.
        """
        return None if self._known_related_objects else self._shape

    async def _fetch(self) -> list[Any]:
        """Return the results of the query, through the plan of its shape when there is one.

        Without a plan the queryset is compiled by Django, and the plan of its shape learnt.
        """
        alias = self.db
        shape = self._plan_shape()
        if shape is not None:
            bound = _plans.bound_query(shape, self.query)
            if bound is not None:
                return await self._read(alias, *bound)
        dialect = get_backend(alias).dialect
        compiled = compile_with(self, _replay.compile_wrapper(alias), dialect)
        decode_rows = decoder(self, compiled, instance_class=instances.instance_class)
        if shape is not None:
            _plans.learn(shape, self, compiled, decode_rows, dialect, self._shape_values)
        return await self._read(alias, compiled.sql, compiled.params, decode_rows)

    async def _read(
        self, alias: str, sql: str, params: Sequence[Any], decode_rows: Decoder
    ) -> list[Any]:
        """Run *sql* (nothing when empty: no row can match) and decode its rows."""
        rows: Sequence[Any] = []
        if sql:
            async with connection(alias) as conn:
                rows = await conn.fetch(sql, params)
        objs = decode_rows(rows)
        if objs and not isinstance(objs[0], instances.VinylInstance):
            # What the decoder could not build as vinyl's (select_related(), a model with
            # code of its own) is swapped; it builds all rows alike.
            instances.to_vinyl(objs)
        return objs

    def _traced(
        self, clone: Any, call: tuple[Any, ...] | None, values: tuple[Any, ...] = ()
    ) -> VinylQuerySet:
        """Return *clone*, made by the builder call *call*, with this queryset's shape plus it.

        Only builder calls whose effect on the query depends on nothing but their arguments
        are traced (*call* is ``None`` for any other); a clone made any other way
        (``_chain()``) has no shape.
        """
        result: VinylQuerySet = clone
        if self._shape is not None and call is not None:
            result._shape = (*self._shape, call)
            result._shape_values = self._shape_values + values
        return result

    def all(self) -> VinylQuerySet:
        """Return a copy of the queryset; as Django's ``all()``."""
        clone: VinylQuerySet = super().all()
        clone._shape, clone._shape_values = self._shape, self._shape_values
        return clone

    def filter(self, *args: Any, **kwargs: Any) -> VinylQuerySet:
        """Return a new queryset with the lookups added; as Django's ``filter()``."""
        shaped = None if args or self._shape is None else _plans.filter_shape(kwargs)
        if shaped is None:
            return self._traced(super().filter(*args, **kwargs), None)
        call, values = shaped
        return self._templated(call, values, lambda: super(VinylQuerySet, self).filter(**kwargs))

    def _templated(
        self, call: tuple[Any, ...], values: tuple[Any, ...], build: Callable[[], Any]
    ) -> VinylQuerySet:
        """Return ``build()`` (Django's builder call, traced as *call* with *values*).

        A call a queryset of this shape made before is not built again: the queryset
        Django built then is the template of this one (see ``vinyl.model._plans``).
        """
        root = self._shape
        if root is None:
            return self._traced(build(), None)
        shape = (*root, call)
        template = _plans.template(shape)
        private: Any = self  # Django's stubs leave the private attributes out.
        if template is None or private._sticky_filter or private._defer_next_filter:
            clone = build()
            if template is None:
                _plans.learn_template(shape, self.query, clone, values)
        else:
            clone = private._chain()
            # Not the query setter: it would reset the iterable class of values().
            clone._query = template.build(self.query, values)
            clone._iterable_class, clone._fields = template.iterable_class, template.fields
        return self._traced(clone, call, values)

    def using(self, alias: str | None) -> VinylQuerySet:
        """Return a queryset on the alias *alias*; as Django's ``using()``."""
        # Without an alias the router picks one, maybe from hints: not part of a shape.
        return self._traced(super().using(alias), None if alias is None else ("using", alias))

    def values(self, *fields: Any, **expressions: Any) -> VinylQuerySet:
        """Return a queryset of dicts; as Django's ``values()``."""
        if expressions or not _names(fields):
            return self._traced(super().values(*fields, **expressions), None)
        return self._templated(
            ("values", fields), (), lambda: super(VinylQuerySet, self).values(*fields)
        )

    def values_list(self, *fields: Any, flat: bool = False, named: bool = False) -> VinylQuerySet:
        """Return a queryset of tuples (or values, with *flat*); as Django's ``values_list()``."""

        def build() -> Any:
            return super(VinylQuerySet, self).values_list(*fields, flat=flat, named=named)

        # Without fields, Django may warn (flat=True): a template would warn only once.
        if not fields or not _names(fields):
            return self._traced(build(), None)
        return self._templated(("values_list", fields, flat, named), (), build)

    def order_by(self, *field_names: Any) -> VinylQuerySet:
        """Return a queryset ordered by *field_names*; as Django's ``order_by()``."""
        if not _names(field_names):
            return self._traced(super().order_by(*field_names), None)
        return self._templated(
            ("order_by", field_names), (), lambda: super(VinylQuerySet, self).order_by(*field_names)
        )

    def prefetch_related(self, *lookups: Any) -> VinylQuerySet:
        """Return a queryset prefetching *lookups*; as Django's ``prefetch_related()``.

        Prefetching runs after the query: it leaves the query's plan as it is.
        """
        call = ("prefetch_related", lookups) if _names(lookups) else None
        return self._traced(super().prefetch_related(*lookups), call)

    def only(self, *fields: Any) -> VinylQuerySet:
        """Return a queryset loading only *fields*; as Django's ``only()``."""
        if not _names(fields):
            return self._traced(super().only(*fields), None)
        return self._templated(
            ("only", fields), (), lambda: super(VinylQuerySet, self).only(*fields)
        )

    def defer(self, *fields: Any) -> VinylQuerySet:
        """Return a queryset deferring *fields*; as Django's ``defer()``."""
        if not _names(fields):
            return self._traced(super().defer(*fields), None)
        return self._templated(
            ("defer", fields), (), lambda: super(VinylQuerySet, self).defer(*fields)
        )

    async def __aiter__(self) -> Any:
        for obj in await self._evaluate():  # noqa: UP028 - no "yield from" in async code
            yield obj

    def __repr__(self) -> str:
        if self._result_cache is None:
            # Django's repr would read the first rows; a repr never does I/O here.
            return f"<{type(self).__name__} of {self.model.__name__} on {self.db!r}, unevaluated>"
        return super().__repr__()

    async def get(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override,unused-ignore]
        """Return the one object matching the lookups; as Django's ``get()``.

        The hot path builds the query as Django's ``get()`` does and reads it once (or runs
        the plan of the same shape, see ``vinyl.model._plans``); only a result that is not
        exactly one row (or a combined query) goes through Django's own method, replayed
        with that result, for Django's exception and message.
        """
        if self.query.combinator:
            return await run_django(lambda qs: qs.get(*args, **kwargs), self)
        shape, values, bound = None, self._shape_values, None
        root = self._plan_shape()
        if root is not None and not args and (shaped := _plans.filter_shape(kwargs)):
            # filter_shape() returned the shape of the lookups and their values.
            shape, values = (*root, ("get", *shaped[0])), values + shaped[1]
            bound = _plans.bound(shape, values)
        if bound is not None:
            results = await self._read(self.db, *bound)
        else:
            clone = self.filter(*args, **kwargs)
            # What follows changes the clone's query in place: its shape is get()'s.
            clone._shape, clone._shape_values = shape, values
            if self.query.can_filter() and not self.query.distinct_fields:
                # What order_by() does, on the clone filter() made rather than on another one.
                clone.query.clear_ordering(force=True, clear_default=False)
                clone.query.add_ordering()
            features = get_backend(_replay.real_alias(clone.db)).wrapper.features
            if not clone.query.select_for_update or features.supports_select_for_update_with_limit:
                clone.query.set_limits(high=MAX_GET_RESULTS)
            results = await clone._evaluate()
        if len(results) == 1:
            return results[0]
        return _replay.run(lambda qs: qs.get(*args, **kwargs), self, [results])

    async def first(self) -> Any:  # type: ignore[override,unused-ignore]
        """Return the first object (by ``pk`` when unordered), or ``None``."""
        return await run_django(QuerySet.first, self)

    async def last(self) -> Any:  # type: ignore[override,unused-ignore]
        """Return the last object (by ``pk`` when unordered), or ``None``."""
        return await run_django(QuerySet.last, self)

    async def latest(self, *fields: Any) -> Any:  # type: ignore[override,unused-ignore]
        """Return the latest object by *fields* or ``Meta.get_latest_by``."""
        return await run_django(lambda qs: qs.latest(*fields), self)

    async def earliest(self, *fields: Any) -> Any:  # type: ignore[override,unused-ignore]
        """Return the earliest object by *fields* or ``Meta.get_latest_by``."""
        return await run_django(lambda qs: qs.earliest(*fields), self)

    async def count(self) -> int:  # type: ignore[override,unused-ignore]
        """Return the number of rows (the length of the cache when evaluated)."""
        if self._result_cache is not None:
            return len(self._result_cache)
        result: int = await run_django(QuerySet.count, self)
        return result

    async def exists(self) -> bool:  # type: ignore[override,unused-ignore]
        """Return whether the queryset has any row."""
        if self._result_cache is not None:
            return bool(self._result_cache)
        result: bool = await run_django(QuerySet.exists, self)
        return result

    async def contains(self, obj: Model) -> bool:  # type: ignore[override,unused-ignore]
        """Return whether *obj* is in the queryset."""
        if self._result_cache is not None:
            return QuerySet.contains(self, obj)
        result: bool = await run_django(lambda qs: qs.contains(obj), self)
        return result

    async def aggregate(self, *args: Any, **kwargs: Any) -> dict[str, Any]:  # type: ignore[override,unused-ignore]
        """Return a dict of the aggregates over the queryset; as Django's ``aggregate()``."""
        result: dict[str, Any] = await run_django(lambda qs: qs.aggregate(*args, **kwargs), self)
        return result

    async def in_bulk(  # type: ignore[override,unused-ignore]
        self, id_list: Iterable[Any] | None = None, *, field_name: str = "pk"
    ) -> dict[Any, Any]:
        """Return a dict mapping each value of *field_name* to its object."""
        result: dict[Any, Any] = await run_django(
            lambda qs: qs.in_bulk(id_list, field_name=field_name), self
        )
        return result

    async def explain(self, *, format: str | None = None, **options: Any) -> str:  # type: ignore[override,unused-ignore]
        """Return the database's plan for the queryset."""
        result: str = await run_django(lambda qs: qs.explain(format=format, **options), self)
        return result

    def iterator(self, chunk_size: int | None = None) -> Any:
        """Raise ``NotSupportedError``: vinyl fetches results whole (ARCHITECTURE §3.3)."""
        raise NotSupportedError(no_chunked_fetching("iterator"))

    def raw(  # type: ignore[override,unused-ignore]
        self,
        raw_query: str,
        params: Any = (),
        translations: dict[str, str] | None = None,
        using: str | None = None,
    ) -> VinylRawQuerySet:
        """Return a raw queryset mapping *raw_query*'s rows to instances; as Django's ``raw()``.

        *params* are in Django's ``%s`` paramstyle. The query runs on the queryset's vinyl
        alias (or *using*) when the raw queryset is evaluated.
        """
        return vinyl_raw_queryset(QuerySet.raw(self, raw_query, params, translations, using))

    def _not_yet(name: str) -> Callable[..., Any]:  # type: ignore[misc]  # noqa: N805
        def method(self: VinylQuerySet, *args: Any, **kwargs: Any) -> Any:
            raise NotSupportedError(reads_only(name))

        method.__name__ = name
        method.__doc__ = f"Raise ``NotSupportedError``: vinyl does not run {name}() yet."
        return method

    create = _not_yet("create")
    get_or_create = _not_yet("get_or_create")
    update_or_create = _not_yet("update_or_create")
    bulk_create = _not_yet("bulk_create")
    bulk_update = _not_yet("bulk_update")
    update = _not_yet("update")
    delete = _not_yet("delete")

    def _django_async(name: str) -> Callable[..., Any]:  # type: ignore[misc]  # noqa: N805
        def method(self: VinylQuerySet, *args: Any, **kwargs: Any) -> Any:
            raise NotSupportedError(django_async_method(name))

        method.__name__ = name
        method.__doc__ = f"Raise ``NotSupportedError``: use {name[1:]}() instead."
        return method

    aiterator = _django_async("aiterator")
    aaggregate = _django_async("aaggregate")
    acount = _django_async("acount")
    aget = _django_async("aget")
    acreate = _django_async("acreate")
    abulk_create = _django_async("abulk_create")
    abulk_update = _django_async("abulk_update")
    aget_or_create = _django_async("aget_or_create")
    aupdate_or_create = _django_async("aupdate_or_create")
    aearliest = _django_async("aearliest")
    alatest = _django_async("alatest")
    afirst = _django_async("afirst")
    alast = _django_async("alast")
    ain_bulk = _django_async("ain_bulk")
    adelete = _django_async("adelete")
    aupdate = _django_async("aupdate")
    aexists = _django_async("aexists")
    acontains = _django_async("acontains")
    aexplain = _django_async("aexplain")
    del _not_yet, _django_async


def _names(arguments: tuple[Any, ...]) -> bool:
    """Return whether every builder argument is a name (no expression or ``None``)."""
    return all(type(argument) is str for argument in arguments)


def vinyl_queryset(queryset: QuerySet[Any], using: str | None = None) -> VinylQuerySet:
    """Return *queryset* (Django's, a replay twin's or vinyl's) as a vinyl queryset.

    Its alias becomes *using* when given (a ``Prefetch`` queryset built from
    ``M.objects`` reads where its instances came from).
    """
    source: Any = queryset  # _chain() is private: Django's stubs leave it out.
    clone: Any = source._chain()
    clone.__class__ = VinylQuerySet
    clone._db = _replay.real_alias(using or clone.db)
    result: VinylQuerySet = clone
    return result


def alias_of(instance: Model) -> str:
    """Return the alias *instance* was read from; raise ``ValueError`` for an unsaved one."""
    alias = instance._state.db
    if alias is None:
        raise ValueError(
            f"{type(instance).__name__} instance was not read from a database: a relation is "
            f"read on the alias its instance came from."
        )
    return alias


async def run_django[T](method: Callable[[QuerySet[Any]], T], queryset: QuerySet[Any]) -> T:
    """Return ``method(twin)``, Django's sync code run on a replay twin of *queryset*.

    Each read the method makes is performed through vinyl, then the method is run again
    with the reads so far recorded (see ``vinyl.model._replay``).
    """
    results: list[Any] = []
    while True:
        try:
            return _replay.run(method, queryset, results)
        except _replay.Captured as captured:
            read = captured.read
        results.append(await _perform(read))


async def _perform(read: QuerySet[Any] | _replay.Statement) -> Sequence[Any]:
    if isinstance(read, _replay.Statement):
        return await fetch_sql(read.alias, read.sql, read.params)
    return await vinyl_queryset(read)._evaluate()


async def content_types(alias: str, *, reload: bool = False) -> dict[int, Model]:
    """Return the content types of *alias* by id, read through vinyl once per alias.

    They also fill Django's ``ContentType.objects`` cache for *alias*, which Django's
    generic relations read; left empty, that cache would fill itself with sync queries.
    *reload* reads them again (a content type created since the first read).
    """
    # Imported here: vinyl_async must import before Django's app registry is ready.
    from django.contrib.contenttypes.models import ContentType

    # _cache and _add_to_cache are private: Django's stubs leave them out.
    manager: Any = ContentType.objects.db_manager(alias)
    if reload or alias not in manager._cache:
        manager._cache.pop(alias, None)
        for found in await VinylQuerySet(ContentType, using=alias):
            manager._add_to_cache(alias, found)
    by_id: dict[int, Model] = {
        key: value for key, value in manager._cache.get(alias, {}).items() if isinstance(key, int)
    }
    return by_id


async def content_type(alias: str, ct_id: int) -> Any:
    """Return the content type *ct_id* of *alias*; raise ``ContentType.DoesNotExist``."""
    found = await content_types(alias)
    if ct_id not in found:
        found = await content_types(alias, reload=True)
    try:
        return found[ct_id]
    except KeyError:
        from django.contrib.contenttypes.models import ContentType

        raise ContentType.DoesNotExist(
            f"ContentType matching query does not exist (id={ct_id!r} on {alias!r})."
        ) from None


def _manager_method(name: str) -> Callable[..., Any]:
    method = getattr(VinylQuerySet, name)

    @functools.wraps(method)
    def proxy(self: QuerySetMethods, *args: Any, **kwargs: Any) -> Any:
        return getattr(self.get_queryset(), name)(*args, **kwargs)

    return proxy


class QuerySetMethods:
    """Give a manager every public method of ``VinylQuerySet``, run on ``get_queryset()``."""

    def get_queryset(self) -> VinylQuerySet:
        """Return the queryset the manager's methods start from."""
        raise NotImplementedError

    def all(self) -> VinylQuerySet:
        """Return a new queryset of every object of the manager."""
        return self.get_queryset()

    if TYPE_CHECKING:

        def __getattr__(self, name: str) -> Any: ...


for _name, _method in inspect.getmembers(VinylQuerySet, inspect.isfunction):
    if not _name.startswith("_") and not hasattr(QuerySetMethods, _name):
        if not getattr(_method, "queryset_only", False):
            setattr(QuerySetMethods, _name, _manager_method(_name))

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
from vinyl.model import _replay
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
from vinyl.query.decode import decode

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

    async def _evaluate(self) -> list[Any]:
        """Fill the result cache (and the prefetched relations) once; return it."""
        if self._result_cache is None:
            alias = self.db
            backend = get_backend(alias)
            compiled = compile_with(self, _replay.compile_wrapper(alias), backend.dialect)
            rows: Sequence[Any] = []
            if not compiled.empty:
                async with connection(alias) as conn:
                    rows = await conn.fetch(compiled.sql, compiled.params)
            objs = decode(self, compiled, rows, instance_class=instances.instance_class)
            # Only what decode() could not build as vinyl's (select_related()) is swapped.
            instances.to_vinyl(objs)
            self._result_cache = objs
        await prefetch.prefetch_once(self)
        return self._result_cache

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

        The hot path builds the query as Django's ``get()`` does and reads it once; only a
        result that is not exactly one row (or a combined query) goes through Django's own
        method, replayed with that result, for Django's exception and message.
        """
        if self.query.combinator:
            return await run_django(lambda qs: qs.get(*args, **kwargs), self)
        clone = self.filter(*args, **kwargs)
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

"""``ManagerMethods``: the queryset methods every vinyl manager offers, typed.

Django copies its queryset's methods onto its managers at import; vinyl writes them out,
so that each has its signature and return type (``await Author.vinyl.get(pk=1)`` is an
``Author``, ``count()`` an ``int``) and a missing ``await`` is a type error.
``VinylManager`` and the related managers subclass it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn, cast

from django.db import NotSupportedError
from django.db.models import Model, QuerySet
from vinyl.model._messages import django_async_method, no_chunked_fetching

if TYPE_CHECKING:
    from django.db.models.fetch_modes import FetchMode
    from vinyl.model._async.queryset import VinylQuerySet
    from vinyl.model._async.raw import VinylRawQuerySet

__all__ = ["ManagerMethods"]


class ManagerMethods[M: Model]:
    """Run each queryset method of vinyl on a new ``get_queryset()``, as Django's managers."""

    model: type[M]

    def get_queryset(self) -> VinylQuerySet[M]:
        """Return the queryset the manager's methods start from."""
        raise NotImplementedError

    def all(self) -> VinylQuerySet[M]:
        """Return a new queryset of every object of the manager."""
        return self.get_queryset()

    def filter(self, *args: Any, **kwargs: Any) -> VinylQuerySet[M]:
        """Return a queryset of the objects matching the lookups."""
        return self.get_queryset().filter(*args, **kwargs)

    def exclude(self, *args: Any, **kwargs: Any) -> VinylQuerySet[M]:
        """Return a queryset of the objects not matching the lookups."""
        return self.get_queryset().exclude(*args, **kwargs)

    def complex_filter(self, filter_obj: Any) -> VinylQuerySet[M]:
        """Return a queryset filtered by a ``Q`` object or a dict of lookups."""
        return self.get_queryset().complex_filter(filter_obj)

    def annotate(self, *args: Any, **kwargs: Any) -> VinylQuerySet[M]:
        """Return a queryset with each object annotated."""
        # Django's stubs type annotate() as Any.
        return cast("VinylQuerySet[M]", self.get_queryset().annotate(*args, **kwargs))

    def alias(self, *args: Any, **kwargs: Any) -> VinylQuerySet[M]:
        """Return a queryset with expressions to filter or order on, not selected."""
        # Django's stubs type alias() as Any.
        return cast("VinylQuerySet[M]", self.get_queryset().alias(*args, **kwargs))

    def order_by(self, *field_names: Any) -> VinylQuerySet[M]:
        """Return a queryset ordered by *field_names*."""
        return self.get_queryset().order_by(*field_names)

    def distinct(self, *field_names: Any) -> VinylQuerySet[M]:
        """Return a queryset without duplicate rows."""
        return self.get_queryset().distinct(*field_names)

    def select_related(self, *fields: Any) -> VinylQuerySet[M]:
        """Return a queryset reading the related objects *fields* in the same query."""
        return self.get_queryset().select_related(*fields)

    def prefetch_related(self, *lookups: Any) -> VinylQuerySet[M]:
        """Return a queryset reading the related objects *lookups* after its own query."""
        return self.get_queryset().prefetch_related(*lookups)

    def only(self, *fields: Any) -> VinylQuerySet[M]:
        """Return a queryset loading only *fields*."""
        return self.get_queryset().only(*fields)

    def defer(self, *fields: Any) -> VinylQuerySet[M]:
        """Return a queryset leaving *fields* out."""
        return self.get_queryset().defer(*fields)

    def using(self, alias: str | None) -> VinylQuerySet[M]:
        """Return a queryset on the vinyl alias *alias*."""
        return self.get_queryset().using(alias)

    def fetch_mode(self, fetch_mode: FetchMode) -> VinylQuerySet[M]:
        """Return a queryset whose instances fetch with *fetch_mode* (Django 6.1 and later).

        vinyl never fetches a field or a relation on attribute access: ``FETCH_PEERS``
        makes ``obj.rel`` read the relation for the peers too, ``FETCH_RAISE`` makes it
        raise (see ``vinyl.model._async.related``).
        """
        return self.get_queryset().fetch_mode(fetch_mode)

    def select_for_update(
        self, nowait: bool = False, skip_locked: bool = False, of: Any = (), no_key: bool = False
    ) -> VinylQuerySet[M]:
        """Return a queryset locking its rows (inside a ``transaction()`` block)."""
        return self.get_queryset().select_for_update(
            nowait=nowait, skip_locked=skip_locked, of=of, no_key=no_key
        )

    def reverse(self) -> VinylQuerySet[M]:
        """Return a queryset in the reverse of its order (of the model's ``ordering``)."""
        return self.get_queryset().reverse()

    def extra(
        self,
        select: dict[str, Any] | None = None,
        where: Sequence[str] | None = None,
        params: Sequence[Any] | None = None,
        tables: Sequence[str] | None = None,
        order_by: Sequence[str] | None = None,
        select_params: Sequence[Any] | None = None,
    ) -> VinylQuerySet[M]:
        """Return a queryset with SQL of its own added (Django's ``extra()``)."""
        return self.get_queryset().extra(select, where, params, tables, order_by, select_params)

    def none(self) -> VinylQuerySet[M]:
        """Return a queryset that matches nothing, with no query."""
        return self.get_queryset().none()

    def union(self, *other_qs: Any, all: bool = False) -> VinylQuerySet[M]:  # noqa: A002
        """Return the union of the queryset with *other_qs*."""
        return self.get_queryset().union(*other_qs, all=all)

    def intersection(self, *other_qs: Any) -> VinylQuerySet[M]:
        """Return the intersection of the queryset with *other_qs*."""
        return self.get_queryset().intersection(*other_qs)

    def difference(self, *other_qs: Any) -> VinylQuerySet[M]:
        """Return the objects of the queryset not in *other_qs*."""
        return self.get_queryset().difference(*other_qs)

    def values(self, *fields: Any, **expressions: Any) -> VinylQuerySet[Any]:
        """Return a queryset of dicts."""
        return self.get_queryset().values(*fields, **expressions)

    def values_list(
        self, *fields: Any, flat: bool = False, named: bool = False
    ) -> VinylQuerySet[Any]:
        """Return a queryset of tuples (or values, with *flat*)."""
        return self.get_queryset().values_list(*fields, flat=flat, named=named)

    def dates(self, field_name: str, kind: Any, order: Any = "ASC") -> VinylQuerySet[Any]:
        """Return a queryset of the distinct dates of *field_name*, truncated to *kind*."""
        result: VinylQuerySet[Any] = cast(Any, self.get_queryset()).dates(field_name, kind, order)
        return result

    def datetimes(
        self, field_name: str, kind: Any, order: Any = "ASC", tzinfo: Any = None
    ) -> VinylQuerySet[Any]:
        """Return a queryset of the distinct datetimes of *field_name*, truncated to *kind*."""
        result: VinylQuerySet[Any] = cast(Any, self.get_queryset()).datetimes(
            field_name, kind, order, tzinfo
        )
        return result

    def raw(
        self, raw_query: str, params: Any = (), translations: Any = None, using: str | None = None
    ) -> VinylRawQuerySet:
        """Return a raw queryset mapping *raw_query*'s rows to instances, on *using* if given."""
        queryset = self.get_queryset() if using is None else self.using(using)
        return queryset.raw(raw_query, params, translations, using)

    async def get(self, *args: Any, **kwargs: Any) -> M:
        """Return the one object matching the lookups."""
        return await self.get_queryset().get(*args, **kwargs)

    async def first(self) -> M | None:
        """Return the first object (by ``pk`` when unordered), or ``None``."""
        return await self.get_queryset().first()

    async def last(self) -> M | None:
        """Return the last object (by ``pk`` when unordered), or ``None``."""
        return await self.get_queryset().last()

    async def latest(self, *fields: Any) -> M:
        """Return the latest object by *fields* or ``Meta.get_latest_by``."""
        return await self.get_queryset().latest(*fields)

    async def earliest(self, *fields: Any) -> M:
        """Return the earliest object by *fields* or ``Meta.get_latest_by``."""
        return await self.get_queryset().earliest(*fields)

    async def count(self) -> int:
        """Return the number of objects."""
        return await self.get_queryset().count()

    async def exists(self) -> bool:
        """Return whether there is any object."""
        return await self.get_queryset().exists()

    async def contains(self, obj: Model) -> bool:
        """Return whether *obj* is one of the objects."""
        return await self.get_queryset().contains(obj)

    async def aggregate(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Return a dict of the aggregates over the objects."""
        return await self.get_queryset().aggregate(*args, **kwargs)

    async def in_bulk(
        self, id_list: Iterable[Any] | None = None, *, field_name: str = "pk"
    ) -> dict[Any, M]:
        """Return a dict mapping each value of *field_name* to its object."""
        return await self.get_queryset().in_bulk(id_list, field_name=field_name)

    async def explain(self, *, format: str | None = None, **options: Any) -> str:  # noqa: A002
        """Return the database's plan for the objects' query."""
        return await self.get_queryset().explain(format=format, **options)

    def iterator(self, chunk_size: int | None = None) -> NoReturn:
        """Raise ``NotSupportedError``: vinyl fetches results whole (ARCHITECTURE §3.3)."""
        raise NotSupportedError(no_chunked_fetching("iterator"))

    def new(self, **kwargs: Any) -> M:
        """Return an unsaved vinyl instance of the model (``M(**kwargs)`` is Django's own)."""
        return self.get_queryset().new(**kwargs)

    async def create(self, **kwargs: Any) -> M:
        """Create and return a new object, without signals."""
        return await self.get_queryset().create(**kwargs)

    async def get_or_create(
        self, defaults: dict[str, Any] | None = None, **kwargs: Any
    ) -> tuple[M, bool]:
        """Return ``(object, created)``: the object matching *kwargs*, created if missing."""
        return await self.get_queryset().get_or_create(defaults, **kwargs)

    async def update_or_create(
        self,
        defaults: dict[str, Any] | None = None,
        create_defaults: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> tuple[M, bool]:
        """Return ``(object, created)``: the object matching *kwargs* updated, or created."""
        return await self.get_queryset().update_or_create(defaults, create_defaults, **kwargs)

    async def update(self, **kwargs: Any) -> int:
        """Update every object; return the number of rows matched."""
        return await self.get_queryset().update(**kwargs)

    async def bulk_create(
        self,
        objs: Iterable[M],
        batch_size: int | None = None,
        ignore_conflicts: bool = False,
        update_conflicts: bool = False,
        update_fields: Sequence[str] | None = None,
        unique_fields: Sequence[str] | None = None,
    ) -> list[M]:
        """Insert *objs* in batches, without signals; return them."""
        return await self.get_queryset().bulk_create(
            objs, batch_size, ignore_conflicts, update_conflicts, update_fields, unique_fields
        )

    async def bulk_update(
        self, objs: Iterable[M], fields: Sequence[str], batch_size: int | None = None
    ) -> int:
        """Update *fields* of each of *objs* in batches; return the number of rows matched."""
        return await self.get_queryset().bulk_update(objs, fields, batch_size)

    if not TYPE_CHECKING:

        def __getattr__(self, name: str) -> NoReturn:
            # Django's thread-based a* methods (aget, acount...: the a-prefixed twin of a
            # queryset method, unlike as_manager): say what to call instead.
            if name.startswith("a") and hasattr(QuerySet, name) and hasattr(QuerySet, name[1:]):
                raise NotSupportedError(django_async_method(name))
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

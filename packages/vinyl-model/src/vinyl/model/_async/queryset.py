"""``VinylQuerySet``: Django's lazy queryset, evaluated through vinyl's driver.

Building (``filter``, ``annotate``, ``values``, ``union``...) is Django's, unchanged; the
builder calls that a plan can describe are traced into the queryset's *shape*
(``vinyl.model._plans``), and the same call on the same shape is made from a template
(``vinyl.model._templates``). Every read ends in ``vinyl.model._async.fetch.fetch()``:
evaluation (``await qs`` / ``async for``; ``list(qs)`` in the sync flavor) and ``get()``
directly; ``count()``, ``aggregate()``, ``latest()``... run Django's own method on a
replay twin (``vinyl.model._replay``) so that its logic and messages stay Django's while
its reads go through vinyl.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Self

from django.db import IntegrityError, NotSupportedError
from django.db.models import Field, Model, Prefetch, QuerySet
from django.db.models.sql import Query
from django.db.models.utils import resolve_callables
from vinyl.model import _bulk, _deletion, _replay
from vinyl.model._async import deletion, prefetch, write
from vinyl.model._async.fetch import fetch, run_django
from vinyl.model._async.instance import VinylInstance, instance_class
from vinyl.model._async.raw import VinylRawQuerySet, vinyl_raw_queryset
from vinyl.model._compat import AsyncEvaluation
from vinyl.model._messages import django_async_method, no_chunked_fetching, refused
from vinyl.model._plans import filter_shape, plannable
from vinyl.model._templates import TEMPLATES, Pending, root, where_of
from vinyl.query._async import transaction
from vinyl.query._djangocompat import HAS_FETCH_MODES

#: Django's ``QuerySet.query`` property, whose setter ``VinylQuerySet.query`` extends.
_DJANGO_QUERY: property = QuerySet.query  # type: ignore[assignment]
#: ``object.__class__``, whose setter ``VinylQuerySet.__class__`` extends.
_OBJECT_CLASS: Any = object.__dict__["__class__"]
#: Whether Django's querysets may be built in place (Django 6.1's ``_avoid_cloning()``).
_IN_PLACE_BUILDING: bool = hasattr(QuerySet, "_avoid_cloning")

__all__ = ["VinylQuerySet", "prefetch_related_objects"]


class VinylQuerySet[T](AsyncEvaluation[T], QuerySet[Any]):
    """A Django queryset whose reads run on a vinyl alias, returning vinyl instances.

    *T* is what it yields: instances of its model, or dicts and tuples after ``values()``.
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
        new = query is None and model is not None
        unbuilt = new and _unbuilt_roots(type(self))
        if unbuilt:
            # Django's QuerySet.__init__ builds Query(model) when handed none: handed the
            # pending one, which nothing reads before it is moved below.
            query = root(model)  # type: ignore[arg-type]
        # Keywords, as Django's managers pass them: a custom QuerySet.__init__ (a subclass
        # of vinyl's or Django's) may take arguments of its own first.
        super().__init__(model=model, query=query, using=using, hints=hints)
        if unbuilt:
            # Attribute statements, not __dict__: the instance keeps its compact layout.
            private: Any = self  # Django's stubs leave the private attributes out.
            del private._query
            private._pending = query
        if new:
            # Every query of the model starts as this one: the root of its shapes. The
            # class tells the flavors apart, whose instances differ. Without an alias the
            # router picks one when the queryset is read, and the read adds it to the shape.
            self._shape = (type(self), model, using)

    def _set_query(self, value: Query) -> None:
        # A query set from outside (unpickled, say) is not the one the shape describes.
        _DJANGO_QUERY.fset(self, value)  # type: ignore[misc]
        self.__dict__.pop("_pending", None)
        self._shape, self._shape_values = None, ()

    if not TYPE_CHECKING:  # a __getattr__ would hide every misspelt attribute from mypy

        def __getattr__(self, name: str) -> Any:
            # Only a query not built yet is missing (see _unbuilt()): built when first read.
            if name != "_query" or "_pending" not in self.__dict__:
                raise AttributeError(
                    f"{type(self).__name__!r} object has no attribute {name!r}", name=name, obj=self
                )
            return self._build()

        def _assign_class(self, cls: type[Any]) -> None:
            # Another class (qs.__class__ = TheirQuerySet) would not build a pending query.
            if "_pending" in self.__dict__:
                self._build()
            _OBJECT_CLASS.__set__(self, cls)

        __class__ = property(type, _assign_class)

    def _build(self) -> Query:
        """Build the query not built yet (see :meth:`_unbuilt`); return it."""
        query: Query = self.__dict__["_pending"].build()
        self.__dict__["_query"] = query
        del self.__dict__["_pending"]
        return query

    # Django's getter itself, not a wrapper: builders read ``query`` on every call.
    query = _DJANGO_QUERY.setter(_set_query)

    def __deepcopy__(self, memo: dict[int, Any]) -> Self:
        # Django's copies the attributes onto a new queryset, whose own query would hide
        # a pending one: built first.
        if "_pending" in self.__dict__:
            self._build()
        copied: Self = super().__deepcopy__(memo)
        return copied

    async def _evaluate(self) -> list[T]:
        """Fill the result cache (and the prefetched relations) once; return it."""
        if self._result_cache is None:
            self._result_cache = await fetch(self, VinylQuerySet)
            self._prefetch_done = True
        return self._result_cache

    async def run_django[R](self, method: Callable[[QuerySet[Any]], R]) -> R:
        """Return ``method(twin)``: Django's own code on a replay twin, reading through vinyl."""
        return await run_django(method, self, VinylQuerySet)

    @classmethod
    def from_django(cls, queryset: QuerySet[Any], using: str | None = None) -> VinylQuerySet[Any]:
        """Return *queryset* (Django's, a replay twin's or vinyl's) as a vinyl queryset.

        Its alias becomes *using* when given (a ``Prefetch`` queryset built from
        ``M.objects`` reads where its instances came from).
        """
        clone: Any = _replay.recast(queryset, cls)
        clone._db = _replay.real_alias(using or clone.db)
        result: VinylQuerySet[Any] = clone
        return result

    def _traced(
        self, clone: Any, call: tuple[Any, ...] | None, values: tuple[Any, ...] = ()
    ) -> Self:
        """Return *clone*, made by the builder call *call*, with this queryset's shape plus it.

        Only builder calls whose effect on the query depends on nothing but their arguments
        are traced (*call* is ``None`` for any other); a clone made any other way
        (``_chain()``) has no shape. Neither has *clone* made by an untraced call: it may be
        this queryset itself, changed in place (Django 6.1's ``_avoid_cloning()``).
        """
        result: Self = clone
        if self._shape is not None and call is not None:
            result._shape = (*self._shape, call)
            result._shape_values = self._shape_values + values
        else:
            result._shape, result._shape_values = None, ()
        return result

    def all(self) -> Self:
        """Return a copy of the queryset; as Django's ``all()``."""
        clone: Self = super().all()
        shape = self._shape
        if shape is not None and self.query.filter_is_sticky:
            # The copy's next filter no longer reuses the joins of a many-to-many
            # relation's filter (see vinyl.model._plans.plannable): another shape.
            shape = (*shape, ("all",))
        clone._shape, clone._shape_values = shape, self._shape_values
        return clone

    def filter(self, *args: Any, **kwargs: Any) -> Self:
        """Return a new queryset with the lookups added; as Django's ``filter()``."""
        shaped = None if args or self._shape is None else filter_shape(kwargs)
        if shaped is None:
            return self._traced(super().filter(*args, **kwargs), None)
        call, values = shaped
        return self._templated(call, values, lambda: super(VinylQuerySet, self).filter(**kwargs))

    def _templated(
        self, call: tuple[Any, ...], values: tuple[Any, ...], build: Callable[[], Any]
    ) -> Self:
        """Return ``build()`` (Django's builder call, traced as *call* with *values*).

        A call a queryset of this shape made before is not built again: the queryset
        Django built then is the template of this one (see ``vinyl.model._plans``).
        """
        root = self._shape
        if root is None or not plannable(self):
            # A state the shape leaves out (a sticky filter...): Django builds, untraced.
            return self._traced(build(), None)
        shape = (*root, call)
        template = TEMPLATES.get(shape)
        if template is None:
            clone = build()
            TEMPLATES.learn(shape, self.query, clone, values)
        else:
            clone = self._unbuilt(template.pending(where_of(self), values))
            clone._iterable_class, clone._fields = template.iterable_class, template.fields
        return self._traced(clone, call, values)

    def _clone(self) -> Self:
        """Return a copy of the queryset; as Django's ``_clone()``."""
        if not _copies_plainly(type(self)):
            copied: Self = super()._clone()  # type: ignore[misc]
            return copied
        query = self.query.chain()
        clone = self._copy()
        clone._query = query  # type: ignore[attr-defined]
        return clone

    def _copy(self) -> Self:
        """Return Django's ``_clone()`` of this queryset without its query, made without
        ``__init__``: what ``QuerySet.__init__`` sets, but what ``_clone()`` sets after it.

        Only for a class whose querysets Django's ``__init__`` makes (see
        :func:`_copies_plainly`). Attribute statements, as Django's: the copy keeps the
        compact layout, whose attributes read faster than a dict's.
        """
        cls: Any = type(self)
        private: Any = self  # Django's stubs leave the private attributes out.
        clone: Any = cls.__new__(cls)
        clone.model = self.model
        clone._db = private._db
        clone._hints = private._hints or {}
        clone._result_cache = None
        clone._sticky_filter = private._sticky_filter
        clone._for_write = private._for_write
        clone._prefetch_related_lookups = private._prefetch_related_lookups[:]
        clone._prefetch_done = False
        clone._known_related_objects = private._known_related_objects
        clone._iterable_class = private._iterable_class
        if HAS_FETCH_MODES:
            clone._fetch_mode = private._fetch_mode
        clone._fields = private._fields
        clone._defer_next_filter = False
        clone._deferred_filter = None
        if _IN_PLACE_BUILDING:
            clone._cloning_enabled = True
        result: Self = clone
        return result

    def _unbuilt(self, pending: Pending) -> Any:
        """Return Django's ``_chain()`` copy of this queryset, whose query is *pending*.

        The query is built when something first reads it (``__getattr__``); until then
        this queryset's own query is neither built nor copied. Built at once where Django
        would not copy, or where user code copies: a custom ``_clone()`` or ``_chain()``
        (which may read the query), Django 6.1's in-place building.
        """
        private: Any = self  # Django's stubs leave the private attributes out.
        cls: Any = type(self)
        if _copies_its_own_way(cls) or not getattr(self, "_cloning_enabled", True):
            clone = private._chain()
            # Not the query setter: it would reset the iterable class of values().
            clone._query = pending.build()
            return clone
        if _copies_plainly(cls) and not private._sticky_filter and not private._deferred_filter:
            # _chain() would copy (_clone()) and change nothing more.
            clone = private._copy()
            clone._pending = pending
            return clone
        state = self.__dict__
        query = state.get("_query")
        # Django's _clone() copies the query with chain(): a pending query's is itself.
        state["_query"] = pending
        try:
            clone = private._chain()
        finally:
            if query is None:
                del state["_query"]
            else:
                state["_query"] = query
        del clone.__dict__["_query"]
        clone.__dict__["_pending"] = pending
        return clone

    def _named(self, method: str, names: tuple[Any, ...], build: Callable[..., Any]) -> Self:
        """Return ``build(*names)`` (Django's *method*), templated when *names* are all names."""
        if not _names(names):
            return self._traced(build(*names), None)
        return self._templated((method, names), (), lambda: build(*names))

    def using(self, alias: str | None) -> Self:
        """Return a queryset on the alias *alias*; as Django's ``using()``."""
        # Without an alias the router picks one when the queryset is read (maybe from its
        # hints), and the read adds it to the shape.
        return self._traced(super().using(alias), ("using", alias))

    if TYPE_CHECKING:
        # Django's stubs type extra() as a QuerySet[Any]; it returns a queryset of this class.
        def extra(  # type: ignore[override]
            self,
            select: dict[str, Any] | None = None,
            where: Sequence[str] | None = None,
            params: Sequence[Any] | None = None,
            tables: Sequence[str] | None = None,
            order_by: Sequence[str] | None = None,
            select_params: Sequence[Any] | None = None,
        ) -> Self: ...

    def values(self, *fields: Any, **expressions: Any) -> VinylQuerySet[Any]:
        """Return a queryset of dicts; as Django's ``values()``."""
        if expressions:
            return self._traced(super().values(*fields, **expressions), None)
        return self._named("values", fields, super().values)

    def values_list(
        self, *fields: Any, flat: bool = False, named: bool = False
    ) -> VinylQuerySet[Any]:
        """Return a queryset of tuples (or values, with *flat*); as Django's ``values_list()``."""

        def build() -> Any:
            return super(VinylQuerySet, self).values_list(*fields, flat=flat, named=named)

        # Without fields, Django may warn (flat=True): a template would warn only once.
        if not fields or not _names(fields):
            return self._traced(build(), None)
        return self._templated(("values_list", fields, flat, named), (), build)

    def order_by(self, *field_names: Any) -> Self:
        """Return a queryset ordered by *field_names*; as Django's ``order_by()``."""
        return self._named("order_by", field_names, super().order_by)

    def prefetch_related(self, *lookups: Any) -> Self:
        """Return a queryset prefetching *lookups*; as Django's ``prefetch_related()``.

        Prefetching runs after the query: it leaves the query's plan as it is.
        """
        call = ("prefetch_related", lookups) if _names(lookups) else None
        return self._traced(super().prefetch_related(*lookups), call)

    def only(self, *fields: Any) -> Self:
        """Return a queryset loading only *fields*; as Django's ``only()``."""
        return self._named("only", fields, super().only)

    def defer(self, *fields: Any) -> Self:
        """Return a queryset deferring *fields*; as Django's ``defer()``."""
        return self._named("defer", fields, super().defer)

    async def __aiter__(self) -> AsyncIterator[T]:
        for obj in await self._evaluate():  # noqa: UP028 - no "yield from" in async code
            yield obj

    def __repr__(self) -> str:
        if self._result_cache is None:
            # Django's repr would read the first rows; a repr never does I/O here.
            return f"<{type(self).__name__} of {self.model.__name__} on {self.db!r}, unevaluated>"
        return super().__repr__()

    async def get(self, *args: Any, **kwargs: Any) -> T:  # type: ignore[override,unused-ignore]
        """Return the one object matching the lookups; as Django's ``get()``.

        The read is the query Django's ``get()`` builds (or the plan of the same shape);
        only a result that is not exactly one row (or a combined query) goes through
        Django's own method, replayed with that result, for Django's exception and message.
        """
        # Not self.query: a query not built yet is its template's but the WHERE.
        pending: Pending | None = self.__dict__.get("_pending")
        if (self.query if pending is None else pending.template).combinator:
            combined: T = await self.run_django(lambda qs: qs.get(*args, **kwargs))
            return combined
        results = await fetch(self, VinylQuerySet, get=(args, kwargs))
        if len(results) == 1:
            found: T = results[0]
            return found
        django_result: T = _replay.run(lambda qs: qs.get(*args, **kwargs), self, [results])
        return django_result

    async def first(self) -> T | None:  # type: ignore[override,unused-ignore]
        """Return the first object (by ``pk`` when unordered), or ``None``."""
        result: T | None = await self.run_django(QuerySet.first)
        return result

    async def last(self) -> T | None:  # type: ignore[override,unused-ignore]
        """Return the last object (by ``pk`` when unordered), or ``None``."""
        result: T | None = await self.run_django(QuerySet.last)
        return result

    async def latest(self, *fields: Any) -> T:  # type: ignore[override,unused-ignore]
        """Return the latest object by *fields* or ``Meta.get_latest_by``."""
        result: T = await self.run_django(lambda qs: qs.latest(*fields))
        return result

    async def earliest(self, *fields: Any) -> T:  # type: ignore[override,unused-ignore]
        """Return the earliest object by *fields* or ``Meta.get_latest_by``."""
        result: T = await self.run_django(lambda qs: qs.earliest(*fields))
        return result

    async def count(self) -> int:  # type: ignore[override,unused-ignore]
        """Return the number of rows (the length of the cache when evaluated)."""
        if self._result_cache is not None:
            return len(self._result_cache)
        result: int = await self.run_django(QuerySet.count)
        return result

    async def exists(self) -> bool:  # type: ignore[override,unused-ignore]
        """Return whether the queryset has any row."""
        if self._result_cache is not None:
            return bool(self._result_cache)
        result: bool = await self.run_django(QuerySet.exists)
        return result

    async def contains(self, obj: Model) -> bool:  # type: ignore[override,unused-ignore]
        """Return whether *obj* is in the queryset."""
        if self._result_cache is not None:
            return QuerySet.contains(self, obj)
        result: bool = await self.run_django(lambda qs: qs.contains(obj))
        return result

    async def aggregate(self, *args: Any, **kwargs: Any) -> dict[str, Any]:  # type: ignore[override,unused-ignore]
        """Return a dict of the aggregates over the queryset; as Django's ``aggregate()``."""
        result: dict[str, Any] = await self.run_django(lambda qs: qs.aggregate(*args, **kwargs))
        return result

    async def in_bulk(  # type: ignore[override,unused-ignore]
        self, id_list: Iterable[Any] | None = None, *, field_name: str = "pk"
    ) -> dict[Any, T]:
        """Return a dict mapping each value of *field_name* to its object."""
        result: dict[Any, T] = await self.run_django(
            lambda qs: qs.in_bulk(id_list, field_name=field_name)
        )
        return result

    async def explain(self, *, format: str | None = None, **options: Any) -> str:  # type: ignore[override,unused-ignore]
        """Return the database's plan for the queryset."""
        result: str = await self.run_django(lambda qs: qs.explain(format=format, **options))
        return result

    def new(self, **kwargs: Any) -> T:
        """Return an unsaved instance of the model, for this queryset's alias: ``M(**kwargs)``.

        ``M(...)`` makes Django's own instance, whose ``save()`` is Django's; vinyl's
        ``save()`` belongs to the instances vinyl makes.
        """
        cls = instance_class(self.model, VinylQuerySet)
        obj: Any = cls(**kwargs)
        obj._state.db = self.db
        return obj  # type: ignore[no-any-return]

    async def create(self, **kwargs: Any) -> T:
        """Create and return a new object; as Django's ``create()``, without signals."""
        reverse_one_to_one = frozenset(kwargs).intersection(
            self.model._meta._reverse_one_to_one_field_names
        )
        if reverse_one_to_one:
            raise ValueError(
                f"The following fields do not exist in this model: {', '.join(reverse_one_to_one)}"
            )
        # As Django: a write goes where the router sends writes (self.db then says so).
        self._for_write = True
        obj: Any = self.new(**kwargs)
        await obj.save(force_insert=True, using=self.db)
        if hasattr(self, "_fetch_mode"):  # Django 6.1 and later
            obj._state.fetch_mode = self._fetch_mode
        return obj  # type: ignore[no-any-return]

    async def get_or_create(  # type: ignore[override,unused-ignore]
        self, defaults: dict[str, Any] | None = None, **kwargs: Any
    ) -> tuple[T, bool]:
        """Return ``(object, created)``: the object matching *kwargs*, created if missing.

        As Django: the create runs in a savepoint, and when it fails with
        ``IntegrityError`` (a concurrent create won) the object is read again. The read
        is on the alias of writes too, as Django's.
        """
        self._for_write = True
        try:
            return await self.get(**kwargs), False
        except self.model.DoesNotExist:
            params = self._extract_model_params(defaults, **kwargs)  # type: ignore[attr-defined]
        try:
            async with transaction(using=self.db):
                return await self.create(**dict(resolve_callables(params))), True
        except IntegrityError:
            try:
                return await self.get(**kwargs), False
            except self.model.DoesNotExist:
                pass
            raise

    async def update_or_create(  # type: ignore[override,unused-ignore]
        self,
        defaults: dict[str, Any] | None = None,
        create_defaults: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> tuple[T, bool]:
        """Return ``(object, created)``: the object matching *kwargs* updated, or created.

        As Django: in one transaction, the row locked (``select_for_update()``) first.
        """
        self._for_write = True
        update_defaults = defaults or {}
        if create_defaults is None:
            create_defaults = update_defaults
        async with transaction(using=self.db):
            obj: Any
            obj, created = await self.select_for_update().get_or_create(create_defaults, **kwargs)
            if created:
                return obj, created
            for name, value in resolve_callables(update_defaults):
                setattr(obj, name, value)
            update_fields = set(update_defaults)
            meta: Any = self.model._meta
            if meta._non_pk_concrete_field_names.issuperset(update_fields):
                # Fields set by pre_save() (auto_now) are saved too, as Django does.
                for field in meta.local_concrete_fields:
                    if field in meta.pk_fields or type(field).pre_save is Field.pre_save:
                        continue
                    update_fields.add(field.name)
                    if field.name != field.attname:
                        update_fields.add(field.attname)
                await obj.save(using=self.db, update_fields=update_fields)
            else:
                await obj.save(using=self.db)
        return obj, False

    async def update(self, **kwargs: Any) -> int:  # type: ignore[override,unused-ignore]
        """Update every object of the queryset; return the number of rows matched.

        As Django's ``update()``. A field of a multi-table parent is set by a statement of
        its own: the statements run in one transaction.
        """
        self._for_write = True
        query = _bulk.update_query(self, kwargs)
        plan = _bulk.update_plan(self.db, query)
        atomic = _bulk.is_multi_statement([query])
        count = await write.run(self.db, plan, VinylQuerySet, atomic=atomic)
        self._result_cache = None
        return count

    update.alters_data = True  # type: ignore[attr-defined]

    async def bulk_create(  # type: ignore[override,unused-ignore]
        self,
        objs: Iterable[T],
        batch_size: int | None = None,
        ignore_conflicts: bool = False,
        update_conflicts: bool = False,
        update_fields: Sequence[str] | None = None,
        unique_fields: Sequence[str] | None = None,
    ) -> list[T]:
        """Insert *objs* (Django's or vinyl's instances) in batches; return them.

        As Django's ``bulk_create()``, without signals: the primary keys and
        ``db_returning`` fields are set where the server returns them (PostgreSQL, MariaDB
        10.5+). Several batches run in one transaction.
        """
        self._for_write = True
        bulk = _bulk.prepare_bulk_create(
            self,
            objs,  # type: ignore[arg-type]
            batch_size,
            ignore_conflicts,
            update_conflicts,
            update_fields,
            unique_fields,
        )
        if bulk is None:
            # Nothing to insert: Django hands back what it was given.
            return objs  # type: ignore[return-value]
        plan = _bulk.bulk_create_plan(bulk)
        created: list[T] = await write.run(self.db, plan, VinylQuerySet, atomic=bulk.atomic)  # type: ignore[arg-type]
        return created

    bulk_create.alters_data = True  # type: ignore[attr-defined]

    async def bulk_update(  # type: ignore[override,unused-ignore]
        self, objs: Iterable[T], fields: Sequence[str], batch_size: int | None = None
    ) -> int:
        """Update *fields* of each of *objs* in batches; return the number of rows matched.

        As Django's ``bulk_update()``. Several batches run in one transaction.
        """
        self._for_write = True
        queries = _bulk.bulk_update_queries(self, objs, fields, batch_size)  # type: ignore[arg-type]
        if not queries:
            return 0
        plan = _bulk.updates_plan(self.db, queries)
        atomic = _bulk.is_multi_statement(queries)
        return await write.run(self.db, plan, VinylQuerySet, atomic=atomic)

    bulk_update.alters_data = True  # type: ignore[attr-defined]

    async def delete(self) -> tuple[int, dict[str, int]]:  # type: ignore[override,unused-ignore]
        """Delete the rows and what cascades from them; return ``(count, {label: count})``.

        Django's ``delete()`` (its refusals, its ``Collector``), without signals.
        """
        result = await deletion.delete(_deletion.queryset_deletion(self), VinylQuerySet)
        # As Django: a queryset used again reads again.
        self._result_cache = None
        return result

    delete.alters_data = True  # type: ignore[attr-defined]
    delete.queryset_only = True  # type: ignore[attr-defined]

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

        *params* are a list (``%s`` placeholders) or a dict (``%(name)s``). The query runs
        on the queryset's vinyl alias (or *using*) when the raw queryset is evaluated.
        """
        raw = QuerySet.raw(self, raw_query, params, translations, using)
        return vinyl_raw_queryset(raw, VinylQuerySet)

    @classmethod
    def as_manager(cls) -> Any:
        """Raise ``TypeError``: a vinyl queryset's manager is ``VinylManager.from_queryset()``."""
        raise TypeError(
            f"{cls.__qualname__}.as_manager() would make a Django manager; a vinyl queryset "
            f"class makes a vinyl manager with VinylManager.from_queryset({cls.__qualname__})()."
        )

    as_manager.queryset_only = True  # type: ignore[attr-defined]

    aiterator = refused("aiterator", django_async_method)
    aaggregate = refused("aaggregate", django_async_method)
    acount = refused("acount", django_async_method)
    aget = refused("aget", django_async_method)
    acreate = refused("acreate", django_async_method)
    abulk_create = refused("abulk_create", django_async_method)
    abulk_update = refused("abulk_update", django_async_method)
    aget_or_create = refused("aget_or_create", django_async_method)
    aupdate_or_create = refused("aupdate_or_create", django_async_method)
    aearliest = refused("aearliest", django_async_method)
    alatest = refused("alatest", django_async_method)
    afirst = refused("afirst", django_async_method)
    alast = refused("alast", django_async_method)
    ain_bulk = refused("ain_bulk", django_async_method)
    adelete = refused("adelete", django_async_method)
    aupdate = refused("aupdate", django_async_method)
    aexists = refused("aexists", django_async_method)
    acontains = refused("acontains", django_async_method)
    aexplain = refused("aexplain", django_async_method)


async def prefetch_related_objects(
    model_instances: Sequence[Model], *related_lookups: str | Prefetch[Any, Any, Any]
) -> None:
    """Prefetch *related_lookups* onto *model_instances*; as Django's function of that name.

    The instances are vinyl's, read through this flavor; the reads run through vinyl, and
    what is loaded is read with ``obj[name]``, as after ``prefetch_related()``.
    """
    instances = list(model_instances)
    for obj in instances:
        if not isinstance(obj, VinylInstance) or obj._vinyl_queryset is not VinylQuerySet:
            raise TypeError(
                f"prefetch_related_objects() of this vinyl flavor takes the instances its "
                f"querysets read, not {obj!r} ({type(obj).__module__}.{type(obj).__qualname__}"
                f"): read them through this flavor's VinylManager, or use Django's "
                f"prefetch_related_objects() on Django's instances."
            )
    await prefetch.prefetch_related_objects(VinylQuerySet, instances, *related_lookups)


#: Per queryset class: whether its new querysets may leave Query(model) unbuilt.
_unbuilt_root_classes: dict[type[Any], bool] = {}


def _unbuilt_roots(cls: type[Any]) -> bool:
    """Return whether a new queryset of *cls* may start with its query not built.

    Not when a class between ``VinylQuerySet`` and Django's ``QuerySet`` (a user's Django
    queryset, in ``from_queryset()``'s class) has an ``__init__``: it runs inside
    ``VinylQuerySet.__init__`` and may read the query there.
    """
    unbuilt = _unbuilt_root_classes.get(cls)
    if unbuilt is None:
        mro = cls.__mro__
        between = mro[mro.index(VinylQuerySet) + 1 : mro.index(QuerySet)]
        unbuilt = _unbuilt_root_classes[cls] = all("__init__" not in vars(c) for c in between)
    return unbuilt


#: Per queryset class: whether ``VinylQuerySet._copy()`` copies its querysets as Django's
#: ``_clone()`` does.
_plain_copies: dict[type[Any], bool] = {}


def _copies_plainly(cls: type[Any]) -> bool:
    """Return whether ``VinylQuerySet._copy()`` makes Django's ``_clone()`` of *cls*'s querysets.

    When Django's ``__init__`` (and vinyl's, which adds nothing to a copy) alone makes
    them, no user code copies them (:func:`_copies_its_own_way`), and, checked once per
    class, a copy of a queryset holds exactly what Django's holds (the attributes Django's
    version sets).
    """
    plain = _plain_copies.get(cls)
    if plain is None:
        plain = not _copies_its_own_way(cls) and all(
            "__init__" not in vars(c) for c in _user_classes(cls)
        )
        if plain:
            made = cls(query=Query(None))
            djangos = QuerySet._clone(made)  # type: ignore[attr-defined]
            copied = made._copy()
            copied._query = djangos._query
            plain = vars(copied) == vars(djangos)
        _plain_copies[cls] = plain
    return plain


#: Per queryset class: whether a class of the user's defines ``_clone()`` or ``_chain()``.
_own_copies: dict[type[Any], bool] = {}


def _copies_its_own_way(cls: type[Any]) -> bool:
    """Return whether a class of *cls* other than vinyl's and Django's defines ``_clone()`` or
    ``_chain()``: user code that copies state of its own, and may read the query.

    Such a class can come after ``VinylQuerySet`` in the MRO (``from_queryset()``'s class),
    where ``VinylQuerySet._clone()`` hides it from a look at ``cls._clone``.
    """
    own = _own_copies.get(cls)
    if own is None:
        own = _own_copies[cls] = any(
            "_clone" in vars(c) or "_chain" in vars(c) for c in _user_classes(cls)
        )
    return own


def _user_classes(cls: type[Any]) -> list[type[Any]]:
    """Return the classes of *cls*'s MRO before Django's ``QuerySet`` that are not vinyl's."""
    mro = cls.__mro__
    return [c for c in mro[: mro.index(QuerySet)] if c not in VinylQuerySet.__mro__]


def _names(arguments: tuple[Any, ...]) -> bool:
    """Return whether every builder argument is a name (no expression or ``None``)."""
    return all(type(argument) is str for argument in arguments)

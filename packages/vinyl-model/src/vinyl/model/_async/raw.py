"""``VinylRawQuerySet``: Django's ``RawQuerySet`` (``M.vinyl.raw(sql)``), read through vinyl.

Everything but the read is Django's: the column-to-field mapping, ``translations``, the
primary-key check, deferred fields, extra columns as attributes and the converters all
run in Django's ``RawModelIterable``. It reads its rows and column names from the query
object, where Django's ``RawQuery`` runs a cursor of Django's own connection; vinyl's
:class:`VinylRawQuery` instead holds what vinyl fetched just before, with the column
names the driver reported (``fetch_with_columns``). Before that read it holds nothing: a raw
queryset is lazy, as Django's.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from django.db import NotSupportedError, connections
from django.db.models.query import RawQuerySet
from django.db.models.sql.query import RawQuery
from django.utils.functional import cached_property
from vinyl.model._async.fetch import fetch
from vinyl.model._compat import AsyncEvaluation
from vinyl.model._messages import no_chunked_fetching, not_evaluated
from vinyl.model._reads import FetchedCursor, positional
from vinyl.query.backend import Row

__all__ = ["VinylRawQuery", "VinylRawQuerySet", "vinyl_raw_queryset"]


class VinylRawQuery(RawQuery):
    """Django's ``RawQuery``, serving the columns and rows vinyl fetched instead of a cursor."""

    #: ``(column names, rows)`` of the last read, set by ``VinylRawQuerySet._evaluate()``.
    fetched: tuple[list[str], list[Row]] | None = None
    #: ``None`` until the query is read, as Django's (a raw queryset is lazy); then, where
    #: Django's is a cursor of its own connection (which vinyl never opens), the read's,
    #: closed: its columns described, its rows counted.
    cursor: FetchedCursor | None  # type: ignore[assignment]

    def read(self, fetched: tuple[list[str], list[Row]]) -> None:
        """Hold *fetched*, ``(column names, rows)``: what vinyl read for the query."""
        self.fetched = fetched
        self.cursor = FetchedCursor(fetched[0], len(fetched[1]))

    def clone(self, using: str) -> VinylRawQuery:
        """Return a copy of the query on *using*, not yet read."""
        return VinylRawQuery(self.sql, using, params=self.params)

    def __repr__(self) -> str:
        # Django's text: vinyl's raw query is Django's, read elsewhere.
        return f"<RawQuery: {self}>"

    def statement(self) -> tuple[str, Sequence[Any]]:
        """Return the SQL and parameters to run, in Django's ``%s`` paramstyle.

        Parameters given as a dict (``%(name)s`` placeholders) are put in order.

        The parameters are adapted as Django's ``RawQuery._execute_query()`` adapts them.
        """
        params_type = self.params_type
        if params_type is None:
            # Django runs SQL given ``params=None`` uninterpolated; vinyl always
            # interpolates (``%%`` is ``%``), so a literal ``%`` must reach it doubled.
            return self.sql.replace("%", "%%"), ()
        adapt = connections[self.using].ops.adapt_unknown_value
        if params_type is dict:
            # Django passes the mapping to the driver, whose pyformat binds it by name.
            sql, values = positional(self.sql, self.params)
            return sql, tuple(adapt(value) for value in values)
        return self.sql, tuple(adapt(value) for value in self.params)

    def get_columns(self) -> list[str]:
        """Return the column names of the read, as Django's ``RawQuery.get_columns()``."""
        converter = connections[self.using].introspection.identifier_converter
        return [converter(name) for name in self._read()[0]]

    def __iter__(self) -> Iterator[Row]:
        return iter(self._read()[1])

    def _read(self) -> tuple[list[str], list[Row]]:
        if self.fetched is None:
            raise TypeError(not_evaluated(repr(self)))
        return self.fetched


# Django's stubs make RawQuerySet generic; at run time it is not subscriptable.
class VinylRawQuerySet(AsyncEvaluation, RawQuerySet):  # type: ignore[type-arg]
    """Django's ``RawQuerySet`` whose read runs on a vinyl alias, returning vinyl instances.

    Evaluated as a vinyl queryset is: ``await qs`` / ``async for`` (``list(qs)`` / ``for``
    in the sync flavor); ``prefetch_related()`` runs through vinyl too.
    """

    query: VinylRawQuery
    #: The flavor's queryset class, whose instances the rows become.
    queryset_class: type[Any]

    def __repr__(self) -> str:
        # Django's text (which reads nothing): a vinyl raw queryset is Django's RawQuerySet.
        return f"<RawQuerySet: {self.query}>"

    async def _evaluate(self) -> list[Any]:
        """Fill the result cache (and the prefetched relations) once; return it."""
        if self._result_cache is None:
            self._result_cache = await fetch((self, self.query.statement()), self.queryset_class)
            self._prefetch_done = True
        return self._result_cache

    async def __aiter__(self) -> Any:  # type: ignore[override,unused-ignore]
        for obj in await self._evaluate():  # noqa: UP028 - no "yield from" in async code
            yield obj

    @cached_property
    def columns(self) -> list[str]:
        """Return the column names of the result, as Django's (evaluating it if needed)."""
        if self.query.fetched is None:
            self._fetch_all()
        django_columns: Any = RawQuerySet.columns
        names: list[str] = django_columns.func(self)
        return names

    def _clone(self) -> VinylRawQuerySet:
        clone: VinylRawQuerySet = super()._clone()  # type: ignore[misc]
        clone.queryset_class = self.queryset_class
        return clone

    def iterator(self) -> Any:
        """Raise ``NotSupportedError``: vinyl fetches results whole (ARCHITECTURE §3.3)."""
        raise NotSupportedError(no_chunked_fetching("iterator"))

    def using(self, alias: str | None) -> VinylRawQuerySet:
        """Return the raw queryset on the vinyl alias *alias*."""
        return vinyl_raw_queryset(RawQuerySet.using(self, alias), self.queryset_class)


def vinyl_raw_queryset(raw: RawQuerySet[Any], queryset_class: type[Any]) -> VinylRawQuerySet:
    """Return *raw*, a new ``RawQuerySet`` of Django's, as a vinyl raw queryset.

    Its rows become instances of *queryset_class*'s flavor.
    """
    # A new object with *raw*'s state: the generic evaluation mixin changes the memory
    # layout, so assigning ``__class__`` is refused.
    result = VinylRawQuerySet.__new__(VinylRawQuerySet)
    result.__dict__.update(vars(raw))
    result.query.__class__ = VinylRawQuery
    result.queryset_class = queryset_class
    return result

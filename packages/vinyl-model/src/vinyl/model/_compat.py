"""How a queryset is evaluated in each flavor, as a pair of mixins.

``_async/queryset.py`` mixes in :class:`AsyncEvaluation`; ``tools/unasync.py`` renames it
:class:`SyncEvaluation` in the generated ``_sync/queryset.py``. Both rely on the
queryset's ``_evaluate()``, which fills ``_result_cache`` through vinyl.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from typing import Any

from django.db.models import QuerySet
from vinyl.model._messages import not_evaluated, not_evaluated_index

__all__ = ["AsyncEvaluation", "SyncEvaluation"]


class _Evaluation:
    """The first base of both mixins: a plain class, so that Python lays a vinyl queryset
    out as it lays out Django's ``QuerySet`` subclasses.

    A generic class's first base is otherwise ``typing.Generic``, and CPython then refuses
    ``qs.__class__ = TheirQuerySet`` ("object layout differs"), which Django allows
    between its querysets.
    """


class AsyncEvaluation[T](_Evaluation):
    """``await qs`` returns the list; any sync evaluation of an unevaluated queryset raises.

    Once awaited, Django's sync protocol (``len()``, ``bool()``, indexing, ``for``) works
    on the fetched list, as on an evaluated Django queryset.
    """

    _result_cache: list[Any] | None
    _prefetch_related_lookups: tuple[Any, ...]
    _prefetch_done: bool
    _evaluate: Callable[[], Awaitable[list[T]]]

    def __await__(self) -> Generator[Any, None, list[T]]:
        return self._evaluate().__await__()

    def __getitem__(self, k: Any) -> Any:
        # Django reads qs[n] with a query of its own, which _fetch_all() would refuse with
        # advice for the whole list: say how to get one row. A negative n is Django's error.
        if isinstance(k, int) and k >= 0 and self._result_cache is None:
            sliceable = isinstance(self, QuerySet)
            raise TypeError(not_evaluated_index(repr(self), k, sliceable=sliceable))
        return super().__getitem__(k)  # type: ignore[misc]

    def _fetch_all(self) -> None:
        pending_prefetch = self._prefetch_related_lookups and not self._prefetch_done
        if self._result_cache is None or pending_prefetch:
            raise TypeError(not_evaluated(repr(self)))


class SyncEvaluation[T](_Evaluation):
    """Django's sync protocol (``list()``, ``len()``, ``for``, indexing) reads through vinyl."""

    _result_cache: list[Any] | None
    _prefetch_related_lookups: tuple[Any, ...]
    _prefetch_done: bool
    _evaluate: Callable[[], list[T]]

    def _fetch_all(self) -> None:
        self._evaluate()

    def __aiter__(self) -> Any:
        raise TypeError(
            "A vinyl_sync queryset is iterated with 'for', not 'async for'; "
            "use vinyl_async's VinylManager for async code."
        )

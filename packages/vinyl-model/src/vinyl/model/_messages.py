"""The messages of vinyl's model-layer errors, one helper per situation (STYLE §2.9)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import NotSupportedError
from django.db.models import Model

__all__ = [
    "django_async_method",
    "refused",
    "not_evaluated",
    "not_evaluated_index",
    "not_loaded",
    "not_fetched",
    "no_alias",
    "no_chunked_fetching",
]


def not_loaded(instance: Model, name: str) -> str:
    """Return the message for ``obj[name]`` on a relation nothing loaded."""
    model = type(instance).__name__
    return (
        f"{model}[{name!r}] was not loaded: add select_related({name!r}) or "
        f"prefetch_related({name!r}) to the queryset that loaded this {model}, or query it "
        f"now with {_in_each_flavor(f'obj.{name}')}."
    )


def not_fetched(instance: Model, attname: str) -> str:
    """Return the message for reading a field the query of its instance left out.

    ``only()``/``defer()`` leave fields out, and so does a ``raw()`` query that does not
    select a column: the instance cannot tell which did.
    """
    model = type(instance).__name__
    refresh = _in_each_flavor(f"obj.refresh_from_db(fields=[{attname!r}])")
    return (
        f"{model}.{attname} was not fetched (the query that loaded this {model} left it out: "
        f"only()/defer(), or a raw() query without its column) and vinyl never loads a field "
        f"behind your back: call {refresh} first, or fetch it with that query (include it in "
        f"only(), drop it from defer(), select its column in the raw() SQL)."
    )


def _in_each_flavor(call: str) -> str:
    """Return how to make *call* in each flavor: awaited in vinyl_async, plain in vinyl_sync."""
    return f"'await {call}' (vinyl_async) / '{call}' (vinyl_sync)"


def not_evaluated(queryset_repr: str) -> str:
    """Return the message for a sync evaluation of an unevaluated async queryset."""
    return (
        f"This vinyl_async queryset of {queryset_repr} was not evaluated: iterate it with "
        f"'async for', or get its list with 'await queryset' (then len(), bool(), indexing "
        f"and iteration work on the fetched list). A sync evaluation would block the event loop."
    )


def not_evaluated_index(queryset_repr: str, index: int, *, sliceable: bool) -> str:
    """Return the message for ``queryset[index]`` on an unevaluated async queryset."""
    one = f"queryset[{index}:{index + 1}]" if index else "queryset[:1]"
    instead = (
        f"'await queryset.first()' for the first row (of its ordering), 'await {one}' for a "
        f"list of at most that one row, or "
        if sliceable
        else ""
    )
    return (
        f"This vinyl_async queryset of {queryset_repr} was not evaluated, so [{index}] would "
        f"query without await and block the event loop. Use {instead}'(await "
        f"queryset)[{index}]' to index the fetched list."
    )


def no_chunked_fetching(method: str) -> str:
    """Return the message for ``.iterator()`` (ARCHITECTURE §3.3)."""
    return (
        f"{method}() is not supported: vinyl fetches results whole, never in chunks. "
        f"Evaluate the queryset ('await qs' / 'list(qs)'), or slice it "
        f"(qs[offset:offset + n]) to page through a large table."
    )


def django_async_method(name: str) -> str:
    """Return the message for one of Django's thread-based ``a*`` queryset methods."""
    return (
        f"{name}() is Django's thread-based async API and is not available on a vinyl "
        f"queryset: call {name[1:]}() (awaited in vinyl_async, plain in vinyl_sync)."
    )


def refused(name: str, message: Callable[[str], str]) -> Callable[..., Any]:
    """Return a method *name* that raises ``NotSupportedError`` with ``message(name)``."""

    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise NotSupportedError(message(name))

    method.__name__ = name
    method.__doc__ = f"Raise ``NotSupportedError``: {message(name)}"
    return method


def no_alias(instance: Model, operation: str) -> str:
    """Return the message for a write on an instance that names no vinyl alias."""
    model = type(instance).__name__
    return (
        f"{operation}() of this {model} has no database alias: it was not read through vinyl "
        f"nor made by {model}.vinyl.new(). Pass using='<vinyl alias>'."
    )

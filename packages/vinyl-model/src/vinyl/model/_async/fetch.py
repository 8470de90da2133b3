"""The read path: every read of vinyl-model ends in :func:`fetch`.

``fetch()`` takes what to read — a queryset (or its ``get()``), a raw queryset, or a
statement Django's own code tried to run —, asks ``vinyl.model._reads`` for the statement
(from the shape's plan, or compiled by Django), runs it through ``vinyl.query``, decodes
the rows into the flavor's instances and runs the ``prefetch_related()`` lookups, in that
order. :func:`run_django` runs Django's own queryset methods (``count()``,
``aggregate()``...) with each of their reads performed by ``fetch()``.

Each function takes the flavor's queryset class (*queryset_class*): instances carry it,
and the modules below this one (instances, relations, prefetch) read through its methods.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.db.models import Model, QuerySet
from django.db.models.query import RawQuerySet
from vinyl.model import _reads, _replay
from vinyl.model._async.instance import VinylInstance, instance_class, to_vinyl
from vinyl.model._async.prefetch import prefetch_related_objects
from vinyl.query._async import fetch as fetch_rows
from vinyl.query._async import fetch_with_columns

__all__ = ["fetch", "run_django"]

#: What :func:`fetch` reads: a queryset, a raw queryset with its statement, or a statement.
#: (Django's stubs make RawQuerySet generic; at run time it is not subscriptable.)
Source = QuerySet[Any] | tuple[RawQuerySet, tuple[str, Any]] | _replay.Statement  # type: ignore[type-arg]


#: ``instance_class`` bound to each queryset class (one partial, not one a read).
_instance_classes: dict[type[Any], Callable[[type[Model]], type[Model]]] = {}


async def fetch(
    source: Source, queryset_class: type[Any], *, get: _reads.GetLookups | None = None
) -> list[Any]:
    """Return what *source* reads: instances of the flavor, dicts, tuples, or rows.

    With *get*, read what ``source.get(*args, **kwargs)`` reads (at most a few rows).
    """
    classes = _instance_classes.get(queryset_class)
    if classes is None:
        classes = _instance_classes[queryset_class] = functools.partial(
            instance_class, queryset_class=queryset_class
        )
    if isinstance(source, _replay.Statement):
        read = _reads.statement_read(source)
    elif isinstance(source, tuple):
        read = _reads.raw_read(*source)
    else:
        read = _reads.queryset_read(source, classes, get)
    if read.columns:
        fetched: Any = await fetch_with_columns(read.alias, read.sql, read.params)
    else:
        fetched = await fetch_rows(read.alias, read.sql, read.params) if read.sql else []
    objs = read.decode(fetched)
    if objs and isinstance(objs[0], Model) and not isinstance(objs[0], VinylInstance):
        # What the decoder could not build as vinyl's (select_related(), raw(), a model with
        # code of its own) is swapped; it builds all rows alike.
        to_vinyl(objs, queryset_class)
    if read.prefetch:
        await prefetch_related_objects(queryset_class, objs, *read.prefetch)
    return objs


async def run_django[T](
    method: Callable[[QuerySet[Any]], T], queryset: QuerySet[Any], queryset_class: type[Any]
) -> T:
    """Return ``method(twin)``, Django's sync code run on a replay twin of *queryset*.

    Each read the method makes is performed by :func:`fetch`, then the method is run again
    with the reads so far recorded (see ``vinyl.model._replay``).
    """
    # A queryset is read on the real alias, which the instances record as their own.
    reads = _replay.replayed(method, queryset, functools.partial(_on_real_alias, queryset_class))
    fetched: Any = None
    while True:
        try:
            read = reads.send(fetched)
        except StopIteration as done:
            result: T = done.value
            return result
        fetched = await fetch(read, queryset_class)


def _on_real_alias(queryset_class: type[Any], read: Source) -> Source:
    """Return *read*, a queryset of it as a *queryset_class* on its real alias."""
    return queryset_class.from_django(read) if isinstance(read, QuerySet) else read

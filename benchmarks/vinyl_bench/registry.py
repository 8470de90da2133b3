"""The workload registry: a name, one implementation per contender, and a checksum.

A workload module builds a :class:`Workload` and registers one function per contender with
``@workload.implements("asyncpg", ...)``. Each function receives the started contender and
the workload's *plan* (its inputs, e.g. the primary keys to get, drawn from a seeded RNG
before the clock starts) and returns what it read; ``digest`` turns that into a checksum
that must be the same for every contender. A write workload (``writes=True``) registers the
same way, with a plan that says what to write; the worker restores the seeded data around
each of its runs and adds the checksum of what the run left in the tables to the result's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from vinyl_bench.scale import Scale

Implementation = Callable[[Any, Any], Any]


@dataclass
class Workload:
    """One benchmark workload; ``ops`` counts its operations per run, in ``unit``.

    ``unit`` is the plural ("gets"), ``one`` the singular ("get").
    """

    key: str
    title: str
    unit: str
    one: str
    plan: Callable[[Scale], Any]
    ops: Callable[[Scale], int]
    digest: Callable[[Any], str]
    writes: bool = False
    implementations: dict[str, Implementation] = field(default_factory=dict)

    def implements(self, *contenders: str) -> Callable[[Implementation], Implementation]:
        """Register the decorated function as this workload for *contenders*."""

        def register(function: Implementation) -> Implementation:
            for name in contenders:
                if name in self.implementations:
                    raise ValueError(f"{self.key} already has an implementation for {name!r}.")
                self.implementations[name] = function
            return function

        return register


WORKLOADS: dict[str, Workload] = {}


def register(workload: Workload) -> Workload:
    """Add *workload* to the registry under its key (``W`` and a number)."""
    if workload.key in WORKLOADS:
        raise ValueError(f"Workload {workload.key} is registered twice.")
    WORKLOADS[workload.key] = workload
    return workload


def keys() -> list[str]:
    """Return the registered workload keys in numeric order: W1, W2, ... W10."""
    return sorted(WORKLOADS, key=lambda key: int(key[1:]))


def checksum(value: object) -> str:
    """Return a short hash of *value*'s ``repr`` (built from tuples, ints, str, date, Decimal)."""
    return hashlib.sha256(repr(value).encode()).hexdigest()[:16]


def as_row(item: Any) -> tuple[Any, ...]:
    """Return a model instance's concrete field values in column order, or a driver row as a tuple.

    The raw-driver SQL selects the columns in the models' field order, so an ORM object and
    a driver row for the same database row give the same tuple.
    """
    meta = getattr(item, "_meta", None)
    if meta is None:
        return tuple(item)
    return tuple(getattr(item, f.attname) for f in meta.concrete_fields)


def sorted_rows(items: Iterable[Any]) -> list[tuple[Any, ...]]:
    """Return *items* as rows sorted by their first column (the primary key)."""
    return sorted((as_row(item) for item in items), key=lambda row: row[0])

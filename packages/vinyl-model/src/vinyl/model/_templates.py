"""Builder templates: the query a traced builder call made, kept to make it again.

Building is costly too: the first time a shape takes a given ``filter()``, ``values()``,
``values_list()``, ``order_by()``, ``only()`` or ``defer()`` call, Django builds it and the
resulting query is kept as a *template*, with the conditions it added (``filter()``'s; the
other calls add none). Later, the same call on the same shape clones the template and puts
the caller's own conditions in, made by the same lookups, instead of building. Queries of
one shape differ only by the values of their conditions (``vinyl.model._plans`` says what a
shape holds, and why a value that changes more than a parameter is part of it).

A template's call makes a :class:`Pending` query: built (the template cloned, the
conditions made) only when something reads the queryset's query, which a read from the
shape's plan does not. A condition with a binder (``vinyl.model._binders``) keeps its
value prepared as Django's lookup prepares it, which the plan binds, and is made into
the lookup only when the query is built.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.signals import setting_changed
from django.db.models import Model, QuerySet
from django.db.models.sql import Query
from django.db.models.sql.where import AND
from vinyl.model._plans import MAX_SHAPES, Condition, Shape, Unmade, condition

__all__ = ["TEMPLATES", "Pending", "Template", "Templates", "root", "where_of"]


@dataclass(frozen=True, slots=True)
class Template:
    """The queryset a traced builder call made, and how it made its conditions.

    ``query`` is a private copy: nothing outside this module holds it. ``iterable_class``
    and ``fields`` are what the call left on the queryset (``values()`` sets them).
    """

    query: Query
    conditions: tuple[Condition, ...]
    iterable_class: type[Any]
    fields: tuple[str, ...] | None

    def pending(self, parent: Sequence[Any], values: Sequence[Any]) -> Pending:
        """Return the query the call makes with *values* on a query whose WHERE conditions
        are *parent*, as Django would; not built yet.

        *parent* is of the shape the template was learnt on: it differs from the template's
        own parent's by its conditions' values alone. Its conditions come first, then one
        per value (so a value Django refuses raises Django's error here, as ``filter()``).
        """
        if not self.conditions:
            # values(), order_by()...: no value to prepare (filter() always has one).
            return Pending(self.query, tuple(parent))
        prepared = [c.prepare(value) for c, value in zip(self.conditions, values, strict=True)]
        return Pending(self.query, (*parent, *prepared))


# Not frozen, though never changed: as vinyl.model._plans.Unmade, made on every builder
# call of a known shape.
@dataclass(slots=True)
class Pending:
    """A query not built yet: a clone of *template* with the WHERE conditions *where*.

    *template* is a template's own query, not to be changed: what of it the WHERE clause
    leaves out (``filter_is_sticky``...) is the built query's. *where* holds Django's WHERE
    nodes and :class:`~vinyl.model._plans.Unmade` conditions.
    """

    template: Query
    where: tuple[Any, ...]

    def build(self) -> Query:
        """Return the query, as the builder calls would have made it."""
        query = self.template.clone()
        where: list[Any] = [node.make() if type(node) is Unmade else node for node in self.where]
        query.where.children = where
        return query

    def chain(self) -> Pending:
        """Return this pending query: Django's ``_clone()`` copies a queryset's query with
        ``chain()``, and a pending one is never changed (see ``VinylQuerySet``)."""
        return self


#: Per model, the query every queryset of the model starts from, not built yet.
_roots: dict[type[Model], Pending] = {}


def root(model: type[Model]) -> Pending:
    """Return the query of a new queryset of *model*, not built yet (``Query(model)``).

    A ``create()``, or a read whose shape has a plan, never reads it.
    """
    pending = _roots.get(model)
    if pending is None:
        # Its clone is Django's new query: Query.clone() copies every mutable part.
        pending = _roots[model] = Pending(Query(model), ())
    return pending


class Templates:
    """The template of every traced builder call seen, by the shape it ends."""

    __slots__ = ("_templates",)

    def __init__(self) -> None:
        self._templates: dict[Shape, Template | None] = {}

    def get(self, shape: Shape) -> Template | None:
        """Return the template of the builder call that ends *shape*, or ``None``."""
        return self._templates.get(shape)

    def learn(
        self, shape: Shape, parent: Query, built: QuerySet[Any], values: Sequence[Any]
    ) -> None:
        """Keep the template of the builder call ending *shape*: Django built *built*.

        Kept only when Django's build added exactly one condition per value to the
        parent's conditions, each a lookup on a column: what :meth:`Template.pending`
        reproduces.
        """
        if shape in self._templates:
            return
        if len(self._templates) >= MAX_SHAPES:
            self._templates.clear()
        self._templates[shape] = _template(parent, built, values)

    def clear(self) -> None:
        """Forget every template."""
        self._templates.clear()


def _template(parent: Query, built: QuerySet[Any], values: Sequence[Any]) -> Template | None:
    old, new = parent.where, built.query.where
    if new.connector != AND or new.negated or old.connector != AND or old.negated:
        return None
    kept = len(old.children)
    if len(new.children) != kept + len(values):
        return None
    if any(a is not b for a, b in zip(old.children, new.children[:kept], strict=True)):
        return None
    conditions = [
        condition(node, value) for node, value in zip(new.children[kept:], values, strict=True)
    ]
    if None in conditions:
        return None
    private: Any = built  # Django's stubs leave the private attributes out.
    return Template(
        built.query.clone(),
        tuple(c for c in conditions if c is not None),
        private._iterable_class,
        private._fields,
    )


def where_of(queryset: QuerySet[Any]) -> Sequence[Any]:
    """Return the WHERE conditions of *queryset*'s query, without building it."""
    pending: Pending | None = queryset.__dict__.get("_pending")
    return queryset.query.where.children if pending is None else pending.where


#: The templates of this process.
TEMPLATES = Templates()


def _forget(**kwargs: Any) -> None:
    TEMPLATES.clear()


setting_changed.connect(_forget)

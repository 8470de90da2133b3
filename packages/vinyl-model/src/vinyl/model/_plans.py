"""Query plans: the SQL and decoder of one query *shape*, kept to run it again.

Building a queryset with Django and compiling it costs several times what the driver
spends running it. Most applications run a few shapes over and over with other values:
``M.vinyl.get(pk=5)`` and ``M.vinyl.get(pk=7)`` are one shape. A shape is how a queryset
was built from its ``VinylManager``: the model, the alias and each builder call, with the
names and types of its arguments but not their values (:func:`filter_shape` and the
queryset's traced calls). A shape is complete or absent: a value that changes more than a
parameter (``isnull``, which changes the joins) is part of the shape, and any builder
call or queryset state the shape cannot describe drops it (:func:`plannable`).

A related manager's queryset (``author.books``, ``book.tags``) is its base queryset plus
one call, the relation's filter (:func:`relation_shape`): which relation and side (its
descriptor: the field, the through table, ``related_query_name``...), the instance's
class and fetch mode, and the types of the instance's key values, which are bound values
like any filter's. What Django sets on the queryset for the instance besides the filter
(the known related object, the hints) is set by the related manager on every read; the
known related object is assigned to the rows after decoding, so a plan's decoder never
holds an instance.

The first read of a shape is built and compiled by Django, as always; its plan keeps the
SQL, the decoder, and for each filter value the Django lookup that turned it into a
parameter. A later read of the shape binds its own values through those lookups —
Django's code, so a value Django refuses is refused with the same error — and skips
compiling; where a lookup's whole path from value to parameter is a few calls of the
field's own methods, the plan makes those calls without the lookup
(``vinyl.model._binders``). A shape whose parameters are not exactly its filter values,
one lookup each (a join, an expression), gets no plan. An ``IN`` list is one value, whose
length is part of the shape. What happens after the rows are decoded
(``prefetch_related()``) is not part of a plan: the read path does it for every read.

:data:`PLANS` is the one cache; :meth:`Plans.read` its one entry point, called by the
read path alone (``vinyl.model._async.fetch``).
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import EmptyResultSet, FullResultSet
from django.core.signals import setting_changed
from django.db.models import Lookup, QuerySet
from django.db.models.constants import LOOKUP_SEP
from django.db.models.expressions import Col
from django.db.models.query import (
    FlatValuesListIterable,
    ModelIterable,
    NamedValuesListIterable,
    ValuesIterable,
    ValuesListIterable,
)
from django.db.models.sql.compiler import SQLCompiler
from django.db.models.sql.where import AND
from vinyl.model._binders import Binder, binder, same_params
from vinyl.query.backend import Dialect
from vinyl.query.compiler import CompiledQuery
from vinyl.query.decode import Decoder

__all__ = [
    "PLANS",
    "SCALARS",
    "Condition",
    "Plan",
    "Plans",
    "Shape",
    "Unmade",
    "bind_condition",
    "bound_alike",
    "compile_rhs",
    "condition",
    "filter_shape",
    "plannable",
    "relation_shape",
]

#: How a queryset was built: a tuple of hashable parts (see the module docstring).
Shape = tuple[Any, ...]

#: The types of filter values a plan can bind: plain values that Django turns into one
#: parameter through the field (and lists of them, one each). Anything else (``None``,
#: expressions, instances) changes the SQL Django writes, so its queryset has no shape.
SCALARS = frozenset(
    {
        bool,
        int,
        float,
        str,
        bytes,
        Decimal,
        uuid.UUID,
        datetime.date,
        datetime.datetime,
        datetime.time,
        datetime.timedelta,
    }
)

#: Lookups whose value changes the SQL beyond its parameters: ``isnull=True`` makes Django
#: promote the joins to LEFT OUTER and writes ``IS NULL`` without a parameter. Their value
#: is part of the shape. (A field named like one of them only loses a plan, never a row.)
_STRUCTURAL_LOOKUPS = frozenset({"isnull"})

#: Past this many shapes a cache is emptied and learnt again: shapes come from code, so
#: this only bounds a program that builds field names at run time.
MAX_SHAPES = 2000


@dataclass(frozen=True, slots=True)
class Condition:
    """How a filter value becomes its WHERE condition: Django's lookup class on a column."""

    lookup_class: type[Lookup[Any]]
    lhs: Col
    #: Django's path from a value to its parameter without the lookup, when one fits the
    #: lookup (``vinyl.model._binders``); ``None``: the lookup is made.
    binder: Binder | None = None

    def make(self, value: Any) -> Lookup[Any]:
        """Return the condition for *value* (Django's error if the field refuses it)."""
        return self.lookup_class(self.lhs, value)

    def prepare(self, value: Any) -> Lookup[Any] | Unmade:
        """Return the condition for *value*, or with a binder its value prepared for it.

        Either way a value the field refuses raises Django's error here, as ``filter()``.
        """
        if self.binder is None:
            return self.make(value)
        return Unmade(self, value, self.binder.prepare(value))


# Not frozen, though never changed: a frozen dataclass's __init__ costs about three times
# as much (object.__setattr__() per field), and a read makes one per filter value.
@dataclass(slots=True)
class Unmade:
    """A condition whose lookup is not made yet: its value, and the lookup's ``rhs`` that
    the condition's binder prepared from it (a queryset builds its query when read)."""

    condition: Condition
    value: Any
    rhs: Any

    def make(self) -> Lookup[Any]:
        """Return the condition's lookup, as ``filter()`` makes it."""
        return self.condition.make(self.value)


def condition(node: Any, value: Any) -> Condition | None:
    """Return how *value* became the WHERE node *node*; ``None`` if not by a column lookup."""
    if not isinstance(node, Lookup) or type(node.lhs) is not Col:
        return None
    if hasattr(node.rhs, "resolve_expression"):
        return None
    made = Condition(type(node), node.lhs, binder(node, value, SCALARS))
    if made.make(value).rhs != node.rhs:
        # This condition is not the one this value made: the order is not Django's.
        return None
    return made


def compile_rhs(lookup: Lookup[Any], compiler: SQLCompiler) -> tuple[str, Sequence[Any]] | None:
    """Return the SQL and parameters *compiler* writes for *lookup*'s value; ``None`` when
    it writes none, having found that the condition matches nothing or everything."""
    try:
        return lookup.process_rhs(compiler, compiler.connection)
    except (EmptyResultSet, FullResultSet):
        return None


def bind_condition(
    lookup: Any, binder: Binder | None, rhs_sql: str, compiler: SQLCompiler
) -> Sequence[Any] | None:
    """Return the parameters of the condition *lookup* in a plan or a kept statement,
    whose value Django compiled to *rhs_sql* on *compiler*.

    *lookup* is Django's lookup, or an :class:`Unmade` one: bound by *binder* (the
    condition's binder when it binds as the lookup on this database) or else made. ``None``
    when Django would write other SQL for this value (an integer out of the column's
    range matches no row): the caller goes Django's way.
    """
    if type(lookup) is Unmade:
        if binder is not None:
            return binder.params(lookup.rhs, compiler.connection)
        lookup = lookup.make()
    written = compile_rhs(lookup, compiler)
    if written is None or written[0] != rhs_sql:
        return None
    return written[1]


def _kind(value: Any) -> Any:
    """Return what of *value* the SQL Django writes for it depends on, or ``None``.

    A plain value: its type. A list or tuple of plain values (``__in``): its type and its
    items' types, so its length; a list with repeated items compiles shorter, which
    :meth:`Plan.bind` notices.
    """
    kind = type(value)
    if kind in SCALARS:
        return kind
    if kind is list or kind is tuple:
        items = tuple(map(type, value))
        if SCALARS.issuperset(items):
            return kind, items
    return None


def filter_shape(kwargs: Mapping[str, Any]) -> tuple[Shape, tuple[Any, ...]] | None:
    """Return the shape of ``filter(**kwargs)`` and its values, in Django's order.

    Django's ``Q`` sorts keyword lookups by name: the values follow that order, which is
    the order their conditions take in the WHERE clause. The value of a structural lookup
    (``isnull``) is part of the shape and not a value. ``None`` when a value is not a plain
    value (or list of them) a plan can bind.
    """
    names = tuple(sorted(kwargs))
    kinds: list[Any] = []
    values: list[Any] = []
    for name in names:
        value = kwargs[name]
        kind = _kind(value)
        if kind is None:
            return None
        if name.rpartition(LOOKUP_SEP)[2] in _STRUCTURAL_LOOKUPS:
            if kind is not bool:
                return None
            kinds.append(("value", value))
        else:
            kinds.append(kind)
            values.append(value)
    return ("filter", names, tuple(kinds)), tuple(values)


#: Django's iterable classes, which the shape's calls (``values()``...) choose among.
DJANGO_ITERABLES = frozenset(
    {
        ModelIterable,
        ValuesIterable,
        ValuesListIterable,
        NamedValuesListIterable,
        FlatValuesListIterable,
    }
)


def plannable(queryset: QuerySet[Any]) -> bool:
    """Return whether *queryset* holds no state its shape leaves out.

    A sticky or deferred filter joins differently, unless the query was left sticky by the
    relation call that ends its shape (a many-to-many's, :func:`relation_shape`); a
    queryset for writing reads on the primary. The known related objects of a related
    manager's queryset are not in its plan: the read path assigns them to the rows.
    """
    private: Any = queryset  # Django's stubs leave the private attributes out.
    # A query not built yet (vinyl.model._templates.Pending) is its template's but the WHERE.
    pending = private.__dict__.get("_pending")
    query = private._query if pending is None else pending.template
    return not (
        # Another iterable class (a custom QuerySet sets it) is not in the shape's calls.
        private._iterable_class not in DJANGO_ITERABLES
        or private._sticky_filter
        or private._defer_next_filter
        or private._deferred_filter
        or private._for_write
        or (query.filter_is_sticky and not _ends_with_relation(queryset))
    )


#: The first item of the call a related manager adds to its base queryset's shape.
RELATION = "relation"


def _ends_with_relation(queryset: QuerySet[Any]) -> bool:
    shape: Shape | None = getattr(queryset, "_shape", None)
    return shape is not None and type(shape[-1]) is tuple and shape[-1][0] == RELATION


def relation_shape(
    descriptor: Any, manager: Any, instance: Any
) -> tuple[Shape, tuple[Any, ...]] | None:
    """Return the call Django's related *manager* adds to its base queryset, and its values.

    *manager* is Django's manager of *descriptor* (a reverse foreign key's or a
    many-to-many's, either side) for *instance*; its ``_apply_rel_filters()`` filters the
    base queryset on the instance's key values. The call holds everything else that
    filter depends on: the descriptor (the relation and its side, so the field, the
    through table, ``related_query_name``), the instance's class and fetch mode, and
    the types of the values. ``None`` when the filter is not one condition per plain
    value: a multi-column key, a key that is ``None`` or ``""`` (Django may return
    ``none()``), a manager bound to an alias.
    """
    if manager._db is not None:
        return None
    if not descriptor.rel.many_to_many:
        if not manager.field.many_to_one:
            return None  # a GenericRelation's reverse accessor (its related_query_name)
        # A reverse foreign key: filtered on the instance itself, whose key value the
        # filter reads (the field's target, or its to_field).
        fields = manager.field.foreign_related_fields
        values = tuple(getattr(instance, field.attname) for field in fields)
        if len(values) != 1:
            return None
    else:
        # A many-to-many: filtered on the instance's key values through the through table.
        filters = manager.core_filters
        values = tuple(filters[name] for name in sorted(filters))
    kinds = tuple(map(_kind, values))
    if any(kind not in SCALARS for kind in kinds) or "" in values:
        return None
    mode = getattr(instance._state, "fetch_mode", None)  # Django 6.1 and later
    return (RELATION, descriptor, type(instance), mode, kinds), values


@dataclass(frozen=True, slots=True)
class Plan:
    """The compiled query of a shape, how to bind its values, and how to decode its rows.

    ``bindings`` pairs each value's condition with the placeholder SQL it compiled to and
    the condition's binder when it binds as the lookup on this database (else ``None``).
    """

    bindings: tuple[tuple[Condition, str, Binder | None], ...]
    compiled: CompiledQuery
    dialect: Dialect
    decode: Decoder

    def bind(
        self, values: Sequence[Any], conditions: Sequence[Any] | None = None
    ) -> Sequence[Any] | None:
        """Return the driver's parameters for *values*, as Django would compile them.

        *conditions*, when given, are the WHERE conditions a queryset of the shape holds,
        made from *values* (by ``filter()`` or a template; :class:`Unmade` when not built):
        they are bound as they are, not made again. ``None`` when Django would write other
        SQL for these values (an integer out of the column's range matches no row, a list
        with repeated items is shorter): the caller goes Django's way.
        """
        if len(values) != len(self.bindings):
            return None
        if conditions is not None and len(conditions) != len(values):
            conditions = None
        compiler = self.compiled.compiler
        connection = compiler.connection
        params: list[Any] = []
        for index, ((made, rhs_sql, fast), value) in enumerate(
            zip(self.bindings, values, strict=True)
        ):
            if conditions is None:
                if fast is None:
                    bound = bind_condition(made.make(value), None, rhs_sql, compiler)
                else:
                    bound = fast.params(fast.prepare(value), connection)
            else:
                lookup = conditions[index]
                if type(lookup) is Unmade:
                    if lookup.condition.lookup_class is not made.lookup_class:
                        return None
                elif type(lookup) is not made.lookup_class:
                    return None
                bound = bind_condition(lookup, fast, rhs_sql, compiler)
            if bound is None:
                return None
            params.extend(bound)
        return self.dialect.prepare_params(params)


#: What :meth:`Plans.read` returns: the SQL to run (empty: no row can match), its
#: parameters, and the decoder of its rows.
Statement = tuple[str, Sequence[Any], Decoder]


class Plans:
    """The plans of every shape seen, by shape; ``None`` for a shape that has none."""

    __slots__ = ("_plans",)

    def __init__(self) -> None:
        self._plans: dict[Shape, Plan | None] = {}

    def read(
        self,
        shape: Shape | None,
        values: Sequence[Any],
        build: Callable[[], tuple[QuerySet[Any], CompiledQuery, Decoder, Dialect]],
        conditions: Sequence[Any] | None = None,
    ) -> Statement:
        """Return the statement that reads *shape* with *values*.

        From the shape's plan when it has one and the values bind (*conditions* as
        :meth:`Plan.bind`); otherwise *build* builds and compiles the queryset Django's way
        (and the plan of the shape is learnt from it, the first time). Without a shape,
        always *build*.
        """
        plan = None if shape is None else self._plans.get(shape)
        if plan is not None:
            params = plan.bind(values, conditions)
            if params is not None:
                return plan.compiled.sql, params, plan.decode
        queryset, compiled, decode, dialect = build()
        if shape is not None and shape not in self._plans and not compiled.empty:
            # An empty query tells nothing of the shape: Django proved these values
            # match nothing.
            if len(self._plans) >= MAX_SHAPES:
                self._plans.clear()
            self._plans[shape] = _plan(queryset, compiled, decode, dialect, values)
        return compiled.sql, compiled.params, decode

    def plan(self, shape: Shape) -> Plan | None:
        """Return the plan of *shape*, if one was learnt (for tests and diagnostics)."""
        return self._plans.get(shape)

    def clear(self) -> None:
        """Forget every plan."""
        self._plans.clear()


def _plan(
    queryset: QuerySet[Any],
    compiled: CompiledQuery,
    decode: Decoder,
    dialect: Dialect,
    values: Sequence[Any],
) -> Plan | None:
    where = queryset.query.where
    if where.connector != AND or where.negated or len(where.children) != len(values):
        return None
    compiler = compiled.compiler
    bindings: list[tuple[Condition, str, Binder | None]] = []
    params: list[Any] = []
    for node, value in zip(where.children, values, strict=True):
        made = condition(node, value)
        written = None if made is None else compile_rhs(made.make(value), compiler)
        if made is None or written is None:
            return None
        bindings.append((made, written[0], bound_alike(made.binder, value, written, compiler)))
        params.extend(written[1])
    if list(dialect.prepare_params(params)) != list(compiled.params):
        # Parameters from elsewhere (annotations, ordering, subqueries): no plan.
        return None
    return Plan(tuple(bindings), compiled, dialect, decode)


def bound_alike(
    binder: Binder | None, value: Any, written: tuple[str, Sequence[Any]], compiler: SQLCompiler
) -> Binder | None:
    """Return *binder* if it binds *value* as Django's lookup did (*written*) on *compiler*'s
    database, else ``None``."""
    if binder is None or written[0] != binder.sql(value):
        return None
    params = binder.params(binder.prepare(value), compiler.connection)
    return binder if params is not None and same_params(params, written[1]) else None


#: The plans of this process.
PLANS = Plans()


def _forget(**kwargs: Any) -> None:
    # Converters, parameters and even the SQL may follow settings (USE_TZ, DATABASES).
    PLANS.clear()


setting_changed.connect(_forget)

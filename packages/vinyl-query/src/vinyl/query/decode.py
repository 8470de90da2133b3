"""Turn driver rows into exactly what iterating a Django queryset returns, without I/O.

Each decoder mirrors one of Django's iterables in ``django/db/models/query.py``
(``ModelIterable``, ``ValuesIterable``, ``ValuesListIterable``,
``NamedValuesListIterable``, ``FlatValuesListIterable``) on rows a vinyl driver fetched:
the field converters come from the same compiler that wrote the SQL
(``CompiledQuery.compiler``) and run once per row.
"""

from __future__ import annotations

import gc
import operator
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple, cast

from django.db import NotSupportedError, router
from django.db.models import Model, QuerySet
from django.db.models.base import ModelState
from django.db.models.fields.related_descriptors import (
    ForeignKeyDeferredAttribute,
    ForwardManyToOneDescriptor,
)
from django.db.models.query import (
    FlatValuesListIterable,
    ModelIterable,
    NamedValuesListIterable,
    ValuesIterable,
    ValuesListIterable,
)
from django.db.models.query_utils import DeferredAttribute
from django.db.models.signals import post_init, pre_init
from django.db.models.utils import create_namedtuple_class
from vinyl.query._djangocompat import (
    HAS_FETCH_MODES,
    Loader,
    fetch_mode,
    model_loader,
    related_populators,
)
from vinyl.query.backend import Row
from vinyl.query.compiler import CompiledQuery

__all__ = ["Decoder", "decode", "decoder", "row_converter", "with_known_related"]


#: Decodes the rows one compiled query fetched: ``decoder(...)(rows)``.
Decoder = Callable[[Sequence[Row]], list[Any]]


def decode(
    queryset: QuerySet[Any],
    compiled: CompiledQuery,
    rows: Sequence[Row],
    *,
    instance_class: InstanceClass | None = None,
) -> list[Any]:
    """Return what iterating *queryset* yields in Django for *rows*, as a list.

    *compiled* is ``compile_query(queryset, ...)``, whose SQL fetched *rows*. Model
    instances are built as *instance_class* of their model where that leaves exactly the
    state Django's ``from_db`` leaves (see ``decode_models``).
    """
    return decoder(queryset, compiled, instance_class=instance_class)(rows)


def decoder(
    queryset: QuerySet[Any],
    compiled: CompiledQuery,
    *,
    instance_class: InstanceClass | None = None,
) -> Decoder:
    """Return the function that turns *compiled*'s rows into what *queryset* yields.

    Everything that depends on the query alone (converters, loader, column positions) is
    worked out here, once: a caller running the same compiled query again keeps the
    decoder and pays only the per-row work.
    """
    make = _decoder_maker(queryset._iterable_class)
    if make is None:
        raise NotSupportedError(
            f"vinyl cannot decode rows for the custom iterable class "
            f"{queryset._iterable_class.__qualname__!r}, which iterates its own way; use "
            f"Django's own values(), values_list() or model querysets."
        )
    return make(queryset, compiled, instance_class)


def _decoder_maker(
    iterable_class: type,
) -> Callable[[QuerySet[Any], CompiledQuery, InstanceClass | None], Decoder] | None:
    """Return what makes the decoder of *iterable_class*: Django's iterable's, or that of
    the Django iterable it subclasses without an ``__iter__`` of its own; else ``None``."""
    for klass in iterable_class.__mro__:
        make = _DECODERS.get(klass)
        if make is not None:
            return make
        if "__iter__" in vars(klass):
            return None
    return None


def row_converter(
    compiled: CompiledQuery, *, tuples: bool = False
) -> Callable[[Sequence[Row]], Iterable[Sequence[Any]]]:
    """Return the function that applies Django's field converters to rows, as ``results_iter``.

    The converters are looked up once. Columns Django selects only for ``ORDER BY`` /
    ``DISTINCT`` are cut off first, as Django's ``execute_sql`` does. Rows come out as
    tuples, in a new list, when *tuples* is true; otherwise as lists, or as the driver
    returned them when no converter applies.
    """
    compiler = compiled.compiler
    col_count = compiler.col_count
    cut = compiler.has_extra_select
    fields = [column[0] for column in compiler.select[0:col_count]]
    if compiler.has_composite_fields(fields):
        # Composite primary keys: Django's own iterator folds their columns into tuples.
        def composite(rows: Sequence[Row]) -> Iterable[Sequence[Any]]:
            if cut:
                rows = [row[:col_count] for row in rows]
            # A list, as the other converters': values_list()'s decoder returns it as it is.
            return list(compiler.results_iter(results=[list(rows)], tuple_expected=tuples))

        return composite
    converters = list(compiler.get_converters(fields).items())
    connection = compiler.connection
    make_row: Callable[[Any], Sequence[Any]] = tuple if tuples else list

    def convert(rows: Sequence[Row]) -> Iterable[Sequence[Any]]:
        if cut:
            rows = [row[:col_count] for row in rows]
        if not converters:
            return rows if not tuples else list(map(_tuple_maker(rows), rows))
        converted = []
        for row in rows:
            values = list(row)
            for pos, (functions, expression) in converters:
                value = values[pos]
                for function in functions:
                    value = function(value, expression, connection)
                values[pos] = value
            converted.append(make_row(values) if tuples else values)
        return converted

    return convert


#: ``itemgetter(0, 1, ..., n - 1)`` by row width *n*, made once each.
_ROW_GETTERS: dict[int, Callable[[Any], tuple[Any, ...]]] = {}


def _tuple_maker(rows: Sequence[Row]) -> Callable[[Any], tuple[Any, ...]]:
    """Return what makes each of *rows* (one result: one type and width) a tuple.

    ``tuple`` for tuples (it returns them as they are). A row of another type (asyncpg's
    ``Record``) is copied by an ``itemgetter`` of all its columns, which builds the same
    tuple without iterating the row: about a third cheaper than ``tuple(row)``. One column
    is ``tuple``: an ``itemgetter`` of one index returns the value itself.
    """
    if not rows or type(rows[0]) is tuple or len(rows[0]) < 2:
        return tuple
    width = len(rows[0])
    getter = _ROW_GETTERS.get(width)
    if getter is None:
        getter = _ROW_GETTERS[width] = operator.itemgetter(*range(width))
    return getter


def _models_decoder(
    queryset: QuerySet[Any], compiled: CompiledQuery, instance_class: InstanceClass | None
) -> Decoder:
    """Decode model instances, as Django's ``ModelIterable`` (see :func:`_instances_decoder`
    and :func:`with_known_related`)."""
    decode = _instances_decoder(queryset, compiled, instance_class)
    return with_known_related(decode, queryset, instance_class)


def _instances_decoder(
    queryset: QuerySet[Any], compiled: CompiledQuery, instance_class: InstanceClass | None
) -> Decoder:
    """Decode model instances, as Django's ``ModelIterable`` builds them.

    Fills ``select_related()`` relations and annotations, as Django does. Without
    ``select_related()``, instances are built directly as ``instance_class(model)`` (a
    subclass of the model) when the model runs no code of its own while Django builds one;
    otherwise, and for select_related() (whose related instances Django builds), as the
    model itself.
    """
    compiler = compiled.compiler
    select, klass_info, annotation_col_map = (
        compiler.select,
        compiler.klass_info,
        compiler.annotation_col_map,
    )
    if klass_info is None:
        # Only an empty query compiles to no klass_info, and it has no rows.
        return _no_rows
    db = queryset.db
    model_cls = klass_info["model"]
    select_fields = klass_info["select_fields"]
    start, end = select_fields[0], select_fields[-1] + 1
    init_list = [column[0].target.attname for column in select[start:end]]
    populators = related_populators(klass_info, select, queryset)
    built_class = model_cls if populators or instance_class is None else instance_class(model_cls)
    plain = _plain_loader(model_cls, built_class, queryset, init_list)
    from_db = plain[0] if plain is not None else model_loader(model_cls, queryset)
    annotations = list(annotation_col_map.items()) if annotation_col_map else []
    convert = row_converter(compiled)
    mode: Any = fetch_mode(queryset) if HAS_FETCH_MODES else None
    peered = _with_peers if getattr(mode, "track_peers", False) else _collector_paused
    if not (populators or annotations) and (start, end) == (0, len(select)):
        # Model fields only: each row is the values, in the loader's order.
        if plain is not None:
            load_rows = plain[1]
            return peered(lambda rows: load_rows(db, convert(rows)))
        return peered(lambda rows: [from_db(db, init_list, row) for row in convert(rows)])

    def decode_rows(rows: Sequence[Row]) -> list[Any]:
        objs = []
        for row in convert(rows):
            obj = from_db(db, init_list, row[start:end])
            for populator in populators:
                populator.populate(row, obj)
            for attr_name, col_pos in annotations:
                setattr(obj, attr_name, row[col_pos])
            objs.append(obj)
        return objs

    return peered(decode_rows)


def _with_peers(decode_rows: Decoder) -> Decoder:
    """Return :func:`_collector_paused` *decode_rows*, each instance knowing its peers.

    Under Django 6.1's ``FETCH_PEERS`` every instance of one result holds the same list of
    weak references to all of them (``_state.peers``), as ``ModelIterable`` sets it: a
    relation read on one of them is read for all of them.
    """
    decode_paused = _collector_paused(decode_rows)

    def decode(rows: Sequence[Row]) -> list[Any]:
        objs = decode_paused(rows)
        peers = [weakref.ref(obj) for obj in objs]
        for obj in objs:
            obj._state.peers = peers
        return objs

    return decode


#: From this many rows on, instances are built with the cyclic garbage collector paused.
PAUSE_COLLECTOR_ROWS = 100


def _collector_paused(decode_rows: Decoder) -> Decoder:
    """Return *decode_rows*, run with the cyclic garbage collector paused for many rows.

    Each instance brings three or four new objects (itself, its dict, its state, the
    state's cache of related objects): a few hundred rows set the collector off, and each
    pass walks the young objects, and now and then the whole heap, though the new
    instances hold no cycle for it to find (reference counting frees them). In the
    benchmark's processes that was a quarter of a 10,000-row fetch. The collector is
    resumed at the end, only if it was running; its next pass covers the whole batch once.
    """

    def decode(rows: Sequence[Row]) -> list[Any]:
        if len(rows) < PAUSE_COLLECTOR_ROWS or not gc.isenabled():
            return decode_rows(rows)
        gc.disable()
        try:
            return decode_rows(rows)
        finally:
            gc.enable()

    return decode


def _no_rows(rows: Sequence[Row]) -> list[Any]:
    return []


def _plain_loader(
    model_cls: type[Model],
    built_class: type[Model],
    queryset: QuerySet[Any],
    init_list: Sequence[str],
) -> _PlainLoaders | None:
    """Return loaders leaving the state ``model_cls.from_db`` leaves, on a *built_class*.

    *built_class* is *model_cls* or a subclass whose field attributes store an assigned
    value as Django's do; the instance is filled without ``__init__``.

    ``None`` when *model_cls* runs code of its own while Django builds an instance (see
    ``_foreign_keys_if_plain``) or a ``pre_init``/``post_init`` receiver listens to it.
    """
    keys = _foreign_keys_if_plain(model_cls)
    if keys is None or pre_init.has_listeners(model_cls) or post_init.has_listeners(model_cls):
        return None
    # As from_db: all fields are assigned by position, a subset in concrete-field order.
    concrete = [field.attname for field in model_cls._meta.concrete_fields]
    names = concrete if len(init_list) == len(concrete) else [n for n in concrete if n in init_list]
    # Assigning a foreign key a value other than None reads (so creates) fields_cache.
    key_indexes = [i for i, name in enumerate(names) if name in keys]
    mode: Any = fetch_mode(queryset) if HAS_FETCH_MODES else None
    return _written_loader(built_class, tuple(names), tuple(key_indexes), mode)


#: The loader of one row, and of a batch: ``(db, rows) -> instances``.
_PlainLoaders = tuple[Loader, Callable[[str, Iterable[Sequence[Any]]], list[Any]]]

_loaders: dict[tuple[Any, ...], _PlainLoaders] = {}


def _written_loader(
    built_class: type[Model], names: tuple[str, ...], key_indexes: tuple[int, ...], mode: Any
) -> _PlainLoaders:
    """Return the loaders of *built_class* for the values of *names*, written once.

    It is written for this model and select list, as dataclasses writes ``__init__``: the
    values are stored into the instance's ``__dict__`` one constant key after another, in
    the order Django's ``__init__`` fills it (a foreign key's attribute stores into
    ``__dict__`` anyway), with no call per value. So every instance of the model shares
    one table of keys, as Django's do, and holds its values alone (128 bytes a dict of
    seven fields, against 272 for a dict of its own, as a dict display would build; and an
    instance given such a dict before Django built one of the model leaves Django's
    instances of it without the shared table too). The state's few attributes are
    assigned, in the order ``from_db`` assigns them: Python then keeps them in the object,
    with no dictionary of their own for the garbage collector to walk. ``ModelState()`` is
    what Django's ``__init__`` calls, and cheaper than ``object.__new__(ModelState)``.
    """
    cache_key = (built_class, names, key_indexes, mode)
    if cache_key in _loaders:
        return _loaders[cache_key]
    keys_set = " or ".join(f"values[{i}] is not None" for i in key_indexes) or "False"
    body = [
        "state = state_class()",
        f"if {keys_set}:",
        "    state.fields_cache = {}",
        "state.adding = False",
        "state.db = db",
        *([] if mode is None else ["state.fetch_mode = mode"]),
        "obj = new(built_class)",
        "stored = obj.__dict__",
        'stored["_state"] = state',
        *(f"stored[{name!r}] = values[{i}]" for i, name in enumerate(names)),
    ]
    # One row, and a batch of rows with the same body inlined: no call per row.
    source = "\n".join(
        [
            "def load(db, field_names, values):",
            *(f"    {line}" for line in body),
            "    return obj",
            "def load_rows(db, rows):",
            "    objs = []",
            "    append = objs.append",
            "    for values in rows:",
            *(f"        {line}" for line in body),
            "        append(obj)",
            "    return objs",
        ]
    )
    namespace: dict[str, Any] = {
        "new": object.__new__,
        "state_class": ModelState,
        "built_class": built_class,
        "mode": mode,
    }
    exec(source, namespace)  # noqa: S102 - the source is built from field names only
    loaders: _PlainLoaders = (namespace["load"], namespace["load_rows"])
    _loaders[cache_key] = loaders
    return loaders


#: Returns the class to build instances of a model as (a subclass of it).
InstanceClass = Callable[[type[Model]], type[Model]]

_plain_models: dict[type[Model], frozenset[str] | None] = {}


def _foreign_keys_if_plain(model_cls: type[Model]) -> frozenset[str] | None:
    """Return the attnames of *model_cls*'s foreign keys if ``from_db`` only stores values.

    That is: no class of the model overrides ``from_db``, ``__init__`` or ``__setattr__``,
    and each concrete field's attribute is Django's plain descriptor (whose assignment on
    a new instance stores the value and nothing else). ``None`` otherwise.
    """
    try:
        return _plain_models[model_cls]
    except KeyError:
        pass
    own_code = any(
        name in vars(klass)
        for klass in model_cls.__mro__
        if klass is not Model and klass is not object
        for name in ("__init__", "from_db", "__setattr__")
    )
    attributes: dict[str, Any] = {}
    for klass in reversed(model_cls.__mro__):
        attributes.update(vars(klass))
    descriptors = [type(attributes.get(field.attname)) for field in model_cls._meta.concrete_fields]
    keys = None
    if not own_code and all(descriptor in _PLAIN_DESCRIPTORS for descriptor in descriptors):
        keys = frozenset(
            field.attname
            for field, descriptor in zip(model_cls._meta.concrete_fields, descriptors, strict=True)
            if descriptor is ForeignKeyDeferredAttribute
        )
    _plain_models[model_cls] = keys
    return keys


_PLAIN_DESCRIPTORS = (DeferredAttribute, ForeignKeyDeferredAttribute)


def with_known_related(
    decode: Decoder, queryset: QuerySet[Any], instance_class: InstanceClass | None = None
) -> Decoder:
    """Return *decode*, then each instance given the known related objects of *queryset*
    (a related manager's: ``book.author``), as Django's ``ModelIterable`` gives them.

    *decode* must decode model instances; it is returned as it is when there are none.
    *instance_class* is the decoder's (see ``decode_models``): its instances, as the
    model's, take the related object without going through the descriptors when that
    stores exactly what ``setattr()`` would (:func:`_assigned_directly`).
    """
    private: Any = queryset  # Django's stubs leave the private attributes out.
    model = queryset.model
    known = []
    for field, rel_objs in private._known_related_objects.items():
        attnames = [
            field.attname if from_field == "self" else model._meta.get_field(from_field).attname
            for from_field in field.from_fields
        ]
        direct = _assigned_directly(model, field)
        classes = set()
        if direct is not None:
            classes = {model} if instance_class is None else {model, instance_class(model)}
        getter = operator.attrgetter(*attnames)
        known.append((field, rel_objs, frozenset(attnames), getter, classes, direct))
    if not known:
        return decode

    def decode_known(rows: Sequence[Row]) -> list[Any]:
        instances = decode(rows)
        # A router's allow_relation() may refuse a relation (Django raises then): only its
        # own code can say. Django asks only the routers that have one.
        routed = any(hasattr(each, "allow_relation") for each in router.routers)
        for obj in instances:
            for field, rel_objs, attnames, getter, classes, direct in known:
                # As Django: never overwrite what select_related() loaded, and never read
                # a deferred attribute to look the related object up.
                if field.is_cached(obj) or not obj.__dict__.keys() >= attnames:
                    continue
                rel_obj = rel_objs.get(getter(obj))
                if rel_obj is None:
                    continue
                state = obj._state
                if (
                    routed
                    or direct is None
                    or type(obj) not in classes
                    or not isinstance(rel_obj, direct.model)
                    or state.db is None
                    or state.db != rel_obj._state.db
                ):
                    setattr(obj, field.name, rel_obj)
                    continue
                # What Django's descriptors store on this path (the key was found unchanged
                # and nothing was cached for the relation).
                obj.__dict__[field.attname] = getattr(rel_obj, direct.target)
                state.fields_cache[field.cache_name] = rel_obj
        return instances

    return decode_known


class _Direct(NamedTuple):
    """What assigning a related object stores without its descriptors: the class it
    must be an instance of, and the attname of its field the key copies."""

    model: type[Model]
    target: str


def _assigned_directly(model: type[Model], field: Any) -> _Direct | None:
    """Return how ``setattr(obj, field.name, rel_obj)`` can be done without descriptors.

    That is for a ``ForeignKey`` (one key column, not one-to-one) of a *model* with no
    ``__setattr__`` of its own, whose attributes are Django's own descriptors, on an
    instance read from the database: ``ForwardManyToOneDescriptor.__set__`` then checks
    the related object's class and the router (:func:`with_known_related` checks both
    per object and leaves the rest to ``setattr()``), stores its key through
    ``ForeignKeyDeferredAttribute`` (which drops nothing: the relation is not cached) and
    caches it. ``None`` otherwise.
    """
    key = (model, field)
    if key in _direct:
        return _direct[key]
    attributes: dict[str, Any] = {}
    for klass in reversed(model.__mro__):
        attributes.update(vars(klass))
    relation, column = attributes.get(field.name), attributes.get(getattr(field, "attname", ""))
    related_fields: Any = getattr(field, "related_fields", ())
    direct = None
    if (
        model.__setattr__ is object.__setattr__
        and type(relation) is ForwardManyToOneDescriptor
        and relation.field is field
        and type(column) is ForeignKeyDeferredAttribute
        and column.field is field
        and field.remote_field.multiple
        and len(related_fields) == 1
        and related_fields[0][0] is field
    ):
        remote: Any = field.remote_field.model  # a model class: the stubs allow a string
        direct = _Direct(remote._meta.concrete_model, related_fields[0][1].attname)
    _direct[key] = direct
    return direct


_direct: dict[tuple[type[Model], Any], _Direct | None] = {}


def _dicts_decoder(
    queryset: QuerySet[Any], compiled: CompiledQuery, instance_class: InstanceClass | None
) -> Decoder:
    """Decode one dict per row, as Django's ``ValuesIterable`` (``values()``)."""
    names = _selected_names(queryset)
    indexes = range(len(names))
    convert = row_converter(compiled)

    def decode_rows(rows: Sequence[Row]) -> list[Any]:
        return [{names[i]: row[i] for i in indexes} for row in convert(rows)]

    return decode_rows


def _tuples_decoder(
    queryset: QuerySet[Any], compiled: CompiledQuery, instance_class: InstanceClass | None
) -> Decoder:
    """Decode one tuple per row, as Django's ``ValuesListIterable`` (``values_list()``)."""
    # With tuples, the converter's result is a new list: the decoder's, as it is.
    return cast(Decoder, row_converter(compiled, tuples=True))


def _named_decoder(
    queryset: QuerySet[Any], compiled: CompiledQuery, instance_class: InstanceClass | None
) -> Decoder:
    """Decode one named tuple per row, as Django's ``NamedValuesListIterable``."""
    query = queryset.query
    private: Any = queryset
    names = private._fields or [
        *query.extra_select,
        *query.values_select,
        *query.annotation_select,
    ]
    tuple_class = create_namedtuple_class(*names)
    new = tuple.__new__
    convert = row_converter(compiled)

    def decode_rows(rows: Sequence[Row]) -> list[Any]:
        return [new(tuple_class, row) for row in convert(rows)]

    return decode_rows


def _flat_decoder(
    queryset: QuerySet[Any], compiled: CompiledQuery, instance_class: InstanceClass | None
) -> Decoder:
    """Decode the first column of each row, as Django's ``FlatValuesListIterable``."""
    convert = row_converter(compiled)

    def decode_rows(rows: Sequence[Row]) -> list[Any]:
        return [row[0] for row in convert(rows)]

    return decode_rows


def _selected_names(queryset: QuerySet[Any]) -> list[str]:
    query = queryset.query
    if query.selected:
        return list(query.selected)
    # extra(select=...) columns always come first in the row.
    return [*query.extra_select, *query.values_select, *query.annotation_select]


_DECODERS: dict[type, Callable[[QuerySet[Any], CompiledQuery, InstanceClass | None], Decoder]] = {
    ModelIterable: _models_decoder,
    ValuesIterable: _dicts_decoder,
    ValuesListIterable: _tuples_decoder,
    NamedValuesListIterable: _named_decoder,
    FlatValuesListIterable: _flat_decoder,
}

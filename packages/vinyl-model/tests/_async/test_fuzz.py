"""The fuzzer: random chains of builder calls through ``M.objects`` and ``M.avinyl``.

A chain (a test model, a few builder calls, one terminal) is drawn once and evaluated three
times, each time with new values drawn for each of its slots. Every evaluation must give
Django's result, Python types included, and what ``obj[name]`` reads for every relation
(and a ``FieldError`` for every one that was not loaded); when Django raises, vinyl must
raise the same exception with the same message.

vinyl keeps a plan per query *shape* (``vinyl.model._plans``: the calls and the types of
their values, not the values), so the second and third evaluations of a chain run through
what the first one left. That is what the fuzzer is for: values of one type that change
the query (``isnull`` on a relation, ``None``, empty and non-empty ``__in`` lists, pks that
exist or not) must each get Django's result. Plans are forgotten before each example, so
that a falsifying example fails on its own when Hypothesis replays it.

Lookups, orderings and ``values()`` cross relations both ways: forward, and reverse (a
reverse foreign key, one-to-one, many-to-many), the reverse relation itself too
(``Author.filter(books=…)``, ``Place.filter(restaurant__isnull=…)``), whose lookup's
field is the relation (``ManyToOneRel``, ``OneToOneRel``, ``ManyToManyRel``), not a column.

The examples come from a fixed seed, so CI runs the same chains every time:
``VINYL_FUZZ_EXAMPLES`` per test run (default :data:`DEFAULT_EXAMPLES`) runs more or fewer,
``VINYL_FUZZ_SEED`` another seed. Each run records how many it ran as the JUnit property
``fuzz_examples``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
import vinyl_async
from django.core.exceptions import FieldError
from django.core.signals import setting_changed
from django.db import DatabaseError
from django.db.models import Avg, Count, F, Max, Min, Model, Prefetch, Q, Sum
from hypothesis import HealthCheck, event, given, seed, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from vinyl_testapp.models.library import (
    Author,
    AuthorProfile,
    Book,
    Place,
    Restaurant,
    Review,
    Tag,
)
from vinyl_testing.plugin import DB

from .test_differential import evaluated, normalize

# Hypothesis keeps caches under .hypothesis/ in the working directory, even with
# database=None: keep them out of the repository.
if not os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
    set_hypothesis_home_dir(os.path.join(tempfile.gettempdir(), "vinyl-hypothesis"))

#: Examples per test run (one flavor, one server) when ``VINYL_FUZZ_EXAMPLES`` is not set:
#: about 4 ms each, and enough that each lookup is drawn a few times.
DEFAULT_EXAMPLES = 600
EXAMPLES = int(os.environ.get("VINYL_FUZZ_EXAMPLES", DEFAULT_EXAMPLES))
SEED = int(os.environ.get("VINYL_FUZZ_SEED", 20_613))
#: The name of the flavor's manager on the test models, for messages.
MANAGER = {"vinyl_async": "avinyl", "vinyl_sync": "vinyl"}[vinyl_async.__name__]

#: Returns the starting queryset of a model: Django's (``objects``) or vinyl's (``avinyl``).
Start = Callable[[Any], Any]
Values = tuple[Any, ...]

# Values: the seeded ones and their neighbours, so that rows are found and missed.
PKS = st.integers(0, 8)


def pks(rows: int) -> st.SearchStrategy[int]:
    """Return a strategy of primary keys: mostly of the *rows* seeded rows, some missing."""
    return st.integers(1, rows) | st.integers(1, rows) | PKS


BOOLS = st.booleans()
PAGES = st.sampled_from([120, 150, 176, 200, 240, 600]) | st.integers(-10, 700)
TITLES = st.sampled_from(["Notes", "Ficciones", "Aleph", "Rayuela", "Matilda", "Boy", "Nope"])
PREFIXES = st.sampled_from(["", "A", "B", "R", "Fic", "x", "%", "_o"])
PRICES = st.decimals(min_value=Decimal(0), max_value=Decimal(30), places=2)
RATINGS = st.sampled_from([3.9, 4.2, 4.5, 4.9]) | st.floats(0, 5, width=32)
YEARS = st.integers(1800, 2020)
NAMES = st.sampled_from(["Ada", "Borges", "Cortázar", "Dahl", "Nobody"])
AGES = st.integers(30, 90)
TAG_NAMES = st.sampled_from(["classic", "short", "long", "none"])
COUNTRIES = st.sampled_from(["US", "SE", "FR"])
PLACE_NAMES = st.sampled_from(["Park", "Trattoria", "Nowhere"])
OFFSETS = st.integers(-100, 100)
#: ``contains`` values: on a text field across a relation, and on a relation itself, for
#: which Django raises ``FieldError``.
CONTAINED = st.sampled_from(["a", "e", "Ray", "ian", ""])


def some(values: st.SearchStrategy[Any]) -> st.SearchStrategy[list[Any]]:
    """Return a strategy of ``__in`` lists of *values*: empty ones too."""
    return st.lists(values, max_size=3)


def saved(model: type[Model], keys: st.SearchStrategy[int]) -> st.SearchStrategy[Model]:
    """Return a strategy of instances of *model* with primary keys *keys*, as filter values.

    A related lookup takes an instance's key (the parent's key for a multi-table child):
    a value of another type than an int, so a shape of its own for the plans.
    """
    return keys.map(lambda pk: model(pk=pk))


def shown(value: Any) -> str:
    """Return *value* as code: an instance as the ``Model(pk=…)`` that :func:`saved` made."""
    if isinstance(value, Model):
        return f"{type(value).__name__}(pk={value.pk!r})"
    if isinstance(value, list):
        return f"[{', '.join(map(shown, value))}]"
    return repr(value)


@dataclass(frozen=True)
class Related:
    """A ``prefetch_related()`` argument: its code, how to make it, the names it loads."""

    text: str
    make: Callable[[Start], Any]
    path: tuple[str, ...]


def lookup(path: str) -> Related:
    return Related(repr(path), lambda m: path, tuple(path.split("__")))


@dataclass(frozen=True)
class Spec:
    """What the fuzzer may do with one test model."""

    model: type[Model]
    #: (lookup, its values) for filter()/exclude()/Q()/get().
    lookups: Sequence[tuple[str, st.SearchStrategy[Any]]]
    #: Lookups whose value changes the joins (``isnull`` on a relation, ``None``): drawn
    #: more often than the others.
    structural: Sequence[tuple[str, st.SearchStrategy[Any]]]
    #: (lookup, field): ``filter(lookup=F(field) + value)``.
    compared: Sequence[tuple[str, str]]
    orderings: Sequence[tuple[str, ...]]
    #: values()/values_list() fields.
    fields: Sequence[str]
    #: only()/defer() fields.
    deferrable: Sequence[str]
    selectable: Sequence[str]
    prefetchable: Sequence[Related]
    #: (code, aggregate).
    aggregates: Sequence[tuple[str, Callable[[], Any]]]
    #: (field_name, its values) for in_bulk() and get(): the primary key first.
    keys: Sequence[tuple[str, st.SearchStrategy[Any]]]

    def filters(self) -> list[tuple[str, st.SearchStrategy[Any]]]:
        """Return the lookups to draw from, the structural ones weighted."""
        return [*self.lookups, *self.structural, *self.structural, *self.structural]

    def relations(self) -> set[tuple[str, ...]]:
        """Return every relation path a chain on this model may load."""
        paths = {tuple(name.split("__")) for name in self.selectable}
        return paths | {related.path for related in self.prefetchable}


SPECS = [
    Spec(
        model=Book,
        lookups=[
            ("pk", pks(6)),
            ("pk__in", some(pks(6))),
            ("pages__gt", PAGES),
            ("pages__lte", PAGES),
            ("pages__in", some(PAGES)),
            ("title", TITLES),
            ("title__startswith", PREFIXES),
            ("title__in", some(TITLES)),
            ("price__lt", PRICES),
            ("rating", st.none() | RATINGS),
            ("rating__isnull", BOOLS),
            ("published__year__lt", YEARS),
            ("author", pks(4)),
            ("author__name", NAMES),
            ("author__age__gt", AGES),
            ("tags__name", TAG_NAMES),
            ("author__publisher__country", COUNTRIES),
            ("review__stars__gte", st.integers(1, 5)),
            # The reverse foreign key Review.book (no related_name) itself.
            ("review", saved(Review, pks(12))),
            ("review__in", some(pks(12))),
            ("review__gt", pks(12)),
            ("review__lt", pks(12)),
            # The generic relation to TaggedItem: a reverse relation of its own kind.
            ("items", pks(4)),
            ("items__in", some(pks(4))),
            ("items__label__contains", st.sampled_from(["item", "-2", "author", ""])),
            # Forward, then reverse: the author's books and profile.
            ("author__books__gt", pks(6)),
            ("author__profile__in", some(pks(2))),
        ],
        structural=[
            ("coauthor", st.none() | pks(4)),
            ("coauthor__isnull", BOOLS),
            ("tags__isnull", BOOLS),
            ("author__profile__isnull", BOOLS),
            ("review", st.none() | pks(12)),
            ("review__isnull", BOOLS),
            ("items__isnull", BOOLS),
            ("author__profile", st.none() | pks(2)),
        ],
        compared=[
            ("pages__gt", "author__age"),
            ("pk__gte", "author"),
            ("pages__lt", "coauthor__age"),
            ("pk__lte", "review"),
        ],
        orderings=[
            ("pk",),
            ("-pk",),
            ("title",),
            ("-pages", "pk"),
            ("rating", "pk"),
            ("author__name", "-pk"),
            ("-published",),
            ("-review", "pk"),
        ],
        fields=[
            "title",
            "pages",
            "price",
            "rating",
            "published",
            "created",
            "author",
            "author__name",
            "review",
            "review__stars",
        ],
        deferrable=["title", "pages", "price", "rating", "author", "coauthor"],
        selectable=["author", "coauthor", "author__publisher", "author__profile"],
        prefetchable=[
            lookup("tags"),
            lookup("review_set"),
            lookup("author"),
            lookup("coauthor"),
            lookup("items"),
            lookup("author__books"),
            Related(
                "Prefetch('tags', to_attr='tag_list')",
                lambda m: Prefetch("tags", to_attr="tag_list"),
                ("tag_list",),
            ),
            Related(
                "Prefetch('review_set', queryset=Review.<manager>.filter(stars__gte=3), "
                "to_attr='good_reviews')",
                lambda m: Prefetch(
                    "review_set", queryset=m(Review).filter(stars__gte=3), to_attr="good_reviews"
                ),
                ("good_reviews",),
            ),
            Related(
                "Prefetch('author', to_attr='writer')",
                lambda m: Prefetch("author", to_attr="writer"),
                ("writer",),
            ),
        ],
        aggregates=[
            ("Sum('pages')", lambda: Sum("pages")),
            ("Count('pk')", lambda: Count("pk")),
            ("Max('price')", lambda: Max("price")),
            ("Avg('rating')", lambda: Avg("rating")),
            ("Min('published')", lambda: Min("published")),
            ("Count('tags', distinct=True)", lambda: Count("tags", distinct=True)),
            ("Sum('review__stars')", lambda: Sum("review__stars")),
            ("Max('review')", lambda: Max("review")),
        ],
        keys=[("pk", pks(6)), ("title", TITLES)],
    ),
    Spec(
        model=Author,
        lookups=[
            ("pk", pks(4)),
            ("pk__in", some(pks(4))),
            ("name", NAMES),
            ("name__in", some(NAMES)),
            ("name__icontains", st.sampled_from(["a", "AR", "z", ""])),
            ("age__gt", AGES),
            ("age__in", some(AGES)),
            ("publisher__country", COUNTRIES),
            ("profile__bio", st.sampled_from(["Analyst", "Librarian", ""])),
            ("books__pages__gt", PAGES),
            ("books__title", TITLES),
            ("joined__year__gte", YEARS),
            # The reverse foreign keys (Book.author, Book.coauthor) and the reverse
            # one-to-one (AuthorProfile.author) themselves, and fields across them.
            ("books", pks(6)),
            ("books", saved(Book, pks(6))),
            ("books__in", some(pks(6))),
            ("books__gt", pks(6)),
            ("books__lt", pks(6)),
            ("books__title__contains", CONTAINED),
            ("books__contains", CONTAINED),
            ("cowritten__in", some(pks(6))),
            ("cowritten__gte", pks(6)),
            ("profile", saved(AuthorProfile, pks(2))),
            ("profile__in", some(pks(2))),
            ("profile__lt", pks(2)),
            ("profile__bio__contains", CONTAINED),
            # Reverse, then reverse again or forward.
            ("books__review__lt", pks(12)),
            ("books__tags", pks(3)),
        ],
        structural=[
            ("publisher", st.none() | pks(2)),
            ("publisher__isnull", BOOLS),
            ("profile__isnull", BOOLS),
            ("cowritten__isnull", BOOLS),
            ("books__isnull", BOOLS),
            ("profile", st.none() | pks(2)),
            ("cowritten", st.none() | pks(6)),
        ],
        compared=[
            ("age__lt", "books__pages"),
            ("pk__lte", "publisher"),
            ("pk__lte", "books"),
            ("age__gt", "profile"),
        ],
        orderings=[
            ("pk",),
            ("-pk",),
            ("name",),
            ("-age",),
            ("publisher__name", "pk"),
            ("-joined",),
            ("books__pages", "pk"),
            ("-profile", "pk"),
        ],
        fields=[
            "name",
            "age",
            "publisher",
            "publisher__name",
            "joined",
            "profile__bio",
            "profile",
            "books",
            "books__title",
        ],
        deferrable=["name", "age", "publisher", "joined", "data"],
        selectable=["publisher", "profile"],
        prefetchable=[
            lookup("books"),
            lookup("cowritten"),
            lookup("profile"),
            lookup("publisher"),
            lookup("books__tags"),
            Related(
                "Prefetch('books', to_attr='book_list')",
                lambda m: Prefetch("books", to_attr="book_list"),
                ("book_list",),
            ),
            Related(
                "Prefetch('books', queryset=Book.<manager>.filter(pages__gt=160), "
                "to_attr='long_books')",
                lambda m: Prefetch(
                    "books", queryset=m(Book).filter(pages__gt=160), to_attr="long_books"
                ),
                ("long_books",),
            ),
        ],
        aggregates=[
            ("Sum('age')", lambda: Sum("age")),
            ("Count('books')", lambda: Count("books")),
            ("Max('joined')", lambda: Max("joined")),
            ("Avg('age')", lambda: Avg("age")),
            ("Count('profile')", lambda: Count("profile")),
            ("Max('books__pages')", lambda: Max("books__pages")),
            ("Min('cowritten')", lambda: Min("cowritten")),
        ],
        keys=[("pk", pks(4)), ("name", NAMES)],
    ),
    Spec(
        model=Place,
        lookups=[
            ("pk", pks(2)),
            ("pk__in", some(pks(2))),
            ("name", PLACE_NAMES),
            ("name__in", some(PLACE_NAMES)),
            ("address__startswith", st.sampled_from(["1", "2", "", "Main"])),
            ("restaurant__seats__gt", st.integers(0, 60)),
            ("restaurant__serves_pizza", BOOLS),
            # The reverse one-to-one of multi-table inheritance (Restaurant.place_ptr) itself.
            ("restaurant", saved(Restaurant, pks(2)) | saved(Place, pks(2))),
            ("restaurant__in", some(pks(2))),
            ("restaurant__gt", pks(2)),
            ("restaurant__lt", pks(2)),
            ("restaurant__name__contains", CONTAINED),
        ],
        structural=[("restaurant__isnull", BOOLS), ("restaurant", st.none() | pks(2))],
        compared=[("pk__lte", "restaurant__seats"), ("pk__gte", "restaurant")],
        orderings=[
            ("pk",),
            ("-pk",),
            ("name",),
            ("-address",),
            ("restaurant__seats", "pk"),
            ("-restaurant", "pk"),
        ],
        fields=["name", "address", "restaurant__seats", "restaurant"],
        deferrable=["name", "address"],
        selectable=["restaurant"],
        prefetchable=[lookup("restaurant")],
        aggregates=[
            ("Count('pk')", lambda: Count("pk")),
            ("Max('name')", lambda: Max("name")),
            ("Count('restaurant')", lambda: Count("restaurant")),
            ("Sum('restaurant__seats')", lambda: Sum("restaurant__seats")),
        ],
        keys=[("pk", pks(2)), ("name", PLACE_NAMES)],
    ),
    Spec(
        model=Tag,
        lookups=[
            ("pk", pks(3)),
            ("pk__in", some(pks(3))),
            ("name", TAG_NAMES),
            ("name__in", some(TAG_NAMES)),
            ("books__pages__gt", PAGES),
            ("books__author__name", NAMES),
            # The reverse many-to-many (Book.tags) itself.
            ("books__in", some(pks(6))),
            ("books__in", some(saved(Book, pks(6)))),
            ("books__gt", pks(6)),
            ("books__lt", pks(6)),
            ("books__title__contains", CONTAINED),
            # Reverse, then reverse again.
            ("books__review", pks(12)),
            ("books__author__profile__in", some(pks(2))),
        ],
        structural=[
            ("books__isnull", BOOLS),
            ("books__coauthor__isnull", BOOLS),
            ("books__review__isnull", BOOLS),
            ("books", st.none() | pks(6)),
        ],
        compared=[("pk__lt", "books__pages"), ("pk__lte", "books")],
        orderings=[("pk",), ("-pk",), ("name",), ("-name",), ("books", "pk")],
        fields=["name", "books__title", "books"],
        deferrable=["name"],
        selectable=[],
        prefetchable=[
            lookup("books"),
            lookup("books__author"),
            Related(
                "Prefetch('books', to_attr='book_list')",
                lambda m: Prefetch("books", to_attr="book_list"),
                ("book_list",),
            ),
        ],
        aggregates=[
            ("Count('books')", lambda: Count("books")),
            ("Max('name')", lambda: Max("name")),
            ("Avg('books__pages')", lambda: Avg("books__pages")),
        ],
        keys=[("pk", pks(3)), ("name", TAG_NAMES)],
    ),
]


@dataclass(frozen=True)
class Call:
    """One call of a chain: its code, with ``{}`` for each slot, and how to make it.

    A slot is a value drawn anew for each evaluation of the chain.
    """

    text: str
    slots: tuple[st.SearchStrategy[Any], ...]
    make: Callable[[Any, Start, Values], Any]
    #: The relation paths it loads (select_related(), prefetch_related()).
    loads: tuple[tuple[str, ...], ...] = ()
    #: Whether it orders the rows (order_by(), a terminal that orders by itself).
    orders: bool = False
    #: The names it orders by (order_by()).
    ordering: tuple[str, ...] = ()
    #: The to-many relations its fields cross (values()/values_list()): a row of the model
    #: for each of their rows.
    spreads: tuple[str, ...] = ()


class Chain:
    """A model's chain of builder calls, the last one its terminal.

    Not a dataclass: Hypothesis prints a dataclass field by field, and a chain as its code.
    """

    def __init__(self, spec: Spec, calls: tuple[Call, ...]) -> None:
        self.spec = spec
        self.calls = calls

    @property
    def slots(self) -> tuple[st.SearchStrategy[Any], ...]:
        return tuple(slot for call in self.calls for slot in call.slots)

    @property
    def ordered(self) -> bool:
        return any(call.orders for call in self.calls)

    @property
    def loads(self) -> set[tuple[str, ...]]:
        return {path for call in self.calls for path in call.loads}

    def run(self, start: Start, values: Values) -> Any:
        """Return the chain made from *start* with *values* (its terminal's result)."""
        built = start(self.spec.model)
        values = tuple(values)
        for call in self.calls:
            taken, values = values[: len(call.slots)], values[len(call.slots) :]
            built = call.make(built, start, taken)
        return built

    def code(self, manager: str, values: Values | None = None) -> str:
        """Return the chain as Python code, with *values* (or ``…`` for each slot)."""
        texts = []
        rest = tuple(values) if values is not None else ("…",) * len(self.slots)
        for call in self.calls:
            taken, rest = rest[: len(call.slots)], rest[len(call.slots) :]
            texts.append(call.text.format(*(taken if values is None else map(shown, taken))))
        return f"{self.spec.model.__name__}.{manager}" + "".join(texts)

    def __repr__(self) -> str:
        return self.code("<manager>")


def lookups(spec: Spec, count: int) -> st.SearchStrategy[list[tuple[str, Any]]]:
    """Return a strategy of *count* different lookups of *spec* (with their values)."""
    return st.lists(
        st.sampled_from(spec.filters()),
        min_size=count,
        max_size=count,
        unique_by=lambda pair: pair[0],
    )


def kwargs_text(names: Sequence[str]) -> str:
    return ", ".join(f"{name}={{}}" for name in names)


@st.composite
def filters(draw: st.DrawFn, spec: Spec, verb: str) -> Call:
    """Return ``filter(a=…)``/``exclude(a=…, b=…)`` on one or (less often) two lookups."""
    chosen = draw(lookups(spec, draw(st.sampled_from([1, 1, 1, 2]))))
    names = [name for name, _ in chosen]
    return Call(
        f".{verb}({kwargs_text(names)})",
        tuple(values for _, values in chosen),
        lambda qs, m, v: getattr(qs, verb)(**dict(zip(names, v, strict=True))),
    )


@st.composite
def q_filters(draw: st.DrawFn, spec: Spec) -> Call:
    """Return a filter()/exclude() on ``Q() | Q()`` or ``~Q()``."""
    (a, a_values), (b, b_values) = draw(lookups(spec, 2))
    form = draw(st.sampled_from(["or", "not", "exclude_or", "and_not"]))
    if form == "or":
        return Call(
            f".filter(Q({a}={{}}) | Q({b}={{}}))",
            (a_values, b_values),
            lambda qs, m, v: qs.filter(Q(**{a: v[0]}) | Q(**{b: v[1]})),
        )
    if form == "exclude_or":
        return Call(
            f".exclude(Q({a}={{}}) | Q({b}={{}}))",
            (a_values, b_values),
            lambda qs, m, v: qs.exclude(Q(**{a: v[0]}) | Q(**{b: v[1]})),
        )
    if form == "not":
        return Call(
            f".filter(~Q({a}={{}}))", (a_values,), lambda qs, m, v: qs.filter(~Q(**{a: v[0]}))
        )
    return Call(
        f".filter(Q({a}={{}}) & ~Q({b}={{}}))",
        (a_values, b_values),
        lambda qs, m, v: qs.filter(Q(**{a: v[0]}) & ~Q(**{b: v[1]})),
    )


@st.composite
def f_filters(draw: st.DrawFn, spec: Spec) -> Call:
    """Return ``filter(a=F(b) + value)``."""
    name, other = draw(st.sampled_from(spec.compared))
    return Call(
        f".filter({name}=F({other!r}) + {{}})",
        (OFFSETS,),
        lambda qs, m, v: qs.filter(**{name: F(other) + v[0]}),
    )


def order_by(names: tuple[str, ...]) -> Call:
    text = ", ".join(map(repr, names))
    return Call(
        f".order_by({text})",
        (),
        lambda qs, m, v: qs.order_by(*names),
        orders=True,
        ordering=names,
    )


@st.composite
def orderings(draw: st.DrawFn, spec: Spec) -> Call:
    return order_by(draw(st.sampled_from(spec.orderings)))


def untied(calls: Sequence[Call], relations: Sequence[str]) -> Call:
    """Return the ``order_by()`` that puts rows spread over to-many *relations* in one order.

    ``values()`` across a to-many relation gives an instance's row once for each related row;
    the chain's ordering (its last ``order_by()``, and ``first()``/``last()``'s ``pk``) ties
    them, and the database returns tied rows in any order: MariaDB did, differently for
    Django's connection and vinyl's. The chain's ordering then ``pk`` then each relation's
    ``pk`` is total.
    """
    chosen = next((call.ordering for call in reversed(calls) if call.ordering), ())
    return order_by(tuple(dict.fromkeys((*chosen, "pk", *relations))))


def spreads(model: type[Model], names: Sequence[str]) -> tuple[str, ...]:
    """Return the to-many relations that the fields *names* of *model* cross, each once."""
    found: list[str] = []
    for name in names:
        current: Any = model
        parts = name.split("__")
        for index, part in enumerate(parts):
            field = current._meta.get_field(part)
            if not field.is_relation:
                break
            if field.one_to_many or field.many_to_many:
                found.append("__".join(parts[: index + 1]))
            current = field.related_model
    return tuple(dict.fromkeys(found))


def aggregated(aggregate: Any) -> list[str]:
    """Return the field paths *aggregate* reads, but ``pk`` (a column of the model itself)."""
    # F.name is set in F.__init__, which django-stubs does not declare.
    names = [
        source.name  # type: ignore[attr-defined]
        for source in aggregate.get_source_expressions()
        if isinstance(source, F)
    ]
    return [name for name in names if name != "pk"]


@st.composite
def field_calls(draw: st.DrawFn, spec: Spec, verb: str) -> Call:
    """Return ``only(…)`` or ``defer(…)``."""
    names = draw(st.lists(st.sampled_from(spec.deferrable), min_size=1, max_size=2, unique=True))
    text = ", ".join(map(repr, names))
    return Call(f".{verb}({text})", (), lambda qs, m, v: getattr(qs, verb)(*names))


@st.composite
def select_related(draw: st.DrawFn, spec: Spec) -> Call:
    names = draw(st.lists(st.sampled_from(spec.selectable), min_size=1, max_size=2, unique=True))
    text = ", ".join(map(repr, names))
    return Call(
        f".select_related({text})",
        (),
        lambda qs, m, v: qs.select_related(*names),
        loads=tuple(tuple(name.split("__")) for name in names),
    )


@st.composite
def prefetch_related(draw: st.DrawFn, spec: Spec) -> Call:
    chosen = draw(
        st.lists(st.sampled_from(spec.prefetchable), min_size=1, max_size=2, unique_by=repr)
    )
    text = ", ".join(related.text for related in chosen)
    return Call(
        f".prefetch_related({text})",
        (),
        lambda qs, m, v: qs.prefetch_related(*(related.make(m) for related in chosen)),
        loads=tuple(related.path for related in chosen),
    )


@st.composite
def projections(draw: st.DrawFn, spec: Spec) -> Call:
    """Return ``values(…)`` or ``values_list(…)`` (flat or named)."""
    names = draw(st.lists(st.sampled_from(spec.fields), min_size=1, max_size=3, unique=True))
    form = draw(st.sampled_from(["values", "values_list", "flat", "named"]))
    verb = "values" if form == "values" else "values_list"
    options = {"flat": True} if form == "flat" and len(names) == 1 else {}
    if form == "named":
        options = {"named": True}
    text = ", ".join([*map(repr, names), *(f"{option}=True" for option in options)])
    return Call(
        f".{verb}({text})",
        (),
        lambda qs, m, v: getattr(qs, verb)(*names, **options),
        spreads=spreads(spec.model, names),
    )


SLICE_BOUNDS = st.integers(0, 7)


@st.composite
def slices(draw: st.DrawFn) -> Call:
    """Return ``[a:b]``, ``[a:]`` or ``[:b]``, its bounds drawn for each evaluation."""
    form = draw(st.sampled_from(["both", "start", "stop"]))
    if form == "both":
        return Call("[{}:{}]", (SLICE_BOUNDS, SLICE_BOUNDS), lambda qs, m, v: qs[v[0] : v[1]])
    if form == "start":
        return Call("[{}:]", (SLICE_BOUNDS,), lambda qs, m, v: qs[v[0] :])
    return Call("[:{}]", (SLICE_BOUNDS,), lambda qs, m, v: qs[: v[0]])


@st.composite
def terminals(draw: st.DrawFn, spec: Spec) -> Call:
    """Return the call that evaluates the chain."""
    kind = draw(
        st.sampled_from(
            ["list", "get", "get", "get", "first", "last", "count", "exists", "aggregate"]
            + ["in_bulk", "list"]
        )
    )
    if kind == "list":
        return Call("", (), lambda qs, m, v: qs)
    if kind == "get":
        # Mostly get(pk=…): one row, or none, and the instance compared relation by relation.
        form = draw(st.sampled_from(["pk", "pk", "pk", "none", "lookup"]))
        chosen = {
            "pk": [spec.keys[0]],
            "none": [],
            "lookup": [draw(st.sampled_from(spec.filters()))],
        }[form]
        names = [name for name, _ in chosen]
        return Call(
            f".get({kwargs_text(names)})",
            tuple(values for _, values in chosen),
            lambda qs, m, v: qs.get(**dict(zip(names, v, strict=True))),
        )
    if kind == "aggregate":
        text, make = draw(st.sampled_from(spec.aggregates))
        return Call(
            f".aggregate(result={text})",
            (),
            lambda qs, m, v: qs.aggregate(result=make()),
            spreads=spreads(spec.model, aggregated(make())),
        )
    if kind == "in_bulk":
        field_name, values = draw(st.sampled_from(spec.keys))
        if draw(st.booleans()):
            return Call(".in_bulk()", (), lambda qs, m, v: qs.in_bulk(), orders=True)
        if field_name == "pk":
            return Call(".in_bulk({})", (some(values),), lambda qs, m, v: qs.in_bulk(v[0]))
        return Call(
            f".in_bulk({{}}, field_name={field_name!r})",
            (some(values),),
            lambda qs, m, v: qs.in_bulk(v[0], field_name=field_name),
        )
    # first(), last(), count(), exists(): no values, one row or a number.
    return Call(f".{kind}()", (), lambda qs, m, v: getattr(qs, kind)(), orders=True)


@st.composite
def chains(draw: st.DrawFn) -> Chain:
    """Return a chain: builder calls, maybe a projection and a slice, then a terminal."""
    spec = draw(st.sampled_from(SPECS))
    # Weighted by repetition: plain filters most, as applications do.
    builders = [
        filters(spec, "filter"),
        filters(spec, "filter"),
        filters(spec, "filter"),
        filters(spec, "filter"),
        filters(spec, "exclude"),
        orderings(spec),
        q_filters(spec),
        f_filters(spec),
        orderings(spec),
        prefetch_related(spec),
        prefetch_related(spec),
        field_calls(spec, "only"),
        field_calls(spec, "defer"),
        # A filter across a to-many relation repeats rows: distinct() is its companion.
        st.just(Call(".distinct()", (), lambda qs, m, v: qs.distinct())),
    ]
    if spec.selectable:
        builders.append(select_related(spec))
    size = draw(st.sampled_from([0, 1, 1, 2, 2, 3]))
    calls = draw(st.lists(st.one_of(builders), min_size=size, max_size=size))
    if draw(st.integers(0, 4)) == 0:
        projection = draw(projections(spec))
        calls.append(projection)
        if projection.spreads:
            calls.append(untied(calls, projection.spreads))
    sliced = draw(slices()) if draw(st.integers(0, 4)) == 0 else None
    terminal = draw(terminals(spec))
    if sliced is not None:
        if terminal.spreads:
            # An aggregate of a sliced queryset runs over the slice's rows, one per related
            # row of the relations it crosses: tied rows would make the slice, and the sum,
            # whatever order the database returns them in.
            calls.append(untied(calls, terminal.spreads))
        calls.append(sliced)
    calls.append(terminal)
    return Chain(spec, tuple(calls))


# Comparing.


def rows(chain: Chain, result: Any) -> Any:
    """Return *result* as comparable data (:func:`normalize`), unordered rows sorted."""
    data = normalize(result)
    if not chain.ordered and isinstance(result, list):
        return ("list", sorted(data[1], key=repr))
    return data


def instances(chain: Chain, result: Any) -> list[Any]:
    """Return the instances of *result*, in the order :func:`rows` compares them."""
    if isinstance(result, Model):
        return [result]
    if isinstance(result, dict):
        return [result[key] for key in sorted(result, key=repr) if isinstance(result[key], Model)]
    if isinstance(result, list):
        found = [obj for obj in result if isinstance(obj, Model)]
        return found if chain.ordered else sorted(found, key=lambda obj: repr(normalize(obj)))
    return []


def loaded_by_django(obj: Model, name: str) -> tuple[bool, Any]:
    """Return whether Django loaded *name* into *obj* (prefetch, select_related, to_attr)."""
    prefetched = getattr(obj, "_prefetched_objects_cache", {})
    if name in prefetched:
        return True, list(prefetched[name])
    if name in obj._state.fields_cache:
        return True, obj._state.fields_cache[name]
    if name in vars(obj) and isinstance(vars(obj)[name], list | Model):
        return True, vars(obj)[name]
    return False, None


def by_pk(objs: Any) -> list[Any]:
    return sorted(objs, key=lambda obj: repr(obj.pk))


def same_relations(actual: Model, expected: Model, tree: dict[str, Any], where: str) -> None:
    """Assert that ``actual[name]`` reads what Django loaded as *name*, along *tree*."""
    for name, below in sorted(tree.items()):
        label = f"{where}[{name!r}]"
        loaded, wanted = loaded_by_django(expected, name)
        if not loaded:
            try:
                got = actual[name]  # type: ignore[index]
            except FieldError:
                continue
            raise AssertionError(f"{label} read {got!r}, but Django did not load {name!r}")
        try:
            got = actual[name]  # type: ignore[index]
        except FieldError as error:
            raise AssertionError(f"{label} raised {error!r}; Django loaded {wanted!r}") from error
        if isinstance(wanted, list):
            got, wanted = by_pk(list(got)), by_pk(wanted)
            assert normalize(got) == normalize(wanted), label
            pairs = list(zip(got, wanted, strict=True))
        else:
            assert normalize(got) == normalize(wanted), label
            pairs = [(got, wanted)] if wanted is not None else []
        for index, (got_one, wanted_one) in enumerate(pairs):
            same_relations(got_one, wanted_one, below, f"{label}[{index}]")


def tree_of(paths: set[tuple[str, ...]]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for path in paths:
        node = tree
        for name in path:
            node = node.setdefault(name, {})
    return tree


#: What vinyl's message says of a field that only()/defer() left out.
NOT_FETCHED = "was not fetched (the query that loaded"


def deliberate(chain: Chain, error: BaseException) -> bool:
    """Return whether vinyl raising *error* is one of its deliberate differences.

    A prefetch through a foreign key that only()/defer() left out, or ``in_bulk()`` by a
    field they left out: Django fetches the key (the field) of each instance with a query of
    its own; vinyl never fetches a field behind your back (ARCHITECTURE.md, "Deliberate
    differences from Django", 1).
    """
    texts = [call.text for call in chain.calls]
    return (
        isinstance(error, FieldError)
        and NOT_FETCHED in str(error)
        and any(text.startswith((".only(", ".defer(")) for text in texts)
        and any(text.startswith((".prefetch_related(", ".in_bulk(")) for text in texts)
    )


def same_errors(actual: BaseException, expected: BaseException, what: str) -> None:
    assert isinstance(actual, type(expected)), (
        f"{what}: vinyl raised {actual!r}, Django raised {expected!r}"
    )
    if not isinstance(expected, DatabaseError):
        # A database error carries its driver's message, which differs between drivers.
        assert str(actual) == str(expected), f"{what}: vinyl's message differs from Django's"


class Examples:
    """The number of examples a fuzzer test ran."""

    def __init__(self) -> None:
        self.count = 0

    def __repr__(self) -> str:
        return f"<{self.count} examples>"


def forget_plans() -> None:
    """Forget vinyl's plans, as a change of settings does: an example learns its own.

    So that a falsifying example fails on its own when Hypothesis replays it.
    """
    setting_changed.send(sender=None, setting="VINYL_FUZZ", value=None, enter=True)


@pytest.fixture
def fuzz_examples(record_testsuite_property: Callable[[str, object], None]) -> Iterator[Examples]:
    """Count the examples the fuzzer runs; record the number in the JUnit report.

    As a property of the test suite (``fuzz_examples``, once per test): the JUnit format
    pytest writes by default (xunit2) has no properties on test cases.
    """
    examples = Examples()
    yield examples
    record_testsuite_property("fuzz_examples", examples.count)


def fuzzed[T: Callable[..., Any]](fixed_seed: int, examples: int) -> Callable[[T], T]:
    """Return the decorator that runs a ``@given`` test as a fuzzer runs: *examples* from
    *fixed_seed* (the same ones every run), no deadline, no example database, and the
    health checks that a fixture-heavy, database-bound test trips turned off."""

    def apply(test: T) -> T:
        configured = settings(
            max_examples=examples,
            deadline=None,
            database=None,
            print_blob=False,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        )(test)
        return seed(fixed_seed)(configured)

    return apply


@fuzzed(SEED, EXAMPLES)
@given(data=st.data())
async def test_chains_give_djangos_results(
    library: DB, fuzz_examples: Examples, data: st.DataObject
) -> None:
    chain = data.draw(chains(), label="chain")
    evaluations = [
        data.draw(st.tuples(*chain.slots), label=f"values {evaluation}") for evaluation in (1, 2, 3)
    ]
    fuzz_examples.count += 1
    forget_plans()

    def django(model: Any) -> Any:
        return model.objects.using(library.django)

    def vinyl(model: Any) -> Any:
        return model.avinyl.using(library.vinyl)

    for evaluation, values in enumerate(evaluations, 1):
        what = f"evaluation {evaluation} of {chain.code(MANAGER, values)} on {library.vendor}"
        expected: Any = None
        actual: Any = None
        expected_error: Exception | None = None
        try:
            expected = evaluated(chain.run(django, values))
        except Exception as error:
            expected_error = error
        # What the examples did, for --hypothesis-show-statistics.
        event("terminal", chain.calls[-1].text.partition("(")[0] or "list")
        event("Django", "returned" if expected_error is None else type(expected_error).__name__)
        try:
            actual = evaluated(await chain.run(vinyl, values))
        except Exception as error:
            if deliberate(chain, error):
                continue
            if expected_error is None:
                raise AssertionError(
                    f"{what}: vinyl raised, Django returned {expected!r}"
                ) from error
            same_errors(error, expected_error, what)
            continue
        if expected_error is not None:
            raise AssertionError(
                f"{what}: Django raised {expected_error!r}, vinyl returned {actual!r}"
            )
        assert rows(chain, actual) == rows(chain, expected), what
        tree = tree_of(chain.spec.relations() | chain.loads)
        got, wanted = instances(chain, actual), instances(chain, expected)
        assert len(got) == len(wanted), what
        for index, (one, django_one) in enumerate(zip(got, wanted, strict=True)):
            assert one._state.db == library.vinyl, what
            same_relations(one, django_one, tree, f"{what}: result {index}")

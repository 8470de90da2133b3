"""Query plans (``vinyl.model._plans``): a shape run again with other values, as Django.

Each shape runs with a first set of values (vinyl learns its plan), then with others
(vinyl binds them into the plan's SQL); every result is compared with Django's for the
same values, and the test checks that the plan was there to be used.
"""

from __future__ import annotations

import copy
import datetime
import pickle
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import vinyl_async
from django.core.exceptions import EmptyResultSet
from django.db import models
from django.db.models import Count, QuerySet, lookups
from django.db.models.expressions import Col
from django.db.models.sql import Query
from django.test import override_settings
from vinyl.model import _reads
from vinyl.model._async.prefetch import keys_lookup
from vinyl.model._async.queryset import VinylQuerySet
from vinyl.model._binders import binder
from vinyl.model._plans import PLANS, SCALARS
from vinyl.model._templates import TEMPLATES
from vinyl.query.compiler import compile_query, compile_with
from vinyl_testapp.models.library import Author, AuthorProfile, Book, Place, Publisher, Tag
from vinyl_testing.plugin import DB

from .test_differential import normalize

#: Builds a queryset from a starting queryset and one set of values.
Build = Callable[[Any, tuple[Any, ...]], Any]

#: Stands for value sets made of the authors' primary keys, which differ from run to run.
AUTHOR_PKS = [("author pk",)]

# (id, builder, value sets: the first teaches the plan, the others run through it)
PLANNED: list[tuple[str, Build, list[tuple[Any, ...]]]] = [
    (
        "range_of_ints",
        lambda qs, v: qs.filter(pages__gte=v[0], pages__lt=v[1]).order_by("pk"),
        [(100, 300), (150, 151), (300, 100), (0, 10_000)],
    ),
    (
        "startswith_values_list",
        lambda qs, v: qs.filter(title__startswith=v[0]).order_by("pk").values_list("pk", flat=True),
        [("R",), ("B",), ("%",), ("_oy",), ("",)],
    ),
    (
        "icontains_values",
        lambda qs, v: qs.filter(title__icontains=v[0]).order_by("title").values("title", "pages"),
        [("a",), ("ICC",), ("50%",), ("\\",)],
    ),
    (
        "decimal_and_date",
        lambda qs, v: qs.filter(price__lt=v[0], published__gte=v[1]).order_by("-pk"),
        [
            (Decimal("13"), datetime.date(1900, 1, 1)),
            (Decimal("100.5"), datetime.date(1960, 1, 1)),
            (Decimal("0"), datetime.date(1800, 1, 1)),
        ],
    ),
    (
        "two_filters_one_value_each",
        lambda qs, v: qs.filter(pages__gt=v[0]).filter(pages__lt=v[1]).order_by("pk"),
        [(100, 300), (300, 100), (199, 201)],
    ),
    (
        "same_value_twice_then_different",
        lambda qs, v: qs.filter(pages__gte=v[0], pages__lte=v[1]).order_by("pk"),
        [(200, 200), (120, 240), (240, 120)],
    ),
    (
        "join_through_m2m",
        lambda qs, v: qs.filter(tags__name=v[0]).order_by("pk").values_list("title"),
        [("short",), ("classic",), ("none",)],
    ),
    (
        "foreign_key_value_only",
        lambda qs, v: qs.filter(author_id=v[0]).only("title").order_by("pk"),
        AUTHOR_PKS,
    ),
    (
        "string_for_an_integer",
        lambda qs, v: qs.filter(pages=v[0]).order_by("pk"),
        [("200",), ("600",), (" 120 ",)],
    ),
    (
        "float",
        lambda qs, v: qs.filter(rating__gt=v[0]).order_by("pk").values_list("title", "rating"),
        [(4.0,), (4.5,), (0.0,)],
    ),
    (
        "in_list",
        lambda qs, v: qs.filter(pages__in=list(v)).order_by("pk"),
        [(120, 200), (200, 600), (1, 2), (600, 120)],
    ),
    (
        "in_list_of_text_for_an_integer",
        lambda qs, v: qs.filter(pages__in=list(v)).order_by("pk"),
        [("120", "200"), (" 600 ", "1"), ("200", "120")],
    ),
    (
        "in_tuple_of_strings",
        lambda qs, v: qs.filter(title__in=v).values_list("pages", flat=True),
        [("Boy", "Notes"), ("Rayuela", "nothing"), ("", "'")],
    ),
    (
        "foreign_key_in_list",
        lambda qs, v: qs.filter(author__in=list(v)).order_by("pk"),
        AUTHOR_PKS,
    ),
    (
        "named_values_list_then_order_by",
        lambda qs, v: (
            qs.filter(pages__gt=v[0]).values_list("title", "pages", named=True).order_by("-pages")
        ),
        [(100,), (300,), (0,)],
    ),
    (
        "only_then_values_across_a_join",
        lambda qs, v: qs.filter(price__gte=v[0]).only("title").values("title", "author__name"),
        [(Decimal("10"),), (Decimal("0"),), (Decimal("1000"),)],
    ),
    (
        "floats_on_an_integer_column",
        lambda qs, v: qs.filter(pages__gte=v[0], pages__lt=v[1]).order_by("pk"),
        [(100.5, 300.2), (119.1, 120.0), (199.9, 1e3)],
    ),
    (
        "foreign_key_range",
        lambda qs, v: qs.filter(author_id__gte=v[0]).values_list("pk", flat=True),
        AUTHOR_PKS,
    ),
    (
        "all_of_them",
        lambda qs, v: qs.all().order_by("pk").defer("title"),
        [(), ()],
    ),
]


#: The builder calls made from a template once a shape has taken them.
BUILT = {"filter", "values", "values_list", "order_by", "only", "defer"}


def plan_of(queryset: Any) -> Any:
    """Return the bound plan of *queryset*'s shape, or ``None``."""
    assert queryset._shape is not None, "the queryset lost its shape"
    return bound(queryset._shape, queryset._shape_values)


def shape_of(queryset: VinylQuerySet[Any]) -> tuple[Any, ...]:
    """Return *queryset*'s shape; a plannable queryset has one."""
    assert queryset._shape is not None, "the queryset has no shape"
    return queryset._shape


def bound(shape: Any, values: tuple[Any, ...]) -> Any:
    """Return the parameters the plan of *shape* binds *values* to, or ``None``."""
    plan = PLANS.plan(shape)
    return None if plan is None else plan.bind(values)


async def same_as_django(db: DB, build: Build, values: tuple[Any, ...]) -> Any:
    """Assert that vinyl returns what Django returns for *values*; return vinyl's queryset.

    The query vinyl built (from a filter() template, after the first values) must also
    compile to what Django's own query compiles to.
    """
    djangos = build(Book.objects.using(db.django), values)
    expected = list(djangos)
    queryset = build(Book.avinyl.using(db.vinyl), values)
    try:
        compiled = compile_query(djangos, db.vinyl)
    except EmptyResultSet:
        compiled = None
    if compiled is not None:
        ours = compile_query(queryset, db.vinyl)
        assert (ours.sql, list(ours.params)) == (compiled.sql, list(compiled.params))
        assert queryset.query.alias_refcount == djangos.query.alias_refcount
    # What a template-built values()/values_list() leaves on the queryset, as Django does.
    assert (queryset._iterable_class, queryset._fields) == (
        djangos._iterable_class,
        djangos._fields,
    )
    assert normalize([row async for row in queryset]) == normalize(expected)
    return queryset


@pytest.mark.parametrize(("build", "sets"), [p[1:] for p in PLANNED], ids=[p[0] for p in PLANNED])
async def test_a_shape_runs_again_with_other_values(
    library: DB, build: Build, sets: list[tuple[Any, ...]]
) -> None:
    if sets is AUTHOR_PKS:
        pks = [pk async for pk in Author.avinyl.using(library.vinyl).values_list("pk", flat=True)]
        sets = [(pks[0],), (pks[-1],), (pks[1],)]
    first = await same_as_django(library, build, sets[0])
    assert plan_of(first) is not None
    templated = [i for i, c in enumerate(first._shape) if isinstance(c, tuple) and c[0] in BUILT]
    for values in sets[1:]:
        assert plan_of(build(Book.avinyl.using(library.vinyl), values)) is not None
        await same_as_django(library, build, values)
    # Each call that builds (filter(), values_list()...) was made from its template.
    assert all(TEMPLATES.get(first._shape[: i + 1]) is not None for i in templated)


async def test_an_in_list_with_a_repeated_item_reads_as_django_between_planned_ones(
    library: DB,
) -> None:
    # Django writes a repeated item once: the shape's plan (learnt from the first list)
    # does not bind such a list, whose SQL is shorter, and binds the lists around it.
    def build(qs: Any, values: tuple[Any, ...]) -> Any:
        return qs.filter(pages__in=list(values)).order_by("pk")

    for values in [(120, 200), (200, 200), (600, 120), (120, 120), (200, 600)]:
        await same_as_django(library, build, values)
        planned = len(set(values)) == len(values)
        assert (plan_of(build(Book.avinyl.using(library.vinyl), values)) is not None) is planned


async def test_a_filter_template_refuses_a_value_as_django_does(library: DB) -> None:
    def build(qs: Any, pages: str) -> Any:
        return qs.filter(pages=pages)

    assert [b async for b in build(Book.avinyl.using(library.vinyl), "120")]
    shape = build(Book.avinyl.using(library.vinyl), "120")._shape
    assert TEMPLATES.get(shape) is not None
    with pytest.raises(ValueError) as expected:
        build(Book.objects.using(library.django), "many")
    with pytest.raises(ValueError) as raised:
        build(Book.avinyl.using(library.vinyl), "many")
    assert str(raised.value) == str(expected.value)


async def test_a_value_django_refuses_is_refused_through_a_plan_and_a_template(
    library: DB,
) -> None:
    # Learnt with text Django takes, then text it refuses, of the same type: the same shape.
    pk = (await Book.avinyl.using(library.vinyl).get(title="Boy")).pk
    assert (await Book.avinyl.using(library.vinyl).get(pk=str(pk))).title == "Boy"
    assert [b async for b in Book.avinyl.using(library.vinyl).filter(author_id__lt=str(pk))]
    shape = (*shape_of(Book.avinyl.using(library.vinyl)), ("get", "filter", ("pk",), (str,)))
    assert PLANS.plan(shape) is not None
    filtered = (*shape_of(Book.avinyl.using(library.vinyl)), ("filter", ("author_id__lt",), (str,)))
    assert TEMPLATES.get(filtered) is not None
    assert [b async for b in Book.avinyl.using(library.vinyl).filter(author_id__in=[str(pk), "1"])]
    assert [b async for b in Book.avinyl.using(library.vinyl).filter(pages__in=["120", "200"])]
    in_list = (
        *shape_of(Book.avinyl.using(library.vinyl)),
        ("filter", ("pages__in",), ((list, (str, str)),)),
    )
    assert TEMPLATES.get(in_list) is not None
    reads: tuple[Callable[[Any], Any], ...] = (
        lambda qs: qs.get(pk="abc"),
        lambda qs: qs.filter(author_id__lt="abc"),
        lambda qs: qs.filter(author_id__in=[str(pk), "abc"]),
        lambda qs: qs.filter(pages__in=["120", "abc"]),
        lambda qs: qs.get(pk="1.5"),
    )
    for read in reads:
        with pytest.raises(ValueError) as expected:
            read(Book.objects.using(library.django))
        with pytest.raises(ValueError) as raised:
            await awaited(read(Book.avinyl.using(library.vinyl)))
        assert str(raised.value) == str(expected.value)


async def awaited(result: Any) -> Any:
    """Return *result*, awaited when it is awaitable (vinyl_async's get())."""
    return await result if hasattr(result, "__await__") else result


async def test_a_read_through_a_plan_builds_no_query_until_one_is_read(library: DB) -> None:
    def build(qs: Any, low: int) -> Any:
        return qs.filter(pages__gte=low).order_by("pk").values_list("title", "pages")

    assert [row async for row in build(Book.avinyl.using(library.vinyl), 100)]
    queryset = build(Book.avinyl.using(library.vinyl), 200)
    djangos = build(Book.objects.using(library.django), 200)
    assert [row async for row in queryset] == list(djangos)
    # Read from the plan: Django's query was not needed.
    assert "_pending" in vars(queryset)
    assert str(queryset.query) == str(djangos.query)
    assert "_pending" not in vars(queryset)
    # A copy made before the query is read builds its own, as Django's copies do.
    unbuilt = build(Book.avinyl.using(library.vinyl), 300)
    narrowed = unbuilt.filter(pages__lt=400)
    djangos = build(Book.objects.using(library.django), 300)
    assert str(narrowed.query) == str(djangos.filter(pages__lt=400).query)
    assert str(unbuilt.query) == str(djangos.query)
    assert narrowed.query is not unbuilt.query


async def test_a_get_through_a_plan_and_a_kept_create_build_no_query(
    library: DB, monkeypatch: pytest.MonkeyPatch
) -> None:
    born = datetime.datetime(2001, 1, 1, tzinfo=datetime.UTC)
    first = Author.objects.using(library.django).order_by("pk")[0]
    for _ in range(2):
        await Author.avinyl.using(library.vinyl).get(pk=first.pk)
        await Author.avinyl.using(library.vinyl).create(name="Eco", age=84, joined=born)
    built: list[Any] = []
    build = Query.__init__

    def counted(query: Query, *args: Any, **kwargs: Any) -> None:
        built.append(query)
        build(query, *args, **kwargs)

    monkeypatch.setattr(Query, "__init__", counted)
    queryset = Author.avinyl.using(library.vinyl)
    assert "_pending" in vars(queryset)
    found = await queryset.get(pk=first.pk)
    created = await Author.avinyl.using(library.vinyl).create(name="Eco", age=84, joined=born)
    assert built == []
    assert found.name == first.name
    assert Author.objects.using(library.django).get(pk=created.pk).name == "Eco"
    # Read, the query is Django's new one.
    assert str(queryset.query) == str(Author.objects.using(library.django).all().query)
    assert "_pending" not in vars(queryset)


def long_books(qs: Any, low: int) -> Any:
    """Return the books of *qs* with *low* pages or more, by key."""
    return qs.filter(pages__gte=low).order_by("pk")


async def planned_long_books(library: DB) -> Any:
    """Return ``long_books(200)``, a shape read before: its query is a plan's, not built yet."""
    assert [book async for book in long_books(Book.avinyl.using(library.vinyl), 100)]
    queryset = long_books(Book.avinyl.using(library.vinyl), 200)
    assert "_pending" in vars(queryset)
    return queryset


async def test_a_deep_copy_made_before_the_query_is_built_keeps_the_query(library: DB) -> None:
    copied = copy.deepcopy(await planned_long_books(library))
    djangos = long_books(Book.objects.using(library.django), 200)
    assert str(copied.query) == str(djangos.query)
    assert [book.pk async for book in copied] == [book.pk for book in djangos]


async def test_a_queryset_made_djangos_before_its_query_is_built_keeps_it(library: DB) -> None:
    queryset = await planned_long_books(library)
    # As Django's own tests turn a queryset into another class.
    queryset.__class__ = QuerySet
    assert type(queryset) is QuerySet
    assert str(queryset.query) == str(long_books(Book.objects.using(library.django), 200).query)


def test_only_djangos_own_fields_and_lookups_have_a_binder() -> None:
    class Upper(models.CharField):  # type: ignore[type-arg]
        def get_prep_value(self, value: Any) -> Any:
            return str(super().get_prep_value(value)).upper()

    title = Book._meta.get_field("title")
    upper = Upper(max_length=200)
    upper.set_attributes_from_name("title")
    upper.model = Book
    assert binder(lookups.Exact(Col("t", title), "x"), "x", SCALARS) is not None
    assert binder(lookups.Exact(Col("t", upper), "x"), "x", SCALARS) is None
    assert binder(lookups.IExact(Col("t", title), "x"), "x", SCALARS) is None
    assert binder(lookups.In(Col("t", title), ["x"]), ["x"], SCALARS) is not None
    assert binder(lookups.In(Col("t", upper), ["x"]), ["x"], SCALARS) is None


async def test_a_builder_call_django_refuses_is_refused_every_time(library: DB) -> None:
    builds: tuple[Callable[[Any], Any], ...] = (
        lambda qs: qs.values_list("title", "nonsense"),
        lambda qs: qs.order_by("nonsense"),
        lambda qs: qs.values("title").defer("pages"),
    )
    for build in builds:
        try:
            build(Book.objects.using(library.django))
        except Exception as error:
            expected = error
        for _ in range(2):
            with pytest.raises(type(expected)) as raised:
                build(Book.avinyl.using(library.vinyl))
            assert str(raised.value) == str(expected)


async def test_prefetch_related_runs_on_a_planned_query(library: DB) -> None:
    def build(qs: Any, pages: int) -> Any:
        return qs.filter(pages__gt=pages).prefetch_related("tags").order_by("pk")

    for pages in (100, 200, 150):
        expected = [
            (book.pk, sorted(tag.name for tag in book.tags.all()))
            for book in build(Book.objects.using(library.django), pages)
        ]
        queryset = build(Book.avinyl.using(library.vinyl), pages)
        got = [(book.pk, sorted(tag.name for tag in book["tags"])) async for book in queryset]
        assert got == expected
        assert plan_of(queryset) is not None


async def test_a_reverse_foreign_key_prefetch_reads_through_a_plan(library: DB) -> None:
    pks = [pk async for pk in Author.avinyl.using(library.vinyl).values_list("pk", flat=True)]
    for chosen in (pks[:2], pks[-2:], pks[1:3]):
        djangos = Author.objects.using(library.django).filter(pk__in=chosen)
        expected = [
            (a.pk, sorted(b.pk for b in a.books.all())) for a in djangos.prefetch_related("books")
        ]
        authors = Author.avinyl.using(library.vinyl).filter(pk__in=chosen).prefetch_related("books")
        assert [(a.pk, sorted(b.pk for b in a["books"])) async for a in authors] == expected
    # The books of two authors, as the prefetcher reads them: planned by the first prefetch.
    books: VinylQuerySet[Book] = VinylQuerySet(Book, using=library.vinyl)
    assert plan_of(books.filter(**{keys_lookup(Author.books.rel.field): pks[:2]}))


async def test_a_forward_foreign_key_prefetch_reads_through_a_plan(library: DB) -> None:
    pks = [pk async for pk in Book.avinyl.using(library.vinyl).values_list("pk", flat=True)]
    for chosen in (pks[:3], pks[-3:], pks[1:4]):
        djangos = Book.objects.using(library.django).filter(pk__in=chosen)
        expected = [(b.pk, b.author.name) for b in djangos.prefetch_related("author")]
        books = Book.avinyl.using(library.vinyl).filter(pk__in=chosen).prefetch_related("author")
        assert [(b.pk, b["author"].name) async for b in books] == expected
    # The authors of the books, as the prefetcher reads them: planned by the first prefetch.
    author_pks = [b.author_id for b in Book.objects.using(library.django).filter(pk__in=pks[:3])]
    keys = list(dict.fromkeys(author_pks))
    every: VinylQuerySet[Author] = VinylQuerySet(Author, using=library.vinyl)
    authors = every.filter(id__in=keys).order_by()
    assert plan_of(authors)


@pytest.mark.parametrize(
    ("model", "name"),
    [(Author, "books"), (Author, "cowritten"), (Publisher, "authors"), (Book, "review_set")],
)
def test_the_prefetch_filter_on_keys_compiles_as_djangos_on_instances(
    library: DB, model: Any, name: str
) -> None:
    field = getattr(model, name).rel.field
    instances = list(model.objects.using(library.django).order_by("pk"))
    keys = [getattr(i, field.foreign_related_fields[0].attname) for i in instances]
    djangos = field.model.objects.using(library.django).filter(**{f"{field.name}__in": instances})
    related: VinylQuerySet[Any] = VinylQuerySet(field.model, using=library.vinyl)
    ours = related.filter(**{keys_lookup(field): keys})
    expected, got = compile_query(djangos, library.vinyl), compile_query(ours, library.vinyl)
    assert (got.sql, list(got.params)) == (expected.sql, list(expected.params))


async def test_get_runs_again_with_other_values(library: DB) -> None:
    titles = ["Notes", "Boy", "Rayuela"]
    for title in titles:
        expected = Book.objects.using(library.django).get(title=title)
        got = await Book.avinyl.using(library.vinyl).get(title=title)
        assert normalize(got) == normalize(expected)
    shape = (*shape_of(Book.avinyl.using(library.vinyl)), ("get", "filter", ("title",), (str,)))
    assert bound(shape, ("Aleph",)) is not None


async def test_get_through_a_plan_raises_djangos_errors(library: DB) -> None:
    pk = (await Book.avinyl.using(library.vinyl).get(title="Boy")).pk
    assert (await Book.avinyl.using(library.vinyl).get(pk=pk)).title == "Boy"
    bads: list[Any] = [10**30, -1, "abc"]
    for bad in bads:
        try:
            Book.objects.using(library.django).get(pk=bad)
        except Exception as error:
            expected = error
        with pytest.raises(type(expected)) as raised:
            await Book.avinyl.using(library.vinyl).get(pk=bad)
        assert str(raised.value) == str(expected)
    with pytest.raises(Book.MultipleObjectsReturned) as several:
        await Book.avinyl.using(library.vinyl).get(pages__gt=0)
    assert "returned 6" in str(several.value)


async def test_a_value_out_of_the_columns_range_matches_nothing_as_in_django(library: DB) -> None:
    build: Build = lambda qs, v: qs.filter(pages=v[0]).values_list("title", flat=True)  # noqa: E731
    await same_as_django(library, build, (200,))
    huge = (2**63,)
    assert plan_of(build(Book.avinyl.using(library.vinyl), huge)) is None
    assert await same_as_django(library, build, huge) is not None


async def test_an_in_list_django_writes_shorter_goes_djangos_way(library: DB) -> None:
    build: Build = lambda qs, v: qs.filter(pages__in=list(v)).order_by("pk")  # noqa: E731
    first = await same_as_django(library, build, (120, 200))
    assert plan_of(first) is not None
    # Its values are bound by the IN list's binder, without Django's lookup.
    plan = PLANS.plan(shape_of(first))
    assert plan is not None
    ((_, _, in_binder),) = plan.bindings
    assert in_binder is not None
    assert list(plan_of(build(Book.avinyl.using(library.vinyl), (600, 1)))) == [600, 1]
    # Django drops repeated values from an IN list: other SQL than the plan's.
    assert plan_of(build(Book.avinyl.using(library.vinyl), (200, 200))) is None
    assert await same_as_django(library, build, (200, 200)) is not None
    # And an empty one matches nothing without a query.
    assert await same_as_django(library, build, ()) is not None


@pytest.mark.parametrize(
    "build",
    [
        lambda qs: qs.filter(published__year=1944),
        lambda qs: qs.filter(pages__in=[120, None]),
        lambda qs: qs.filter(coauthor=None),
        lambda qs: qs.exclude(pages=120),
        lambda qs: qs.annotate(n=Count("tags")),
        lambda qs: qs.filter(pages=120)[:1],
    ],
    ids=["transform", "in_list_with_none", "none", "exclude", "annotate", "slice"],
)
async def test_what_a_plan_cannot_bind_has_no_shape_or_no_plan(library: DB, build: Any) -> None:
    queryset = build(Book.avinyl.using(library.vinyl))
    assert [row async for row in queryset]
    again = build(Book.avinyl.using(library.vinyl))
    assert again._shape is None or plan_of(again) is None
    assert normalize([row async for row in again]) == normalize(
        list(build(Book.objects.using(library.django)))
    )


async def test_a_query_set_from_outside_drops_the_shape(library: DB) -> None:
    # Django's documented way to rebuild a queryset: assign an unpickled query.
    many = Book.avinyl.using(library.vinyl).filter(pages__gt=100)
    assert [book async for book in many]
    queryset = Book.avinyl.using(library.vinyl).filter(pages__gt=100)
    assert plan_of(queryset) is not None
    queryset.query = pickle.loads(pickle.dumps(Book.objects.filter(pages__gt=500).query))
    assert queryset._shape is None
    expected = [book.pk for book in Book.objects.using(library.django).filter(pages__gt=500)]
    assert [book.pk async for book in queryset] == expected


async def test_changing_a_setting_forgets_the_plans(library: DB) -> None:
    queryset = Book.avinyl.using(library.vinyl).filter(pages__gt=100)
    assert [book async for book in queryset]
    assert plan_of(queryset) is not None
    with override_settings(USE_TZ=True):
        assert plan_of(queryset) is None


@pytest.mark.parametrize(
    ("order", "ordering"), [((True, False, True), "pk"), ((False, True, False), "-pk")]
)
async def test_isnull_on_a_relation_gives_djangos_rows_every_time(
    library: DB, order: tuple[bool, ...], ordering: str
) -> None:
    # isnull on a relation changes the joins (INNER for False, LEFT OUTER for True): its
    # value belongs to the shape, and a query built for one value must not serve the other.
    # Each order has a shape of its own (the ordering), so none learns from the other.
    for value in order:
        oracle = Place.objects.using(library.django).order_by(ordering)
        expected = [p.pk for p in oracle.filter(restaurant__isnull=value)]
        vinyl = Place.avinyl.using(library.vinyl).order_by(ordering)
        assert [p.pk for p in await vinyl.filter(restaurant__isnull=value)] == expected, value
        assert expected


async def test_get_with_prefetch_related_loads_the_relation_every_time(library: DB) -> None:
    # The second get() of a shape runs through its plan: the prefetch named by the shape
    # must run then too.
    for book in Book.objects.using(library.django).order_by("pk"):
        expected = sorted(t.pk for t in book.tags.all())
        got = await Book.avinyl.using(library.vinyl).prefetch_related("tags").get(pk=book.pk)
        assert sorted(t.pk for t in got["tags"]) == expected


#: The related managers read per model: reverse foreign keys (two to one model, sharing the
#: author's key values), a many-to-many from either side, a generic relation.
RELATED: list[tuple[Any, tuple[str, ...]]] = [
    (Author, ("books", "cowritten")),
    (Book, ("tags", "review_set", "items")),
    (Tag, ("books",)),
]

#: What is read through a related manager: (id, read).
RELATED_READS: list[tuple[str, Callable[[Any], Any]]] = [
    ("all", lambda manager: manager.all()),
    ("filter_order_by", lambda manager: manager.filter(pk__gt=0).order_by("-pk")),
    ("values_list", lambda manager: manager.order_by("pk").values_list("pk", flat=True)),
]


def _rows(rows: Any) -> Any:
    """Return *rows* (instances or values) in primary key order, normalized."""
    return normalize(sorted(rows, key=lambda row: row if isinstance(row, int) else row.pk))


@pytest.mark.parametrize("read", [r[1] for r in RELATED_READS], ids=[r[0] for r in RELATED_READS])
async def test_a_related_manager_reads_through_its_plan_for_each_instance(
    library: DB, monkeypatch: pytest.MonkeyPatch, read: Callable[[Any], Any]
) -> None:
    # An author without books and a tag without books; keys shared across the models.
    joined = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
    Author.objects.using(library.django).create(name="Nobody", age=1, joined=joined)
    Tag.objects.using(library.django).create(name="unused")
    compiles: list[Any] = []

    def recording(*args: Any) -> Any:
        compiles.append(args)
        return compile_with(*args)

    monkeypatch.setattr(_reads, "compile_with", recording)
    shapes: dict[tuple[Any, str], Any] = {}
    for model, names in RELATED:
        theirs = list(model.objects.using(library.django).order_by("pk"))
        ours = [obj async for obj in model.avinyl.using(library.vinyl).order_by("pk")]
        # The first instance teaches each relation's plan; the others run through it.
        for their, our in zip(theirs, ours, strict=True):
            for name in names:
                queryset = read(getattr(our, name))
                compiled = len(compiles)
                got = [row async for row in queryset]
                assert _rows(got) == _rows(read(getattr(their, name))), (our, name)
                field = getattr(model, name).rel.field
                if field.many_to_one:
                    # Each row knows its instance (Django's known related object).
                    instances = [row for row in got if not isinstance(row, int)]
                    assert all(field.get_cached_value(row, None) is our for row in instances)
                assert plan_of(queryset) is not None, (our, name)
                if (model, name) in shapes:
                    # One shape for every instance, read without compiling.
                    assert queryset._shape == shapes[model, name]
                    assert len(compiles) == compiled, f"{our!r}.{name} was compiled"
                shapes[model, name] = queryset._shape


@pytest.mark.parametrize("first", ["related", "all"])
async def test_a_filter_after_a_many_to_many_joins_as_djangos_every_time(
    library: DB, first: str
) -> None:
    # Django's filter right after book.tags reuses the relation's join (the other book
    # is this book); after the queryset's all() it joins again (any book): two shapes,
    # never one plan. (The manager's all() is its queryset, as Django's.)
    def reads(manager: Any, pages: int) -> list[Any]:
        joined = [
            manager.filter(books__pages__gt=pages),
            manager.all().all().filter(books__pages__gt=pages),
        ]
        return joined if first == "related" else joined[::-1]

    theirs = list(Book.objects.using(library.django).order_by("pk"))
    ours = [book async for book in Book.avinyl.using(library.vinyl).order_by("pk")]
    for their, our in zip(theirs, ours, strict=True):
        for pages in (150, 300):
            for mine, django in zip(reads(our.tags, pages), reads(their.tags, pages), strict=True):
                assert _rows([tag async for tag in mine]) == _rows(django), (our, pages)
                assert plan_of(mine) is not None


@pytest.mark.parametrize(
    "lookup", ["books", "books__exact", "books__lt", "profile", "profile__gte"]
)
async def test_a_filter_on_a_reverse_relation_gives_djangos_rows_every_time(
    library: DB, lookup: str
) -> None:
    # The lookup's field is the relation itself (ManyToOneRel, OneToOneRel), which has no
    # preparing methods of its own: Django's way, every time.
    related = Book if lookup.startswith("books") else AuthorProfile
    keys = list(related.objects.using(library.django).order_by("pk").values_list("pk", flat=True))
    assert keys
    for key in keys[:3]:
        djangos = Author.objects.using(library.django).filter(**{lookup: key})
        expected = sorted(djangos.values_list("pk", flat=True))
        ours = Author.avinyl.using(library.vinyl).filter(**{lookup: key})
        assert sorted(await ours.values_list("pk", flat=True)) == expected


#: Querysets in each state a copy carries over (id, how it is made from a vinyl queryset).
COPIED: list[tuple[str, Build]] = [
    ("new", lambda qs, v: qs),
    ("filtered", lambda qs, v: qs.filter(pages__gte=v[0]).order_by("pk")),
    ("values_list", lambda qs, v: qs.filter(pages__gte=v[0]).values_list("title", flat=True)),
    ("named", lambda qs, v: qs.values_list("title", "pages", named=True)),
    ("values", lambda qs, v: qs.filter(title__startswith=v[1]).values("title")),
    ("prefetch", lambda qs, v: qs.prefetch_related("tags").filter(pages__lt=v[0])),
    ("for_write", lambda qs, v: _with(qs.filter(pages__gte=v[0]), _for_write=True)),
    ("sticky", lambda qs, v: qs._next_is_sticky()),
    ("hints", lambda qs, v: _with(qs, _hints={"instance": v}, _known_related_objects={1: {}})),
    ("router", lambda qs, v: Book.avinyl.using(None).filter(pages__gte=v[0])),
]
if hasattr(models, "FETCH_PEERS"):  # Django 6.1 and later
    peers: Any = getattr(models, "FETCH_PEERS", None)
    COPIED.append(("fetch_mode", lambda qs, v: qs.fetch_mode(peers)))


def _with(queryset: Any, **attributes: Any) -> Any:
    for name, value in attributes.items():
        setattr(queryset, name, value)
    return queryset


def _copy_state(queryset: Any) -> tuple[dict[str, Any], str]:
    """Return *queryset*'s attributes but its query and shape, and its query's SQL."""
    sql = str(queryset.query)
    shapes = ("_query", "_shape", "_shape_values")
    return {k: v for k, v in vars(queryset).items() if k not in shapes}, sql


@pytest.mark.parametrize("build", [c[1] for c in COPIED], ids=[c[0] for c in COPIED])
async def test_a_copy_holds_what_djangos_copy_holds(library: DB, build: Build) -> None:
    # Twice: the second builder calls are made from templates.
    for values in [(100, "R"), (200, "B")]:
        queryset = build(Book.avinyl.using(library.vinyl), values)
        djangos = QuerySet._clone(queryset)  # type: ignore[attr-defined]
        ours = queryset._clone()
        assert type(ours) is type(djangos)
        ours_state, ours_sql = _copy_state(ours)
        djangos_state, djangos_sql = _copy_state(djangos)
        assert ours_sql == djangos_sql
        assert set(ours_state) == set(djangos_state)
        for name, value in djangos_state.items():
            assert type(ours_state[name]) is type(value) and ours_state[name] == value, name
            # The dicts Django shares with the original, or makes anew.
            original = vars(queryset)[name]
            assert (ours_state[name] is original) is (value is original), name
        # A builder call (a template's, the second time) copies as Django's does.
        chained = queryset.filter(pages__lt=1000)
        theirs = QuerySet._chain(queryset).filter(pages__lt=1000)  # type: ignore[attr-defined]
        assert _copy_state(chained) == _copy_state(theirs)


async def test_a_queryset_class_with_its_own_init_is_copied_by_djangos_clone(
    library: DB,
) -> None:
    class Counted(VinylQuerySet[Any]):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.counted = True

    queryset: Any = Counted(model=Book, using=library.vinyl).filter(pages__gte=100)
    again: Any = Counted(model=Book, using=library.vinyl).filter(pages__gte=200).values_list("pk")
    assert queryset._clone().counted and again.counted
    theirs = Book.objects.using(library.django).filter(pages__gte=200).values_list("pk")
    assert sorted([row async for row in again]) == sorted(theirs)


class TaggedQuerySet(QuerySet[Any]):
    """A Django queryset whose ``_clone()`` carries state of its own to every copy."""

    tag: str | None = None

    def tagged(self, tag: str) -> TaggedQuerySet:
        clone = self._chain()  # type: ignore[attr-defined]
        clone.tag = tag
        result: TaggedQuerySet = clone
        return result

    def _clone(self) -> TaggedQuerySet:
        clone = super()._clone()  # type: ignore[misc]
        clone.tag = self.tag
        result: TaggedQuerySet = clone
        return result


class QueryReadingQuerySet(QuerySet[Any]):
    """A Django queryset with an ``__init__``, whose ``_clone()`` reads the query."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seen: str | None = None

    def _clone(self) -> QueryReadingQuerySet:
        clone = super()._clone()  # type: ignore[misc]
        clone.seen = type(self.query).__name__
        result: QueryReadingQuerySet = clone
        return result


class ChainCountingQuerySet(QuerySet[Any]):
    """A Django queryset whose ``_chain()`` counts the builder calls."""

    chained = 0

    def _chain(self) -> ChainCountingQuerySet:
        clone = super()._chain()  # type: ignore[misc]
        clone.chained = self.chained + 1
        result: ChainCountingQuerySet = clone
        return result


async def test_a_custom_clone_or_chain_runs_on_every_copy_as_in_django(library: DB) -> None:
    # from_queryset()'s class puts VinylQuerySet (and its own _clone()) first in the MRO:
    # the user's copy must still run, also when a builder call is made from a template.
    def vinyl_of(queryset_class: type[Any]) -> Any:
        return vinyl_async.VinylManager.from_queryset(queryset_class)().__get__(None, Book)

    tagged = vinyl_of(TaggedQuerySet).using(library.vinyl).tagged("t")
    djangos_tagged: Any = TaggedQuerySet(model=Book, using=library.django).tagged("t")
    reading = vinyl_of(QueryReadingQuerySet).using(library.vinyl)
    djangos_reading = QueryReadingQuerySet(model=Book, using=library.django)
    counting = vinyl_of(ChainCountingQuerySet).using(library.vinyl)
    djangos_counting = ChainCountingQuerySet(model=Book, using=library.django)
    for pages in (100, 200, 300):
        built = tagged.filter(pages__gte=pages).values_list("title", flat=True)
        expected = djangos_tagged.filter(pages__gte=pages).values_list("title", flat=True)
        assert (built.tag, sorted([t async for t in built])) == (expected.tag, sorted(expected))
        assert reading.filter(pages__gte=pages).seen == djangos_reading.filter(pages=1).seen
        chained = counting.filter(pages__gte=pages).order_by("pk")
        assert chained.chained == djangos_counting.filter(pages=1).order_by("pk").chained

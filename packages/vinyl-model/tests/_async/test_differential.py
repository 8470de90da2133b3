"""The differential read suite: each queryset shape through ``M.objects`` and ``M.avinyl``.

Both results must be equal, Python types included: model instances by class, pk and
field values (and what prefetch/select_related loaded), rows by value and ``type()``.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.contenttypes.prefetch import GenericPrefetch
from django.core.exceptions import FieldError, ObjectDoesNotExist
from django.db import connections
from django.db.models import (
    Avg,
    Case,
    Count,
    Exists,
    F,
    Max,
    Min,
    Model,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import (
    ExtractYear,
    Length,
    Lower,
    RowNumber,
    TruncMonth,
    Upper,
)
from django.db.models.query import RawQuerySet
from django.test.utils import CaptureQueriesContext
from vinyl_testapp.models.library import (
    Author,
    Book,
    CheapBook,
    Place,
    Publisher,
    Restaurant,
    Review,
    Tag,
    TaggedItem,
)
from vinyl_testing.plugin import DB, PG

#: Returns the starting queryset of a model: Django's (``objects``) or vinyl's (``avinyl``).
#: It takes Any: the test models' managers are not on ``type[Model]``.
Start = Callable[[Any], Any]


def related(obj: Model, name: str) -> Any:
    """Return what prefetch/select_related loaded as *name*, the Django or the vinyl way."""
    if hasattr(type(obj), "__getitem__"):
        return obj[name]  # type: ignore[index]
    try:
        value = getattr(obj, name)
    except ObjectDoesNotExist:
        return None
    return list(value.all()) if hasattr(value, "all") else value


def normalize(value: Any) -> Any:
    """Return *value* as plain data that keeps every Python type visible."""
    if isinstance(value, QuerySet):
        value = list(value)
    if isinstance(value, Model):
        fields = {
            key: normalize(item) for key, item in vars(value).items() if not key.startswith("_")
        }
        return ("model", value._meta.model.__name__, normalize(value.pk), fields)
    if isinstance(value, dict):
        return {key: normalize(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return (type(value).__name__, [normalize(item) for item in value])
    return (type(value), value)


def pks_of(name: str) -> Callable[[Any], Any]:
    """Return a projection of objects to (pk, pks of the relation *name*)."""

    def project(objs: Any) -> Any:
        return [(obj.pk, sorted(rel.pk for rel in related(obj, name))) for obj in objs]

    return project


def selected(*path: str) -> Callable[[Any], Any]:
    """Return a projection of objects to the objects loaded along *path* (select_related)."""

    def project(objs: Any) -> Any:
        result = []
        for obj in objs:
            target = obj
            for name in path:
                target = related(target, name) if target is not None else None
            result.append((obj.pk, normalize(target)))
        return result

    return project


def nested_tags(authors: Any) -> Any:
    """Project authors → books → tags loaded by a nested prefetch."""
    return [
        (a.pk, [(b.pk, sorted(t.name for t in related(b, "tags"))) for b in related(a, "books")])
        for a in authors
    ]


#: A differential shape: its id, the builder of its queryset, and the projection its
#: results are compared through (``None``: the results themselves).
Shape = tuple[str, Callable[[Start], Any], Callable[[Any], Any] | None]


def selecting(name: str, model: type[Model], lookup: str, project: Callable[[Any], Any]) -> Shape:
    """Return the shape *name*: *model* by pk with ``select_related(lookup)``."""
    return (name, lambda m: m(model).select_related(lookup).order_by("pk"), project)


def prefetching(name: str, model: type[Model], lookup: str, project: Callable[[Any], Any]) -> Shape:
    """Return the shape *name*: *model* by pk with ``prefetch_related(lookup)``."""
    return (name, lambda m: m(model).prefetch_related(lookup).order_by("pk"), project)


SHAPES: list[Shape] = [
    ("all", lambda m: m(Book).order_by("pk"), None),
    ("filter", lambda m: m(Book).filter(pages__gt=150).order_by("pk"), None),
    ("exclude", lambda m: m(Book).exclude(rating__isnull=True).order_by("pk"), None),
    (
        "q_or",
        lambda m: m(Book).filter(Q(pages__lt=150) | Q(title__startswith="R")).order_by("pk"),
        None,
    ),
    ("q_not", lambda m: m(Book).filter(~Q(author__name="Dahl")).order_by("-pk"), None),
    ("f_expr", lambda m: m(Book).filter(pages__gt=F("price") * 10).order_by("pk"), None),
    ("icontains", lambda m: m(Author).filter(name__icontains="AR").order_by("pk"), None),
    ("in_list", lambda m: m(Tag).filter(name__in=["long", "classic"]).order_by("name"), None),
    ("range", lambda m: m(Book).filter(pages__range=(150, 300)).order_by("pk"), None),
    ("fk_join", lambda m: m(Book).filter(author__publisher__country="US").order_by("pk"), None),
    ("m2m_join", lambda m: m(Book).filter(tags__name="short").order_by("pk"), None),
    ("reverse_fk_join", lambda m: m(Author).filter(books__pages__gt=500).order_by("pk"), None),
    (
        "reverse_m2m",
        lambda m: m(Tag).filter(books__author__name="Borges").distinct().order_by("pk"),
        None,
    ),
    ("reverse_o2o", lambda m: m(Author).filter(profile__bio="Librarian"), None),
    ("isnull_fk", lambda m: m(Author).filter(publisher__isnull=True), None),
    ("annotate_count", lambda m: m(Author).annotate(n=Count("books")).order_by("pk"), None),
    (
        "annotate_filter_agg",
        lambda m: (
            m(Author).annotate(long=Count("books", filter=Q(books__pages__gt=160))).order_by("pk")
        ),
        None,
    ),
    (
        "alias_filter",
        lambda m: m(Author).alias(n=Count("books")).filter(n__gte=2).order_by("pk"),
        None,
    ),
    (
        "subquery",
        lambda m: (
            m(Author)
            .annotate(
                latest=Subquery(
                    m(Book).filter(author=OuterRef("pk")).order_by("-published").values("title")[:1]
                )
            )
            .order_by("pk")
        ),
        None,
    ),
    (
        "exists",
        lambda m: m(Author).filter(Exists(m(Book).filter(author=OuterRef("pk"), pages__gt=500))),
        None,
    ),
    (
        "case_when",
        lambda m: (
            m(Book)
            .annotate(
                size=Case(
                    When(pages__gte=300, then=Value("long")),
                    When(pages__gte=150, then=Value("mid")),
                    default=Value("short"),
                )
            )
            .order_by("pk")
            .values("title", "size")
        ),
        None,
    ),
    (
        "window",
        lambda m: (
            m(Book)
            .annotate(
                rank=Window(RowNumber(), partition_by=F("author"), order_by=F("published").asc())
            )
            .order_by("pk")
            .values_list("title", "rank")
        ),
        None,
    ),
    ("json_key", lambda m: m(Author).filter(data__genre="fiction").order_by("pk"), None),
    ("json_nested_index", lambda m: m(Author).filter(data__langs__0="es").order_by("pk"), None),
    ("json_has_key", lambda m: m(Author).filter(data__has_key="rank").order_by("pk"), None),
    ("json_values", lambda m: m(Author).order_by("pk").values_list("data", flat=True), None),
    ("json_key_values", lambda m: m(Author).order_by("pk").values("data__genre"), None),
    ("date_year", lambda m: m(Book).filter(published__year__lt=1950).order_by("pk"), None),
    ("date_month", lambda m: m(Book).filter(published__month=6).order_by("pk"), None),
    ("datetime_day", lambda m: m(Book).filter(created__day__gte=3).order_by("pk"), None),
    (
        "extract_year",
        lambda m: (
            m(Book).annotate(y=ExtractYear("published")).order_by("pk").values_list("y", flat=True)
        ),
        None,
    ),
    (
        "trunc_month",
        lambda m: (
            m(Book).annotate(mo=TruncMonth("created")).order_by("pk").values_list("mo", flat=True)
        ),
        None,
    ),
    ("dates", lambda m: m(Book).dates("published", "year"), None),
    ("datetimes", lambda m: m(Book).datetimes("created", "day"), None),
    (
        "functions",
        lambda m: (
            m(Author)
            .annotate(u=Upper("name"), lo=Lower("name"), n=Length("name"))
            .order_by("pk")
            .values("u", "lo", "n")
        ),
        None,
    ),
    (
        "values",
        lambda m: m(Book).order_by("pk").values("title", "price", "published", "created", "rating"),
        None,
    ),
    (
        "values_fk",
        lambda m: m(Book).order_by("pk").values("author__name", "author__publisher__name"),
        None,
    ),
    ("values_list", lambda m: m(Book).order_by("pk").values_list("title", "price"), None),
    ("values_list_flat", lambda m: m(Book).order_by("pk").values_list("price", flat=True), None),
    (
        "values_list_named",
        lambda m: m(Book).order_by("pk").values_list("title", "pages", named=True),
        None,
    ),
    (
        "values_annotate_group",
        lambda m: (
            m(Book)
            .values("author__name")
            .annotate(total=Sum("pages"), avg=Avg("price"))
            .order_by("author__name")
        ),
        None,
    ),
    ("only", lambda m: m(Book).only("title").order_by("pk"), None),
    ("defer", lambda m: m(Book).defer("price", "created").order_by("pk"), None),
    ("distinct", lambda m: m(Book).values("author_id").distinct().order_by("author_id"), None),
    ("order_desc_nulls", lambda m: m(Book).order_by(F("rating").desc(nulls_last=True), "pk"), None),
    ("slice", lambda m: m(Book).order_by("pk")[1:4], None),
    ("slice_offset", lambda m: m(Book).order_by("-pages")[2:], None),
    (
        "union",
        lambda m: m(Book).filter(pages__lt=150).union(m(Book).filter(pages__gt=500)).order_by("pk"),
        None,
    ),
    (
        "intersection",
        lambda m: (
            m(Book).filter(pages__lt=250).intersection(m(Book).filter(pages__gt=150)).order_by("pk")
        ),
        None,
    ),
    (
        "difference",
        lambda m: (
            m(Book).filter(pages__lt=250).difference(m(Book).filter(pages__gt=150)).order_by("pk")
        ),
        None,
    ),
    ("none", lambda m: m(Book).none(), None),
    ("empty_in", lambda m: m(Book).filter(pk__in=[]), None),
    selecting("select_related_fk", Book, "author", selected("author")),
    selecting("select_related_nullable", Book, "coauthor__publisher", selected("coauthor")),
    selecting("select_related_nested", Book, "author__publisher", selected("author", "publisher")),
    selecting("select_related_reverse_o2o", Author, "profile", selected("profile")),
    prefetching("prefetch_reverse_fk", Author, "books", pks_of("books")),
    prefetching("prefetch_m2m", Book, "tags", pks_of("tags")),
    prefetching("prefetch_reverse_m2m", Tag, "books", pks_of("books")),
    prefetching("prefetch_default_name", Book, "review_set", pks_of("review_set")),
    prefetching("prefetch_nested", Author, "books__tags", nested_tags),
    (
        "prefetch_object_queryset",
        lambda m: (
            m(Author)
            .prefetch_related(Prefetch("books", queryset=Book.objects.filter(pages__gt=160)))
            .order_by("pk")
        ),
        pks_of("books"),
    ),
    (
        "prefetch_to_attr",
        lambda m: (
            m(Author)
            .prefetch_related(
                Prefetch("books", queryset=m(Book).order_by("-pages"), to_attr="by_length")
            )
            .order_by("pk")
        ),
        lambda objs: [(a.pk, [b.pk for b in related(a, "by_length")]) for a in objs],
    ),
    prefetching("prefetch_fk_forward", Book, "author", selected("author")),
    prefetching("prefetch_o2o_reverse", Author, "profile", selected("profile")),
    prefetching("prefetch_generic_relation", Book, "items", pks_of("items")),
    (
        "generic_prefetch",
        lambda m: (
            m(TaggedItem)
            .prefetch_related(GenericPrefetch("content_object", [m(Book), m(Author)]))
            .order_by("pk")
        ),
        selected("content_object"),
    ),
    (
        "select_then_prefetch",
        lambda m: m(Book).select_related("author").prefetch_related("author__books").order_by("pk"),
        lambda objs: [
            (b.pk, sorted(x.pk for x in related(related(b, "author"), "books"))) for b in objs
        ],
    ),
    prefetching(
        "prefetch_reverse_fk_back_reference",
        Author,
        "books",
        lambda objs: [
            (a.pk, sorted((b.pk, related(b, "author") is a) for b in related(a, "books")))
            for a in objs
        ],
    ),
    prefetching("prefetch_fk_forward_nullable", Book, "coauthor", selected("coauthor")),
    prefetching(
        "prefetch_fk_forward_then_reverse",
        Book,
        "author__books",
        lambda objs: [
            (b.pk, sorted(x.pk for x in related(related(b, "author"), "books"))) for b in objs
        ],
    ),
    (
        "prefetch_fk_to_attr_without_queryset",
        lambda m: (
            m(Book)
            .prefetch_related(
                Prefetch("author", to_attr="writer"), Prefetch("review_set", to_attr="rs")
            )
            .order_by("pk")
        ),
        lambda objs: [
            (b.pk, related(b, "writer").pk, sorted(r.pk for r in related(b, "rs"))) for b in objs
        ],
    ),
    prefetching("prefetch_reverse_fk_nullable", Publisher, "authors", pks_of("authors")),
    ("mti_child", lambda m: m(Restaurant).all(), None),
    ("mti_parent", lambda m: m(Place).order_by("pk"), None),
    selecting("mti_parent_to_child", Place, "restaurant", selected("restaurant")),
    ("proxy", lambda m: m(CheapBook).filter(price__lt=10).order_by("pk"), None),
    ("get", lambda m: m(Book).get(title="Aleph"), None),
    (
        "get_select_related",
        lambda m: m(Book).select_related("author").get(title="Aleph"),
        lambda b: normalize(related(b, "author")),
    ),
    ("first", lambda m: m(Book).filter(pages__gt=100).first(), None),
    ("first_empty", lambda m: m(Book).filter(pages__gt=10000).first(), None),
    ("last", lambda m: m(Book).order_by("published").last(), None),
    ("latest", lambda m: m(Book).latest(), None),
    ("earliest", lambda m: m(Book).earliest("created"), None),
    ("count", lambda m: m(Book).filter(rating__isnull=False).count(), None),
    ("count_distinct_sliced", lambda m: m(Book).order_by("pk")[2:5].count(), None),
    ("exists_true", lambda m: m(Book).filter(pages=600).exists(), None),
    ("exists_false", lambda m: m(Book).filter(pages=601).exists(), None),
    (
        "aggregate",
        lambda m: m(Book).aggregate(Sum("pages"), Avg("rating"), Max("price"), Min("published")),
        None,
    ),
    (
        "aggregate_filter",
        lambda m: m(Book).aggregate(
            long=Count("pk", filter=Q(pages__gt=200)), cheap=Sum("price", filter=Q(price__lt=10))
        ),
        None,
    ),
    (
        "aggregate_over_annotate",
        lambda m: m(Author).annotate(n=Count("books")).aggregate(Max("n")),
        None,
    ),
    ("aggregate_empty", lambda m: m(Book).filter(pk__in=[]).aggregate(Sum("pages")), None),
    ("in_bulk", lambda m: m(Book).in_bulk([1, 2, 3]), None),
    ("in_bulk_field", lambda m: m(Book).in_bulk(["Aleph", "Boy"], field_name="title"), None),
    ("in_bulk_not_unique", lambda m: m(Tag).in_bulk(["long"], field_name="name"), None),
    ("get_missing", lambda m: m(Book).get(title="Nope"), None),
    ("get_multiple", lambda m: m(Book).get(author__name="Borges"), None),
    ("latest_without_field", lambda m: m(Author).latest(), None),
    ("contains_false", lambda m: m(Book).filter(pages__lt=0).contains(Book(pk=1)), None),
    ("contains_true", lambda m: m(Book).filter(pages__gt=100).contains(Book(pk=1)), None),
    ("explain", lambda m: m(Book).filter(pages__gt=100).explain(), None),
    ("in_bulk_all", lambda m: m(Tag).in_bulk(), None),
    ("in_bulk_empty", lambda m: m(Tag).in_bulk([]), None),
    ("exists_sliced", lambda m: m(Book).order_by("pk")[10:].exists(), None),
    ("count_union", lambda m: m(Book).filter(pk=1).union(m(Book).filter(pk=2)).count(), None),
    ("aggregate_distinct", lambda m: m(Book).aggregate(n=Count("author", distinct=True)), None),
    (
        "only_with_select_related",
        lambda m: m(Book).select_related("author").only("title", "author__name").order_by("pk"),
        selected("author"),
    ),
    (
        "annotate_joined_f",
        lambda m: (
            m(Book)
            .annotate(age_then=F("author__age") - F("pages"))
            .order_by("pk")
            .values_list("title", "age_then")
        ),
        None,
    ),
    ("first_ordered", lambda m: m(Book).order_by("-price").first(), None),
    ("last_unordered", lambda m: m(Book).last(), None),
    (
        "select_for_update_outside_transaction",
        lambda m: m(Book).select_for_update().filter(pk=1),
        None,
    ),
    ("get_on_union", lambda m: m(Book).filter(pk=1).union(m(Book).filter(pk=1)).get(), None),
    ("related_count", lambda m: m(Review).filter(book__author__name="Borges").count(), None),
    (
        "publisher_reverse",
        lambda m: (
            m(Publisher).annotate(n=Count("authors")).order_by("name").values_list("name", "n")
        ),
        None,
    ),
]

#: Shapes PostgreSQL alone supports; they run on PostgreSQL only.
PG_SHAPES: list[Shape] = [
    (
        "distinct_on",
        lambda m: m(Book).order_by("author_id", "-published").distinct("author_id"),
        None,
    ),
    # Django's string GenericForeignKey prefetch reads the default database (PostgreSQL in
    # the test settings) whatever the instances' database: the oracle holds on PostgreSQL.
    prefetching("prefetch_generic_fk", TaggedItem, "content_object", selected("content_object")),
    (
        "json_contains",
        lambda m: m(Author).filter(data__contains={"genre": "fiction"}).order_by("pk"),
        None,
    ),
]


BOOK_COLUMNS = "id, title, author_id, coauthor_id, published, created, price, pages, rating"

# raw(): the same SQL through Django's RawQuerySet and vinyl's (id, builder, projection).
RAW_SHAPES: list[Shape] = [
    ("raw_all", lambda m: m(Book).raw("SELECT * FROM vinyl_testapp_book ORDER BY id"), None),
    (
        "raw_params",
        lambda m: m(Book).raw(
            "SELECT * FROM vinyl_testapp_book WHERE pages > %s AND title <> %s ORDER BY id",
            [150, "Aleph"],
        ),
        None,
    ),
    # Converters: JSONField's from_db_value, DateTimeField's time zone.
    ("raw_converters", lambda m: m(Author).raw("SELECT * FROM vinyl_testapp_author"), None),
    (
        "raw_translations",
        lambda m: m(Book).raw(
            "SELECT id AS ident, title AS heading, author_id, coauthor_id, published, created, "
            "price, pages, rating FROM vinyl_testapp_book ORDER BY id",
            translations={"ident": "id", "heading": "title", "absent": "pages"},
        ),
        None,
    ),
    (
        "raw_extra_columns_become_attributes",
        lambda m: m(Book).raw(
            f"SELECT {BOOK_COLUMNS}, pages * 2 AS double_pages, 'x' AS label "
            f"FROM vinyl_testapp_book ORDER BY id"
        ),
        None,
    ),
    (
        "raw_missing_columns_are_deferred",
        lambda m: m(Book).raw("SELECT id, title FROM vinyl_testapp_book ORDER BY id"),
        lambda books: [(normalize(b), sorted(b.get_deferred_fields())) for b in books],
    ),
    (
        "raw_without_pk",
        lambda m: m(Book).raw("SELECT title FROM vinyl_testapp_book"),
        None,
    ),
    (
        "raw_no_row",
        lambda m: m(Book).raw("SELECT * FROM vinyl_testapp_book WHERE pages < %s", [0]),
        None,
    ),
    (
        "raw_percent_with_params",
        lambda m: m(Book).raw(
            "SELECT * FROM vinyl_testapp_book WHERE title LIKE 'R%%' OR title LIKE %s",
            ("B%",),
        ),
        None,
    ),
    (
        "raw_percent_without_params",
        lambda m: m(Book).raw(
            "SELECT * FROM vinyl_testapp_book WHERE title LIKE 'R%' ORDER BY id", None
        ),
        None,
    ),
    (
        "raw_inherited_model",
        lambda m: m(Restaurant).raw(
            "SELECT * FROM vinyl_testapp_restaurant r "
            "JOIN vinyl_testapp_place p ON p.id = r.place_ptr_id ORDER BY p.id"
        ),
        None,
    ),
    (
        "raw_prefetch_related",
        lambda m: (
            m(Book).raw("SELECT * FROM vinyl_testapp_book ORDER BY id").prefetch_related("tags")
        ),
        pks_of("tags"),
    ),
    (
        "raw_from_prefetching_queryset",
        lambda m: m(Author).prefetch_related("books").raw("SELECT * FROM vinyl_testapp_author"),
        pks_of("books"),
    ),
    (
        "raw_using",
        lambda m: m(Book).raw("SELECT * FROM vinyl_testapp_book ORDER BY id").using(m(Book).db),
        None,
    ),
]


def evaluated(result: Any) -> Any:
    """Return *result* with a queryset turned into its list (which may raise)."""
    return list(result) if isinstance(result, QuerySet | RawQuerySet) else result


async def check_shape(
    db: DB,
    build: Callable[[Start], Any],
    project: Callable[[Any], Any] | None,
) -> None:
    """Assert that the shape gives the same result through Django and through vinyl."""

    def django(model: Any) -> Any:
        return model.objects.using(db.django)

    def vinyl(model: Any) -> Any:
        return model.avinyl.using(db.vinyl)

    try:
        expected = evaluated(build(django))
    except Exception as error:
        # The same bad input must raise the same exception, with Django's message.
        for _ in range(2):
            with pytest.raises(type(error)) as raised:
                evaluated(await build(vinyl))
            assert str(raised.value) == str(error)
        return
    # Twice: the second run of a shape goes through the plan the first one left
    # (vinyl.model._plans), when the shape has one.
    for _ in range(2):
        actual = evaluated(await build(vinyl))
        if project is None:
            assert normalize(actual) == normalize(expected)
        else:
            assert project(actual) == project(expected)
        for obj in actual if isinstance(actual, list | QuerySet) else [actual]:
            if isinstance(obj, Model):
                assert obj._state.db == db.vinyl
                assert isinstance(obj, obj._meta.model)


@pytest.mark.parametrize(("build", "project"), [s[1:] for s in SHAPES], ids=[s[0] for s in SHAPES])
async def test_shape(library: DB, build: Callable[[Start], Any], project: Any) -> None:
    await check_shape(library, build, project)


@pytest.mark.parametrize("db", [PG], ids=["pg"], indirect=True)
@pytest.mark.parametrize(
    ("build", "project"), [s[1:] for s in PG_SHAPES], ids=[s[0] for s in PG_SHAPES]
)
async def test_postgresql_shape(library: DB, build: Callable[[Start], Any], project: Any) -> None:
    await check_shape(library, build, project)


def test_enough_shapes() -> None:
    assert len(SHAPES) + len(PG_SHAPES) >= 60
    assert datetime is not None


@pytest.mark.parametrize(
    ("build", "project"), [s[1:] for s in RAW_SHAPES], ids=[s[0] for s in RAW_SHAPES]
)
async def test_raw_shape(library: DB, build: Callable[[Start], Any], project: Any) -> None:
    await check_shape(library, build, project)


async def test_raw_on_the_manager_iterates_like_djangos(library: DB) -> None:
    sql = "SELECT id, title FROM vinyl_testapp_book WHERE pages > %s ORDER BY id"
    expected = list(Book.objects.raw(sql, [150], using=library.django))
    raw = Book.avinyl.raw(sql, [150], using=library.vinyl)
    actual = [book async for book in raw]
    assert normalize(actual) == normalize(expected)
    assert [type(book) for book in actual] == [type(book) for book in await raw]
    assert all(isinstance(book, Book) and book._state.db == library.vinyl for book in actual)
    assert raw.columns == Book.objects.raw(sql, [150], using=library.django).columns


async def test_raw_is_lazy_and_shows_djangos_repr(library: DB) -> None:
    """As Django's: ``raw()`` reads nothing until evaluated, and its repr (and its query's)
    is Django's text; its query's ``cursor`` is ``None`` until the read, then the read's,
    closed (Django's is its connection's cursor), describing the columns."""
    book = "SELECT * FROM vinyl_testapp_book"
    for sql, params in (
        (f"{book} WHERE title = %(title)s", {"title": "Boy"}),
        (f"{book} WHERE title = %(title)s", {"title": "Aleph"}),
        (f"{book} WHERE title <> %s AND pages > %s", ["Boy", 100]),
        (f"{book} WHERE title <> %s AND pages > %s", ["Aleph", 500]),
        (f"{book} WHERE title = %s", {"Boy"}),  # a set, as in Django's test
        (book, None),
        (book, None),
    ):
        django_raw = Book.objects.using(library.django).raw(sql, params)
        with CaptureQueriesContext(connections[library.vinyl]) as captured:
            raw = Book.avinyl.using(library.vinyl).raw(sql, params)
            assert repr(raw) == repr(django_raw)
            assert repr(raw.query) == repr(django_raw.query)
            assert raw.query.cursor is None is django_raw.query.cursor
        assert len(captured) == 0
        expected = list(django_raw)
        assert [b.pk for b in await raw] == [b.pk for b in expected]
        cursor, django_cursor = raw.query.cursor, django_raw.query.cursor
        assert cursor is not None and django_cursor is not None
        # Every statement reads "SELECT *". (Django's closed cursor describes them on
        # psycopg2 and describes nothing on psycopg 3.)
        assert [column[0] for column in cursor.description] == [
            field.column for field in Book._meta.concrete_fields
        ]
        assert cursor.rowcount == len(expected)
    assert repr(raw) == f"<RawQuerySet: {book}>"


async def test_raw_missing_column_is_never_fetched_behind_your_back(library: DB) -> None:
    [book] = await Book.avinyl.using(library.vinyl).raw(
        "SELECT id, title FROM vinyl_testapp_book WHERE title = %s", ["Boy"]
    )
    # test_api asserts the whole message; here it names raw() as a cause, not only only().
    with pytest.raises(FieldError, match=r"^Book.pages was not fetched \(.* raw\(\) query without"):
        book.pages  # noqa: B018 - reading the attribute is the test
    await book.refresh_from_db(fields=["pages"])
    assert book.pages == Book.objects.using(library.django).get(title="Boy").pages

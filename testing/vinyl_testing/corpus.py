"""The to_sql corpus: querysets whose SQL each backend's ``to_sql`` must get right.

Each entry builds a Django queryset through ``.objects`` (tests add ``.using(alias)``).
``seed(alias)`` writes the rows they read, through Django. Entries marked ``pg_only`` use
PostgreSQL-only fields or SQL (``DISTINCT ON``, arrays, ranges, hstore) and run only there.
Strings hold ``%`` and ``_`` on purpose: LIKE patterns must escape them.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any, NamedTuple

from django.contrib.postgres.aggregates import ArrayAgg
from django.db.backends.postgresql.psycopg_any import DateRange, NumericRange
from django.db.models import (
    Avg,
    Case,
    Count,
    Exists,
    F,
    JSONField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    TextField,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Concat, Length, Lower
from vinyl_testapp.models import AllTypes, PgTypes, TypesOwner

__all__ = ["CORPUS", "CorpusEntry", "seed", "seed_pg"]

UUIDS = [uuid.UUID(int=n) for n in range(1, 5)]


class CorpusEntry(NamedTuple):
    """One queryset of the corpus; ``build()`` returns it unevaluated."""

    name: str
    build: Callable[[], QuerySet[Any]]
    pg_only: bool = False


def seed(alias: str) -> None:
    """Write the rows the corpus reads, through Django's connection *alias*."""
    owners = [
        TypesOwner.objects.using(alias).create(name=name, rank=rank)
        for name, rank in (("ann", 1), ("bob", 2), ("cy", 3), ("nobody", 4))
    ]
    texts = ["100% sure", "a_b", None, "50% off", "alpha beta", "x"]
    for n in range(12):
        AllTypes.objects.using(alias).create(
            owner=owners[n % 3] if n != 11 else None,
            char=["alpha", "a_b", "50%", "beta", "b%d", "gamma"][n % 6],
            text=texts[n % 6],
            small=n - 3,
            integer=n,
            big=10**12 + n if n % 2 else n - 1,
            positive=n * 7,
            positive_small=n,
            positive_big=2**40 + n,
            decimal=Decimal(n) / Decimal(4),
            float=n / 3,
            boolean=[True, False, None][n % 3],
            date=datetime.date(2024, 1 + n % 12, 1 + n),
            datetime=datetime.datetime(2024, 2, 1 + n, n, 30, tzinfo=datetime.UTC),
            time=datetime.time(n, 15, 30, 250),
            duration=datetime.timedelta(minutes=25 * n),
            uuid=UUIDS[n % 4],
            json=[
                {"kind": "x", "nested": {"level": 2, "tags": ["a", "b"]}},
                {"kind": "y", "tags": [1, 2, 3]},
                None,
                {"kind": "x", "count": n},
                [1, "two", {"three": 3}],
                "just a string",
            ][n % 6],
            binary=bytes([n, 255 - n, 0]),
            ip=["10.0.0.1", "192.168.1.20", "::1", "2001:db8::7"][n % 4],
        )
    # A JSON null (not SQL NULL): Value(None, JSONField()) stores 'null'.
    AllTypes.objects.using(alias).filter(integer=8).update(
        json=Value(None, output_field=JSONField())
    )


def seed_pg(alias: str) -> None:
    """Write the PostgreSQL-only rows the ``pg_only`` entries read."""
    for n in range(5):
        PgTypes.objects.using(alias).create(
            ints=list(range(n)),
            texts=["a", f"b{n}", "c%"],
            grid=[[n, n + 1], [n + 2, n + 3]],
            ips=["10.0.0.1", f"10.0.0.{n + 2}"],
            int_range=NumericRange(n, n + 5),
            big_range=NumericRange(2**40, 2**40 + n + 1),
            decimal_range=NumericRange(Decimal("0.25"), Decimal(n) + Decimal("0.5")),
            date_range=DateRange(datetime.date(2024, 1, 1), datetime.date(2024, 1, 2 + n)),
            datetime_range=(
                datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC),
                datetime.datetime(2024, 1, 1, n + 1, tzinfo=datetime.UTC),
            ),
            hstore={"color": ["red", "blue"][n % 2], "n": str(n)},
            inet=f"192.168.0.{n}",
        )


def _items() -> QuerySet[AllTypes]:
    return AllTypes.objects.order_by("id")


def _owners() -> QuerySet[TypesOwner]:
    return TypesOwner.objects.order_by("id")


CORPUS: list[CorpusEntry] = [
    CorpusEntry("all", lambda: _items()),
    CorpusEntry("exact", lambda: _items().filter(char="alpha")),
    CorpusEntry("q_or", lambda: _items().filter(Q(integer__gt=8) | Q(char__startswith="b"))),
    CorpusEntry("q_and_not", lambda: _items().filter(Q(integer__gte=2) & ~Q(boolean=True))),
    CorpusEntry("exclude", lambda: _items().exclude(boolean=True)),
    CorpusEntry("isnull", lambda: _items().filter(text__isnull=True)),
    CorpusEntry("f_compare", lambda: _items().filter(big__gt=F("integer"))),
    CorpusEntry(
        "f_arithmetic",
        lambda: _items().annotate(total=F("integer") * 2 + F("small")).values("id", "total"),
    ),
    CorpusEntry("like_percent_contains", lambda: _items().filter(char__contains="50%")),
    CorpusEntry("like_percent_startswith", lambda: _items().filter(text__startswith="100%")),
    CorpusEntry("like_underscore_icontains", lambda: _items().filter(char__icontains="A_B")),
    CorpusEntry("like_percent_endswith", lambda: _items().filter(char__endswith="%")),
    CorpusEntry("like_f_contains", lambda: _items().filter(text__contains=F("char"))),
    CorpusEntry("like_f_istartswith", lambda: _items().filter(text__istartswith=F("char"))),
    CorpusEntry("regex", lambda: _items().filter(char__regex=r"^a.*a$")),
    CorpusEntry("in_list", lambda: _items().filter(integer__in=[1, 3, 5, 7, 100])),
    CorpusEntry("in_strings", lambda: _items().filter(char__in=["50%", "a_b"])),
    CorpusEntry(
        "in_subquery",
        lambda: _items().filter(owner__in=TypesOwner.objects.filter(rank__gte=2)),
    ),
    CorpusEntry("join_forward", lambda: _items().filter(owner__name="ann")),
    CorpusEntry(
        "join_reverse_distinct",
        lambda: _owners().filter(items__integer__gt=6).distinct(),
    ),
    CorpusEntry("select_related", lambda: _items().select_related("owner")),
    CorpusEntry("values_join", lambda: _items().values("id", "owner__name", "owner__rank")),
    CorpusEntry(
        "values_list_flat",
        lambda: AllTypes.objects.values_list("char", flat=True).order_by("char", "id"),
    ),
    CorpusEntry(
        "count_per_owner",
        lambda: _owners().annotate(n=Count("items")).values("name", "n"),
    ),
    CorpusEntry(
        "group_by_values",
        lambda: (
            AllTypes.objects.values("owner")
            .annotate(total=Sum("integer"), mean=Avg("decimal"), top=Max("datetime"))
            .order_by("owner")
        ),
    ),
    CorpusEntry("having", lambda: _owners().annotate(n=Count("items")).filter(n__gte=4)),
    CorpusEntry(
        "exists_subquery",
        lambda: _owners().filter(
            Exists(AllTypes.objects.filter(owner=OuterRef("pk"), boolean=True))
        ),
    ),
    CorpusEntry(
        "scalar_subquery",
        lambda: _owners().annotate(
            top=Subquery(
                AllTypes.objects.filter(owner=OuterRef("pk"))
                .order_by("-integer")
                .values("integer")[:1]
            )
        ),
    ),
    CorpusEntry("slice_offset", lambda: _items()[2:5]),
    CorpusEntry("slice_first", lambda: AllTypes.objects.order_by("-decimal", "id")[:1]),
    CorpusEntry("json_key", lambda: _items().filter(json__kind="x")),
    CorpusEntry("json_nested_key", lambda: _items().filter(json__nested__level=2)),
    CorpusEntry("json_has_key", lambda: _items().filter(json__has_key="tags")),
    CorpusEntry("json_contains", lambda: _items().filter(json__contains={"kind": "y"})),
    CorpusEntry("json_sql_null", lambda: _items().filter(json__isnull=True)),
    CorpusEntry(
        "json_null",
        lambda: _items().filter(json=Value(None, output_field=JSONField())),
    ),
    CorpusEntry("json_key_values", lambda: _items().values("id", "json__kind")),
    CorpusEntry("date_year", lambda: _items().filter(date__year=2024, date__month__lte=6)),
    CorpusEntry(
        "datetime_range",
        lambda: _items().filter(
            datetime__range=(
                datetime.datetime(2024, 2, 3, tzinfo=datetime.UTC),
                datetime.datetime(2024, 2, 7, tzinfo=datetime.UTC),
            )
        ),
    ),
    CorpusEntry("datetime_date", lambda: _items().filter(datetime__date=datetime.date(2024, 2, 5))),
    CorpusEntry("time_lt", lambda: _items().filter(time__lt=datetime.time(6, 0))),
    CorpusEntry("duration_gt", lambda: _items().filter(duration__gt=datetime.timedelta(hours=2))),
    CorpusEntry("uuid_exact", lambda: _items().filter(uuid=UUIDS[1])),
    CorpusEntry("decimal_gte", lambda: _items().filter(decimal__gte=Decimal("1.5"))),
    CorpusEntry("float_lt", lambda: _items().filter(float__lt=1.5)),
    CorpusEntry("ip_exact", lambda: _items().filter(ip="::1")),
    CorpusEntry("binary_exact", lambda: _items().filter(binary=bytes([3, 252, 0]))),
    CorpusEntry(
        "case_when",
        lambda: (
            _items()
            .annotate(size=Case(When(integer__gt=5, then=Value("big")), default=Value("small")))
            .values("id", "size")
        ),
    ),
    CorpusEntry(
        "functions",
        lambda: (
            _items()
            .annotate(
                label=Concat(
                    Lower("char"),
                    Value("-"),
                    Coalesce("text", Value("none"), output_field=TextField()),
                    output_field=TextField(),
                ),
                length=Length("char"),
            )
            .values("id", "label", "length")
        ),
    ),
    CorpusEntry(
        "distinct_values",
        lambda: AllTypes.objects.values("boolean").distinct().order_by("boolean"),
    ),
    CorpusEntry(
        "union",
        lambda: (
            AllTypes.objects.filter(integer__lt=3)
            .values("id")
            .union(AllTypes.objects.filter(integer__gt=9).values("id"))
            .order_by("id")
        ),
    ),
    CorpusEntry(
        "pg_array_contains",
        lambda: PgTypes.objects.filter(ints__contains=[1, 2]).order_by("id"),
        pg_only=True,
    ),
    CorpusEntry(
        "pg_array_index",
        lambda: PgTypes.objects.filter(ints__0=0, texts__1="b3").order_by("id"),
        pg_only=True,
    ),
    CorpusEntry(
        "pg_array_len",
        lambda: PgTypes.objects.filter(ints__len__gte=3).order_by("id"),
        pg_only=True,
    ),
    CorpusEntry(
        "pg_range_contains",
        lambda: PgTypes.objects.filter(int_range__contains=5).order_by("id"),
        pg_only=True,
    ),
    CorpusEntry(
        "pg_datetime_range_overlap",
        lambda: PgTypes.objects.filter(
            datetime_range__overlap=(
                datetime.datetime(2024, 1, 1, 2, 30, tzinfo=datetime.UTC),
                datetime.datetime(2024, 1, 2, tzinfo=datetime.UTC),
            )
        ).order_by("id"),
        pg_only=True,
    ),
    CorpusEntry(
        "pg_hstore_key",
        lambda: PgTypes.objects.filter(hstore__color="red").order_by("id"),
        pg_only=True,
    ),
    CorpusEntry("pg_inet_exact", lambda: PgTypes.objects.filter(inet="192.168.0.3"), pg_only=True),
    CorpusEntry(
        "pg_distinct_on",
        lambda: AllTypes.objects.order_by("owner_id", "-integer").distinct("owner_id"),
        pg_only=True,
    ),
    CorpusEntry(
        "pg_array_agg",
        lambda: (
            _owners()
            .annotate(chars=ArrayAgg("items__char", order_by=("items__char", "items__id")))
            .values("name", "chars")
        ),
        pg_only=True,
    ),
]

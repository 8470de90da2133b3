"""Writes go where Django's router sends writes, reads where it sends reads.

A primary/replica router (Django's docs, "Multiple databases") reads from one alias and
writes to another. Every write — a queryset's, and an instance's read from the replica —
must reach the alias Django's would, and leave the same rows on both databases. A read
the router routes keeps a plan for each alias it is routed to.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db.models import Prefetch
from django.test import override_settings
from vinyl.model._plans import PLANS
from vinyl_testapp.models.library import Author, Book, Tag
from vinyl_testapp.models.writes import WTarget
from vinyl_testing.plugin import DB, MYSQL, PG, flush
from vinyl_testing.writes import reset

UTC = datetime.UTC


class PrimaryReplica:
    """Read from *replica*, write to *primary*."""

    def __init__(self, primary: str, replica: str) -> None:
        self.primary = primary
        self.replica = replica

    def db_for_read(self, model: Any, **hints: Any) -> str:
        return self.replica

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return self.primary

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        # Both databases hold the same objects: an object of one relates to one of the other.
        return True


def _django_writes(r: int) -> list[Any]:
    # A queryset per call: get_or_create() leaves its queryset reading where it writes.
    def routed() -> Any:
        return WTarget.objects.all()

    made = routed().create(name=f"created{r}")
    routed().bulk_create([WTarget(name=f"bulk{r}")])
    made.name = f"renamed{r}"
    results: list[Any] = [routed().bulk_update([made], ["name"])]
    results.append(routed().filter(name=f"bulk{r}").update(name=f"updated{r}"))
    results.append(routed().get_or_create(name=f"updated{r}")[1])
    results.append(routed().update_or_create(name=f"renamed{r}", defaults={"name": f"again{r}"})[1])
    read = routed().get(name="replica 2")
    read.name = f"saved{r}"
    read.save()
    results.append(routed().filter(name=f"again{r}").delete())
    results.append(routed().get(name="replica 3").delete())
    return results


async def _vinyl_writes(r: int, routed: Callable[[], Any]) -> list[Any]:

    made = await routed().create(name=f"created{r}")
    await routed().bulk_create([WTarget(name=f"bulk{r}")])
    made.name = f"renamed{r}"
    results: list[Any] = [await routed().bulk_update([made], ["name"])]
    results.append(await routed().filter(name=f"bulk{r}").update(name=f"updated{r}"))
    results.append((await routed().get_or_create(name=f"updated{r}"))[1])
    results.append(
        (await routed().update_or_create(name=f"renamed{r}", defaults={"name": f"again{r}"}))[1]
    )
    read = await routed().get(name="replica 2")
    read.name = f"saved{r}"
    await read.save()
    results.append(await routed().filter(name=f"again{r}").delete())
    results.append(await (await routed().get(name="replica 3")).delete())
    return results


def _seed(primary: str, replica: str) -> None:
    for alias in (primary, replica):
        reset(alias)
    WTarget.objects.using(replica).bulk_create([WTarget(name=f"replica {n}") for n in range(1, 6)])


def _rows(alias: str) -> list[tuple[Any, ...]]:
    return list(WTarget.objects.using(alias).order_by("pk").values_list("pk", "name"))


# Through the manager (a VinylManager() without using, as Django's ``objects``), and through
# ``using(None)``: both let the router pick.
VIA = {
    "manager": lambda: WTarget.avinyl.all(),
    "using-none": lambda: WTarget.avinyl.using(None),
}


@pytest.mark.parametrize("via", list(VIA))
async def test_writes_go_where_the_router_sends_writes(db: DB, via: str) -> None:
    other = MYSQL if db is PG else PG
    for r in range(2):
        _seed(db.django, other.django)
        with override_settings(DATABASE_ROUTERS=[PrimaryReplica(db.django, other.django)]):
            expected = _django_writes(r)
        want = _rows(db.django), _rows(other.django)
        _seed(db.django, other.django)
        with override_settings(DATABASE_ROUTERS=[PrimaryReplica(db.vinyl, other.vinyl)]):
            got = await _vinyl_writes(r, VIA[via])
        assert got == expected
        assert (_rows(db.django), _rows(other.django)) == want
        # Every write reached the primary; the replica kept its rows.
        assert want[1] == [(n, f"replica {n}") for n in range(1, 6)]


class Alternating:
    """Route each read to the next of *aliases* in turn; writes to the first."""

    def __init__(self, *aliases: str) -> None:
        self.aliases = aliases
        self.reads = 0

    def db_for_read(self, model: Any, **hints: Any) -> str:
        alias = self.aliases[self.reads % len(self.aliases)]
        self.reads += 1
        return alias

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return self.aliases[0]


async def test_a_routed_read_asks_the_router_once_and_keeps_a_plan_for_its_alias(
    db: DB,
) -> None:
    other = MYSQL if db is PG else PG
    _seed(db.django, other.django)
    WTarget.objects.using(db.django).bulk_create([WTarget(name=f"primary {n}") for n in range(4)])

    def rows(qs: Any, low: int) -> Any:
        return qs.filter(pk__gte=low).order_by("pk").values_list("pk", "name")

    with override_settings(DATABASE_ROUTERS=[Alternating(db.vinyl, other.vinyl)]):
        # The same shapes, read on one server then on the other (another SQL), each time
        # with another value. A read asks the router once, as Django's does: asked twice,
        # this router would send the read and its instances to different servers.
        for low in (1, 3, 2, 4):
            for routed in (db, other):
                queryset = rows(WTarget.avinyl.all(), low)
                expected = list(rows(WTarget.objects.using(routed.django), low))
                assert [row async for row in queryset] == expected
                assert PLANS.plan((*queryset._shape, ("using", routed.vinyl))) is not None
            for routed in (db, other):
                found = await WTarget.avinyl.get(pk=low)
                expected_one = WTarget.objects.using(routed.django).get(pk=low)
                assert (found._state.db, found.name) == (routed.vinyl, expected_one.name)
            for routed in (db, other):
                first = await WTarget.avinyl.filter(pk__gte=low).first()
                expected_first = WTarget.objects.using(routed.django).filter(pk__gte=low).first()
                assert first is not None and expected_first is not None
                assert (first._state.db, first.name) == (routed.vinyl, expected_first.name)
            for routed in (db, other):
                count = await WTarget.avinyl.filter(pk__gte=low).count()
                assert count == WTarget.objects.using(routed.django).filter(pk__gte=low).count()


def _seed_library(alias: str) -> None:
    """Authors, their books and tags, named after *alias*: the same keys on each database."""
    tags = [Tag.objects.using(alias).create(name=f"{alias} tag {n}") for n in range(3)]
    for n in range(3):
        author = Author.objects.using(alias).create(
            name=f"{alias} author {n}", age=n, joined=datetime.datetime(2000, 1, 1, tzinfo=UTC)
        )
        for b in range(n + 1):
            book = Book.objects.using(alias).create(
                title=f"{alias} book {n}.{b}",
                author=author,
                published=datetime.date(2000, 1, 1),
                created=datetime.datetime(2000, 1, 1, tzinfo=UTC),
                price=Decimal(1),
                pages=b,
            )
            book.tags.set(tags[b:])


async def test_an_instances_relations_read_where_the_router_sends_reads(db: DB) -> None:
    # Django's related managers, relation descriptors and refresh_from_db() ask the router,
    # the instance as hint: an instance read from the primary is read again, and has its
    # relations read, from the replica.
    other = MYSQL if db is PG else PG
    for alias in (db.django, other.django):
        flush(alias)
        _seed_library(alias)
    try:
        for pk in (1, 2, 3):
            with override_settings(DATABASE_ROUTERS=[PrimaryReplica(db.django, other.django)]):
                author = Author.objects.using(db.django).get(pk=pk)
                book = Book.objects.using(db.django).get(pk=pk)
                authors = Author.objects.using(db.django).filter(pk__gte=pk).order_by("pk")
                expected: tuple[Any, ...] = (
                    [b.title for b in author.books.order_by("pk")],
                    [t.name for t in book.tags.order_by("pk")],
                    book.author.name,
                    [[b.title for b in a.books.all()] for a in authors.prefetch_related("books")],
                )
                book.refresh_from_db()
                expected += (book.title, book._state.db)
            with override_settings(DATABASE_ROUTERS=[PrimaryReplica(db.vinyl, other.vinyl)]):
                author = await Author.avinyl.using(db.vinyl).get(pk=pk)
                book = await Book.avinyl.using(db.vinyl).get(pk=pk)
                authors = Author.avinyl.using(db.vinyl).filter(pk__gte=pk).order_by("pk")
                got: tuple[Any, ...] = (
                    [b.title async for b in author.books.order_by("pk")],
                    [t.name async for t in book.tags.order_by("pk")],
                    (await book.author).name,
                    [
                        [b.title for b in a["books"]]
                        async for a in authors.prefetch_related("books")
                    ],
                )
                await book.refresh_from_db()
                assert book._state.db is not None
                got += (
                    book.title,
                    {PG.vinyl: PG.django, MYSQL.vinyl: MYSQL.django}[book._state.db],
                )
            assert got == expected
            # Django read them from the replica (each database names its objects after it).
            assert expected[2].startswith(f"{other.django} author")
    finally:
        flush(other.django)


#: A relation, the model it starts from, the related model and what names a related object.
PREFETCHED: dict[str, tuple[Any, Any, str]] = {
    "books": (Author, Book, "title"),
    "tags": (Book, Tag, "name"),
    "author": (Book, Author, "name"),
}


def _prefetched_names(related: Any, attr: str) -> Any:
    if isinstance(related, list):
        return [getattr(obj, attr) for obj in related]
    return getattr(related, attr)


@pytest.mark.parametrize("relation", list(PREFETCHED))
async def test_a_prefetch_queryset_pinned_to_an_alias_reads_there(db: DB, relation: str) -> None:
    # As Django's prefetchers (queryset.using(queryset._db or the instances')): a Prefetch
    # queryset given its alias with using() reads there, not on the instances' alias.
    model, related, attr = PREFETCHED[relation]
    other = MYSQL if db is PG else PG
    for alias in (db.django, other.django):
        flush(alias)
        _seed_library(alias)
    try:
        for pk in (1, 2):
            django_prefetch = Prefetch(
                relation, queryset=related.objects.using(other.django).order_by("pk")
            )
            expected = [
                _prefetched_names(
                    getattr(obj, relation)
                    if relation == "author"
                    else list(getattr(obj, relation).all()),
                    attr,
                )
                for obj in model.objects.using(db.django)
                .filter(pk__gte=pk)
                .order_by("pk")
                .prefetch_related(django_prefetch)
            ]
            vinyl_prefetch = Prefetch(
                relation, queryset=related.objects.using(other.vinyl).order_by("pk")
            )
            got = [
                _prefetched_names(obj[relation], attr)
                async for obj in model.avinyl.using(db.vinyl)
                .filter(pk__gte=pk)
                .order_by("pk")
                .prefetch_related(vinyl_prefetch)
            ]
            assert got == expected
            # Django read them from the other database (its objects are named after it).
            assert f"{other.django} " in str(expected)
    finally:
        flush(other.django)

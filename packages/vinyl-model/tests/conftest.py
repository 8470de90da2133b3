"""Seed data for the model layer's tests (written through Django's own managers), and pools
closed after each test of either flavor: each test runs on its own event loop."""

from __future__ import annotations

import datetime
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
import vinyl_async
import vinyl_sync
from vinyl_testing.plugin import DB

UTC = datetime.UTC


@pytest.fixture(autouse=True)
async def _close_pools() -> AsyncIterator[None]:
    yield
    await vinyl_async.close_pools()
    vinyl_sync.close_pools()


@pytest.fixture
def library(db: DB) -> DB:
    """Seed a small library on *db* through ``M.objects`` (the oracle writes it)."""
    # Imported here: conftest modules load before Django's app registry is ready.
    from vinyl_testapp.models import library as lib

    using = db.django
    acme = lib.Publisher.objects.using(using).create(name="Acme", country="US")
    nord = lib.Publisher.objects.using(using).create(name="Nord", country="SE")
    people = [
        ("Ada", 36, acme, {"genre": "math", "langs": ["en", "fr"], "rank": 1}, 2001),
        ("Borges", 86, nord, {"genre": "fiction", "langs": ["es"], "rank": 2}, 1999),
        ("Cortázar", 69, acme, {"genre": "fiction", "langs": ["es", "fr"]}, 2010),
        ("Dahl", 74, None, None, 2015),
    ]
    authors = [
        lib.Author.objects.using(using).create(
            name=name,
            age=age,
            publisher=publisher,
            data=data,
            joined=datetime.datetime(year, 3, 14, 15, 9, 26, tzinfo=UTC),
        )
        for name, age, publisher, data, year in people
    ]
    lib.AuthorProfile.objects.using(using).create(author=authors[0], bio="Analyst", website="")
    lib.AuthorProfile.objects.using(using).create(
        author=authors[1], bio="Librarian", website="https://example.org"
    )
    tags = [lib.Tag.objects.using(using).create(name=name) for name in ("classic", "short", "long")]
    specs = [
        ("Notes", 0, None, (1843, 7, 1), "12.50", 120, 4.5, [0, 1]),
        ("Ficciones", 1, 2, (1944, 1, 1), "9.99", 200, 4.9, [0, 1]),
        ("Aleph", 1, None, (1949, 6, 1), "15.00", 150, None, [0]),
        ("Rayuela", 2, 1, (1963, 6, 28), "22.10", 600, 4.2, [2]),
        ("Matilda", 3, None, (1988, 10, 1), "7.25", 240, 3.9, []),
        ("Boy", 3, 0, (1984, 1, 1), "5.00", 176, None, [1]),
    ]
    for index, (title, author, coauthor, day, price, pages, rating, tag_ids) in enumerate(specs):
        book = lib.Book.objects.using(using).create(
            title=title,
            author=authors[author],
            coauthor=None if coauthor is None else authors[coauthor],
            published=datetime.date(*day),
            created=datetime.datetime(2020, 1, 1 + index, 10, index, tzinfo=UTC),
            price=Decimal(price),
            pages=pages,
            rating=rating,
        )
        book.tags.set([tags[i] for i in tag_ids])
        for stars in range(index % 3 + 1):
            lib.Review.objects.using(using).create(book=book, stars=stars + 2)
        if index % 2 == 0:
            lib.TaggedItem.objects.using(using).create(label=f"item-{index}", content_object=book)
    lib.TaggedItem.objects.using(using).create(label="on-author", content_object=authors[0])
    lib.Place.objects.using(using).create(name="Park", address="1 Main St")
    lib.Restaurant.objects.using(using).create(
        name="Trattoria", address="2 Main St", serves_pizza=True, seats=40
    )
    return db

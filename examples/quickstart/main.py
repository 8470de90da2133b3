"""vinyl's quickstart: the same reads and writes through the async and the sync flavor.

Run it with ``bash examples/quickstart/run.sh`` (it makes a virtualenv with the packages
installed by ``pip install -e``). It uses PostgreSQL on ``VINYL_PG_HOST``/``PORT``/``USER``/
``PASSWORD`` (default 127.0.0.1:5432, user postgres) and recreates the database
``VINYL_PG_NAME`` (default ``vinyl_example``) on every run.
"""

from __future__ import annotations

import asyncio
import os

import django
import psycopg2
from django.conf import settings

SERVER = {
    "HOST": os.environ.get("VINYL_PG_HOST", "127.0.0.1"),
    "PORT": os.environ.get("VINYL_PG_PORT", "5432"),
    "USER": os.environ.get("VINYL_PG_USER", "postgres"),
    "PASSWORD": os.environ.get("VINYL_PG_PASSWORD", ""),
    "NAME": os.environ.get("VINYL_PG_NAME", "vinyl_example"),
}


def configure() -> None:
    """Configure Django: Django's own backend as ``default``, vinyl's as ``vinyl``."""
    settings.configure(
        INSTALLED_APPS=["shop"],
        DATABASES={
            "default": {"ENGINE": "django.db.backends.postgresql", **SERVER},
            "vinyl": {
                "ENGINE": "vinyl.postgresql_backend",
                **SERVER,
                "OPTIONS": {"pool_min_size": 1, "pool_max_size": 10},
            },
        },
        USE_TZ=True,
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
    )
    django.setup()


def create_database() -> None:
    """Recreate the example's database, create its tables and add a few rows (with Django)."""
    from django.core.management import call_command
    from shop.models import Author, Book

    admin = psycopg2.connect(
        host=SERVER["HOST"],
        port=SERVER["PORT"],
        user=SERVER["USER"],
        password=SERVER["PASSWORD"],
        dbname="postgres",
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{SERVER["NAME"]}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{SERVER["NAME"]}"')
    admin.close()
    call_command("migrate", run_syncdb=True, verbosity=0)
    ada = Author.objects.create(name="Ada Lovelace")
    alan = Author.objects.create(name="Alan Turing")
    Book.objects.create(title="Notes on the Analytical Engine", author=ada)
    Book.objects.create(title="On Computable Numbers", author=alan)
    Book.objects.create(title="Computing Machinery and Intelligence", author=alan)


async def async_demo() -> None:
    """Read and write through the async flavor: every query awaits a real async driver."""
    from shop.models import Author, Book
    from vinyl_async import close_pools

    for author in await Author.avinyl.filter(name__startswith="A").order_by("name"):
        books = await author.book_set.all()  # always a query, on purpose
        print("async:", author.name, sorted(b.title for b in books))
    book = await Book.avinyl.select_related("author").get(title__startswith="On")
    print("async:", book.title, "by", book["author"].name)  # loaded: no query
    print("async:", (await book.author).name)  # always a query
    print("async: books by Alan:", await Book.avinyl.filter(author__name="Alan Turing").count())
    # Writes: Django's semantics, no signals; the draft is gone again at the end.
    draft = await Book.avinyl.create(title="A Draft", author=book["author"])
    ada = await Author.avinyl.get(name="Ada Lovelace")
    draft.author = ada
    await draft.save(update_fields=["author"])
    print("async: books by Ada:", await ada.book_set.count())
    print("async: deleted:", await Book.avinyl.filter(title="A Draft").delete())
    await close_pools()


def sync_demo() -> None:
    """Read and write through the sync flavor: the same API without ``await``."""
    from shop.models import Author, Book
    from vinyl_sync import close_pools

    for author in Author.vinyl.filter(name__startswith="A").order_by("name"):
        books = author.book_set.all()
        print("sync:", author.name, sorted(b.title for b in books))
    book = Book.vinyl.select_related("author").get(title__startswith="On")
    print("sync:", book.title, "by", book["author"].name)
    print("sync:", book.author.name)
    print("sync: books by Alan:", Book.vinyl.filter(author__name="Alan Turing").count())
    draft = Book.vinyl.create(title="A Draft", author=book["author"])
    ada = Author.vinyl.get(name="Ada Lovelace")
    draft.author = ada
    draft.save(update_fields=["author"])
    print("sync: books by Ada:", ada.book_set.count())
    print("sync: deleted:", Book.vinyl.filter(title="A Draft").delete())
    close_pools()


def main() -> None:
    configure()
    create_database()
    asyncio.run(async_demo())
    sync_demo()


if __name__ == "__main__":
    main()

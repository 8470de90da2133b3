"""Create the benchmark's databases and seed them through Django, deterministically.

Rows get explicit primary keys from 1 and values from a seeded RNG, so both servers hold
the same data and every checksum is the same on PostgreSQL and MariaDB.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Model

from vinyl_bench import settings
from vinyl_bench.contenders import DJANGO_ALIAS, POSTGRESQL
from vinyl_bench.scale import Scale

SEED = 20261129
BATCH = 2_000
NAMES = ("Ada", "Grace", "Zoë", "Łukasz", "Noor", "Kwame", "Mei", "José", "Ingrid", "Tariq")
WORDS = ("river", "glass", "winter", "ember", "orchard", "lantern", "salt", "échelle", "dune")
EPOCH = date(1900, 1, 1)


def recreate(vendor: str) -> None:
    """Drop and create the benchmark database of *vendor*, then create its tables."""
    from django.core.management import call_command

    if vendor == POSTGRESQL:
        _recreate_postgresql()
    else:
        _recreate_mysql()
    call_command("migrate", database=DJANGO_ALIAS[vendor], run_syncdb=True, verbosity=0)


def _recreate_postgresql() -> None:
    import psycopg2

    server = settings.PG
    conn = psycopg2.connect(
        host=server["HOST"],
        port=server["PORT"],
        user=server["USER"],
        password=server["PASSWORD"],
        dbname="postgres",
    )
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{server["NAME"]}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{server["NAME"]}"')
    conn.close()


def _recreate_mysql() -> None:
    import pymysql

    server = settings.MYSQL
    conn = pymysql.connect(
        host=server["HOST"],
        port=int(server["PORT"]),
        user=server["USER"],
        password=server["PASSWORD"],
    )
    with conn.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS `{server['NAME']}`")
        cursor.execute(f"CREATE DATABASE `{server['NAME']}` CHARACTER SET utf8mb4")
    conn.close()


def seed(vendor: str, scale: Scale) -> None:
    """Insert *scale*'s authors, tags, books and book tags through Django's ORM."""
    from django.core.management.color import no_style
    from django.db import connections, transaction

    from benchapp.models import Author, Book, Tag

    alias = DJANGO_ALIAS[vendor]
    rng = random.Random(SEED)
    authors = [
        Author(
            id=i,
            name=f"{rng.choice(NAMES)} {rng.choice(WORDS).title()} {i}",
            email=f"author{i}@example.org",
            born=EPOCH + timedelta(days=rng.randrange(40_000)),
        )
        for i in range(1, scale.authors + 1)
    ]
    tags = [Tag(id=i, name=f"tag-{i}") for i in range(1, scale.tags + 1)]
    books = [
        Book(
            id=i,
            title=f"The {rng.choice(WORDS)} of {rng.choice(WORDS)}, part {i}",
            author_id=rng.randint(1, scale.authors),
            pages=rng.randint(40, 1_200),
            price=Decimal(rng.randint(100, 99_999)).scaleb(-2),
            published=EPOCH + timedelta(days=rng.randrange(45_000)),
        )
        for i in range(1, scale.books + 1)
    ]
    through = Book.tags.through
    book_tags = [
        through(book_id=i, tag_id=tag)
        for i in range(1, scale.books + 1)
        for tag in rng.sample(range(1, scale.tags + 1), scale.tags_per_book)
    ]
    table_rows: list[Sequence[Model]] = [authors, tags, books, book_tags]
    with transaction.atomic(using=alias):
        for objects in table_rows:
            manager = type(objects[0])._default_manager
            manager.using(alias).bulk_create(objects, batch_size=BATCH)
    connection = connections[alias]
    # Explicit ids leave PostgreSQL's sequences at 1; move them past the seeded rows so a
    # write workload can insert. Fresh statistics give every contender the same plans.
    statements = connection.ops.sequence_reset_sql(no_style(), [Author, Tag, Book, through])
    statements.append(
        "ANALYZE"
        if vendor == POSTGRESQL
        else "ANALYZE TABLE " + ", ".join(m._meta.db_table for m in (Author, Tag, Book, through))
    )
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
            if cursor.description:
                cursor.fetchall()


def server_version(vendor: str) -> str:
    """Return the server's version string, as the server reports it."""
    from django.db import connections

    with connections[DJANGO_ALIAS[vendor]].cursor() as cursor:
        cursor.execute("SELECT version()")
        (version,) = cursor.fetchone()
    return str(version).split(" on ")[0]

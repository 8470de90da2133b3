"""Create the benchmark's databases and seed them through Django, deterministically.

Rows get explicit primary keys from 1 and values from a seeded RNG, so both servers hold
the same data and every checksum is the same on PostgreSQL and MariaDB.

The write workloads change the tables: a worker puts back the seeded data before and after
each of their runs (:func:`restore`, untimed) on a raw connection of its own
(:func:`keeper`), and reads what a run left in the tables there (:func:`tables`). The books'
seeded values are kept in a table of their own (``bench_seed_book``), so putting back what
an update changed is one statement.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Model

from vinyl_bench import settings
from vinyl_bench.contenders import DJANGO_ALIAS, POSTGRESQL
from vinyl_bench.scale import Scale

SEED = 20261129
BATCH = 2_000
NAMES = ("Ada", "Grace", "Zoë", "Łukasz", "Noor", "Kwame", "Mei", "José", "Ingrid", "Tariq")
WORDS = ("river", "glass", "winter", "ember", "orchard", "lantern", "salt", "échelle", "dune")
EPOCH = date(1900, 1, 1)
#: The books as seeded, which :func:`restore` puts back, and the columns a workload may change.
SEED_BOOKS = "bench_seed_book"
_BOOK_VALUES = ("title", "author_id", "pages", "price", "published")


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
    statements += [
        f"CREATE TABLE {SEED_BOOKS} AS SELECT * FROM benchapp_book",
        f"ALTER TABLE {SEED_BOOKS} ADD PRIMARY KEY (id)",
    ]
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
            if cursor.description:
                cursor.fetchall()


def keeper(vendor: str) -> Any:
    """Return a new autocommit DB-API connection (psycopg2, PyMySQL) to the benchmark database.

    A worker's own, outside every contender: restoring the data and reading it back never
    touch the connections or pools being measured.
    """
    if vendor == POSTGRESQL:
        import psycopg2

        server = settings.PG
        conn = psycopg2.connect(
            host=server["HOST"],
            port=server["PORT"],
            user=server["USER"],
            password=server["PASSWORD"],
            dbname=server["NAME"],
        )
        conn.autocommit = True
        return conn
    import pymysql

    server = settings.MYSQL
    return pymysql.connect(
        host=server["HOST"],
        port=int(server["PORT"]),
        user=server["USER"],
        password=server["PASSWORD"],
        database=server["NAME"],
        charset="utf8mb4",
        autocommit=True,
    )


def restore(conn: Any, vendor: str, scale: Scale) -> None:
    """Put back the seeded authors and books: drop added rows, undo updates, reset the keys.

    The next row the server numbers gets the same id whichever contender inserts it, so
    the inserted rows compare equal too.
    """
    if vendor == POSTGRESQL:
        setting = ", ".join(f"{name} = s.{name}" for name in _BOOK_VALUES)
        changed = " OR ".join(f"b.{name} IS DISTINCT FROM s.{name}" for name in _BOOK_VALUES)
        statements = [
            f"UPDATE benchapp_book AS b SET {setting} FROM {SEED_BOOKS} AS s "
            f"WHERE b.id = s.id AND ({changed})",
            f"DELETE FROM benchapp_book WHERE id > {scale.books}",
            f"DELETE FROM benchapp_author WHERE id > {scale.authors}",
            f"SELECT setval(pg_get_serial_sequence('benchapp_book', 'id'), {scale.books})",
            f"SELECT setval(pg_get_serial_sequence('benchapp_author', 'id'), {scale.authors})",
        ]
    else:
        # MariaDB only writes the rows whose values differ.
        setting = ", ".join(f"b.{name} = s.{name}" for name in _BOOK_VALUES)
        statements = [
            f"UPDATE benchapp_book AS b JOIN {SEED_BOOKS} AS s ON b.id = s.id SET {setting}",
            f"DELETE FROM benchapp_book WHERE id > {scale.books}",
            f"DELETE FROM benchapp_author WHERE id > {scale.authors}",
            # InnoDB keeps its counter after a DELETE; a value below the largest id + 1
            # sets it to that.
            "ALTER TABLE benchapp_book AUTO_INCREMENT = 1",
            "ALTER TABLE benchapp_author AUTO_INCREMENT = 1",
        ]
    deleted = 0
    with conn.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
            if statement.startswith("DELETE"):
                deleted += cursor.rowcount
            if cursor.description:
                cursor.fetchall()
        if deleted and vendor == POSTGRESQL:
            # Each contender inserts into a table without the dead rows of the last one.
            cursor.execute("VACUUM benchapp_book, benchapp_author")


def tables(conn: Any) -> list[list[tuple[Any, ...]]]:
    """Return every author and book row, in primary key order: what a write run left."""
    from vinyl_bench import sql

    with conn.cursor() as cursor:
        cursor.execute(f"SELECT {sql.AUTHOR_COLUMNS} FROM benchapp_author ORDER BY id")
        authors = [tuple(row) for row in cursor.fetchall()]
        cursor.execute(f"SELECT {sql.BOOK_COLUMNS} FROM benchapp_book ORDER BY id")
        books = [tuple(row) for row in cursor.fetchall()]
    return [authors, books]


def server_version(vendor: str) -> str:
    """Return the server's version string, as the server reports it."""
    from django.db import connections

    with connections[DJANGO_ALIAS[vendor]].cursor() as cursor:
        cursor.execute("SELECT version()")
        (version,) = cursor.fetchone()
    return str(version).split(" on ")[0]

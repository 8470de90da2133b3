"""Create the benchmark's databases and seed them through Django, deterministically.

Rows get explicit primary keys from 1 and values from a seeded RNG, so every database holds
the same data and every checksum is the same on PostgreSQL, MariaDB and SQLite (a file,
``settings.SQLITE_FILE``, put in WAL mode before the tables are created).

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
from vinyl_bench.contenders import DJANGO_ALIAS, POSTGRESQL, SQLITE
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
    elif vendor == SQLITE:
        _recreate_sqlite()
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
        # Commits wait for the disk, as in production, whatever the server's default (the
        # test servers' is off: scripts/services.sh).
        cursor.execute(f'ALTER DATABASE "{server["NAME"]}" SET synchronous_commit = on')
    conn.close()


def _recreate_sqlite() -> None:
    """Delete the database file (and its WAL) and create it anew, in WAL mode."""
    import sqlite3

    from django.db import connections

    connections[DJANGO_ALIAS[SQLITE]].close()
    settings.SQLITE_DIR.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm", "-journal"):
        settings.SQLITE_FILE.with_name(settings.SQLITE_FILE.name + suffix).unlink(missing_ok=True)
    conn = sqlite3.connect(settings.SQLITE_FILE)
    # Kept in the file: every connection, Django's, vinyl's and the raw drivers', runs in it.
    conn.execute("PRAGMA journal_mode = WAL")
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
    # (SQLite's AUTOINCREMENT keeps the largest id by itself.)
    statements = connection.ops.sequence_reset_sql(no_style(), [Author, Tag, Book, through])
    statements.append(
        "ANALYZE"
        if vendor in (POSTGRESQL, SQLITE)
        else "ANALYZE TABLE " + ", ".join(m._meta.db_table for m in (Author, Tag, Book, through))
    )
    statements.append(f"CREATE TABLE {SEED_BOOKS} AS SELECT * FROM benchapp_book")
    statements.append(
        # SQLite cannot add a primary key to a table: a unique index serves the join.
        f"CREATE UNIQUE INDEX {SEED_BOOKS}_id ON {SEED_BOOKS} (id)"
        if vendor == SQLITE
        else f"ALTER TABLE {SEED_BOOKS} ADD PRIMARY KEY (id)"
    )
    if vendor == SQLITE:
        # Every contender starts from the same file: the seeding's WAL copied into it.
        statements.append("PRAGMA wal_checkpoint(TRUNCATE)")
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
            if cursor.description:
                cursor.fetchall()


def keeper(vendor: str) -> Any:
    """Return a new autocommit DB-API connection (psycopg2, PyMySQL) to the benchmark database.

    A worker's own, outside every contender: restoring the data and reading it back never
    touch the connections or pools being measured. On SQLite, a sqlite3 connection with a
    cursor that works as a context manager, as the servers' drivers' do.
    """
    if vendor == SQLITE:
        return _SQLiteKeeper()
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


class _SQLiteKeeper:
    """A sqlite3 connection in autocommit whose ``cursor()`` closes itself after a ``with``."""

    def __init__(self) -> None:
        import sqlite3

        self.conn = sqlite3.connect(
            settings.SQLITE_FILE, timeout=settings.SQLITE_TIMEOUT, isolation_level=None
        )

    def cursor(self) -> Any:
        from contextlib import closing

        return closing(self.conn.cursor())

    def close(self) -> None:
        self.conn.close()


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
    elif vendor == SQLITE:
        setting = ", ".join(f"{name} = s.{name}" for name in _BOOK_VALUES)
        changed = " OR ".join(f"b.{name} IS NOT s.{name}" for name in _BOOK_VALUES)
        statements = [
            f"UPDATE benchapp_book AS b SET {setting} FROM {SEED_BOOKS} AS s "
            f"WHERE b.id = s.id AND ({changed})",
            f"DELETE FROM benchapp_book WHERE id > {scale.books}",
            f"DELETE FROM benchapp_author WHERE id > {scale.authors}",
            # AUTOINCREMENT numbers past the largest id it ever gave, kept here.
            f"UPDATE sqlite_sequence SET seq = {scale.books} WHERE name = 'benchapp_book'",
            f"UPDATE sqlite_sequence SET seq = {scale.authors} WHERE name = 'benchapp_author'",
            # Each contender writes to a file with an empty WAL, not the last one's.
            "PRAGMA wal_checkpoint(TRUNCATE)",
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


def tables(conn: Any, vendor: str) -> list[list[tuple[Any, ...]]]:
    """Return every author and book row, in primary key order: what a write run left.

    Typed alike on every database (SQLite's dates and prices converted here).
    """
    from vinyl_bench import sql, sqlite_types

    with conn.cursor() as cursor:
        cursor.execute(f"SELECT {sql.AUTHOR_COLUMNS} FROM benchapp_author ORDER BY id")
        authors = [tuple(row) for row in cursor.fetchall()]
        cursor.execute(f"SELECT {sql.BOOK_COLUMNS} FROM benchapp_book ORDER BY id")
        books = [tuple(row) for row in cursor.fetchall()]
    if vendor == SQLITE:
        authors = [sqlite_types.author(row) for row in authors]
        books = [sqlite_types.book(row) for row in books]
    return [authors, books]


def server_version(vendor: str) -> str:
    """Return the server's version string, as the server reports it."""
    from django.db import connections

    with connections[DJANGO_ALIAS[vendor]].cursor() as cursor:
        if vendor == SQLITE:
            cursor.execute("SELECT sqlite_version()")
            (version,) = cursor.fetchone()
            return f"SQLite {version}, file {settings.SQLITE_FILE} (WAL)"
        cursor.execute("SELECT version()")
        (version,) = cursor.fetchone()
        # Whether a commit waits for the disk: it sets W5, W8 and W9's floor.
        if vendor == POSTGRESQL:
            cursor.execute("SHOW synchronous_commit")
            (durability,) = cursor.fetchone()
            durability = f"synchronous_commit = {durability}"
        else:
            cursor.execute("SELECT @@innodb_flush_log_at_trx_commit")
            (durability,) = cursor.fetchone()
            durability = f"innodb_flush_log_at_trx_commit = {durability}"
    return f"{str(version).split(' on ')[0]} ({durability})"

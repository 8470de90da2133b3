"""The raw-driver contenders' SQL, written by hand for the tables of ``benchapp.models``.

Columns are listed in the models' field order so a driver row and an ORM object compare
equal (``registry.as_row``). ``%s`` is the DB-API placeholder of psycopg2, PyMySQL and
aiomysql; asyncpg takes ``$n``; sqlite3 and aiosqlite take ``?`` (:func:`qmark`).
"""


def qmark(statement: str) -> str:
    """Return *statement* with sqlite3's ``?`` placeholders instead of ``%s``."""
    return statement.replace("%s", "?")


AUTHOR_COLUMNS = "id, name, email, born"
BOOK_COLUMNS = "id, title, author_id, pages, price, published"

AUTHOR_BY_PK = f"SELECT {AUTHOR_COLUMNS} FROM benchapp_author WHERE id = %s"
AUTHOR_BY_PK_PG = f"SELECT {AUTHOR_COLUMNS} FROM benchapp_author WHERE id = $1"

ALL_BOOKS = f"SELECT {BOOK_COLUMNS} FROM benchapp_book"

BOOK_VALUES = "SELECT id, title, price FROM benchapp_book WHERE author_id >= %s AND author_id < %s"
BOOK_VALUES_PG = (
    "SELECT id, title, price FROM benchapp_book WHERE author_id >= $1 AND author_id < $2"
)

AUTHOR_RANGE = f"SELECT {AUTHOR_COLUMNS} FROM benchapp_author WHERE id >= %s AND id < %s"
AUTHOR_RANGE_PG = f"SELECT {AUTHOR_COLUMNS} FROM benchapp_author WHERE id >= $1 AND id < $2"
# The prefetch query of Django and vinyl: the books of the authors just read, by their ids.
BOOKS_OF_AUTHORS_PG = (
    f"SELECT {BOOK_COLUMNS} FROM benchapp_book WHERE author_id = ANY($1::bigint[])"
)


def books_of_authors(count: int) -> str:
    """Return the prefetch query for *count* author ids, one ``%s`` each, as Django writes it."""
    return (
        f"SELECT {BOOK_COLUMNS} FROM benchapp_book WHERE author_id IN ({', '.join(['%s'] * count)})"
    )


# The write workloads (W5, W6, W8, W9).
INSERT_AUTHOR = "INSERT INTO benchapp_author (name, email, born) VALUES (%s, %s, %s)"
INSERT_AUTHOR_RETURNING = f"{INSERT_AUTHOR} RETURNING id"
INSERT_AUTHOR_PG = (
    "INSERT INTO benchapp_author (name, email, born) VALUES ($1, $2, $3) RETURNING id"
)

INSERT_BOOK = (
    "INSERT INTO benchapp_book (title, author_id, pages, price, published) "
    "VALUES (%s, %s, %s, %s, %s)"
)
INSERT_BOOK_PG = (
    "INSERT INTO benchapp_book (title, author_id, pages, price, published) "
    "VALUES ($1, $2, $3, $4, $5)"
)

BOOK_BY_PK = f"SELECT {BOOK_COLUMNS} FROM benchapp_book WHERE id = %s"
BOOK_BY_PK_PG = f"SELECT {BOOK_COLUMNS} FROM benchapp_book WHERE id = $1"
# Every column but the key, as Django's save() writes a loaded instance.
UPDATE_BOOK = (
    "UPDATE benchapp_book SET title = %s, author_id = %s, pages = %s, price = %s, "
    "published = %s WHERE id = %s"
)
UPDATE_BOOK_PG = (
    "UPDATE benchapp_book SET title = $1, author_id = $2, pages = $3, price = $4, "
    "published = $5 WHERE id = $6"
)

BOOKS_OF_AUTHOR = f"SELECT {BOOK_COLUMNS} FROM benchapp_book WHERE author_id = %s"
BOOKS_OF_AUTHOR_PG = f"SELECT {BOOK_COLUMNS} FROM benchapp_book WHERE author_id = $1"
SET_PAGES = "UPDATE benchapp_book SET pages = %s WHERE id = %s"
SET_PAGES_PG = "UPDATE benchapp_book SET pages = $1 WHERE id = $2"


# SQLite (sqlite3 and aiosqlite): the same statements with ``?``. A write transaction takes
# the write lock when it begins, as vinyl-sqlite's does, so two that read and then write
# never deadlock upgrading their read locks.
AUTHOR_BY_PK_SQLITE = qmark(AUTHOR_BY_PK)
BOOK_VALUES_SQLITE = qmark(BOOK_VALUES)
AUTHOR_RANGE_SQLITE = qmark(AUTHOR_RANGE)
INSERT_AUTHOR_SQLITE = qmark(INSERT_AUTHOR)
INSERT_BOOK_SQLITE = qmark(INSERT_BOOK)
BOOK_BY_PK_SQLITE = qmark(BOOK_BY_PK)
UPDATE_BOOK_SQLITE = qmark(UPDATE_BOOK)
BOOKS_OF_AUTHOR_SQLITE = qmark(BOOKS_OF_AUTHOR)
SET_PAGES_SQLITE = qmark(SET_PAGES)
BEGIN_SQLITE = "BEGIN IMMEDIATE"

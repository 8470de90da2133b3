"""SQLite's values as the other databases' drivers return them: dates and two-place decimals.

SQLite stores a ``DateField`` as ISO text and a ``DecimalField`` as a number (Django's
SQLite backend writes a ``Decimal`` as text into a column of NUMERIC affinity). psycopg2,
asyncpg and the MariaDB drivers return ``date`` and ``Decimal``, and every checksum
compares rows across databases, so:

- the raw SQLite contenders (sqlite3, aiosqlite) register sqlite3's own converters for the
  columns' declared types (``date``, ``decimal``) and adapters for the values they write
  (:func:`register`). sqlite3 calls them in C for each value, as asyncpg decodes in its
  codecs; they are process-wide, so only a raw contender's worker registers them (Django's
  SQLite backend registers its own ``date`` converter and converts decimals itself);
- the worker's keeper connection, which reads back what a write workload left, converts
  in Python, untimed (:func:`author`, :func:`book`).

Every decimal column of ``benchapp`` is a price with two places.
"""

from __future__ import annotations

import sqlite3
from datetime import date
from decimal import Decimal
from typing import Any

CENTS = Decimal("0.01")


def to_date(value: bytes) -> date:
    """Return the date of a ``date`` column's ISO text."""
    return date.fromisoformat(value.decode())


def to_price(value: bytes | str | float) -> Decimal:
    """Return a price, with two places as ``DecimalField(decimal_places=2)`` returns it."""
    text = value.decode() if isinstance(value, bytes) else str(value)
    return Decimal(text).quantize(CENTS)


def register() -> None:
    """Make sqlite3 (and so aiosqlite) read and write dates and decimals, in this process."""
    sqlite3.register_converter("date", to_date)
    sqlite3.register_converter("decimal", to_price)
    sqlite3.register_adapter(Decimal, str)
    sqlite3.register_adapter(date, date.isoformat)


def author(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """Return a raw ``(id, name, email, born)`` row with ``born`` a date."""
    pk, name, email, born = row
    return (pk, name, email, date.fromisoformat(born))


def book(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """Return a raw ``(id, title, author_id, pages, price, published)`` row, typed."""
    pk, title, author_id, pages, price, published = row
    return (pk, title, author_id, pages, to_price(price), date.fromisoformat(published))

"""The dialect, the error table and the shared-cache lock wait, without a database."""

from __future__ import annotations

import sqlite3

import pytest
from django.db import utils
from vinyl.sqlite import SQLITE
from vinyl.sqlite.errors import LockWait, django_error
from vinyl_testing._async import backends


@pytest.mark.parametrize(
    ("django_sql", "sqlite3_sql"),
    [
        ("SELECT %s, %s", "SELECT ?, ?"),
        ("WHERE a LIKE %s ESCAPE '\\' AND b = %s", "WHERE a LIKE ? ESCAPE '\\' AND b = ?"),
        ("WHERE a LIKE '%%' || %s || '%%'", "WHERE a LIKE '%' || ? || '%'"),
        ("SELECT '100%%s'", "SELECT '100%s'"),
        ("SELECT '%%%%', %s", "SELECT '%%', ?"),
        ("SELECT 1", "SELECT 1"),
    ],
)
def test_placeholders_become_question_marks_and_percents_unescaped(
    django_sql: str, sqlite3_sql: str
) -> None:
    assert SQLITE.prepare_sql(django_sql) == sqlite3_sql


def test_params_are_passed_as_they_are() -> None:
    params = (1, "a", None)
    assert SQLITE.prepare_params(params) is params


def error(code: int, name: str, message: str = "boom") -> sqlite3.Error:
    """Return a sqlite3 error as SQLite raises it: the class sqlite3 picks, with its code."""
    cls = {
        sqlite3.SQLITE_CONSTRAINT: sqlite3.IntegrityError,
        sqlite3.SQLITE_TOOBIG: sqlite3.DataError,
        sqlite3.SQLITE_CORRUPT: sqlite3.DatabaseError,
        sqlite3.SQLITE_INTERNAL: sqlite3.InternalError,
        sqlite3.SQLITE_RANGE: sqlite3.InterfaceError,
    }.get(code & 0xFF, sqlite3.OperationalError)
    exc = cls(message)
    exc.sqlite_errorcode = code
    exc.sqlite_errorname = name
    return exc


@pytest.mark.parametrize(
    ("code", "name", "expected"),
    [
        (2067, "SQLITE_CONSTRAINT_UNIQUE", utils.IntegrityError),
        (787, "SQLITE_CONSTRAINT_FOREIGNKEY", utils.IntegrityError),
        (1, "SQLITE_ERROR", utils.OperationalError),
        (8, "SQLITE_READONLY", utils.OperationalError),
        (262, "SQLITE_LOCKED_SHAREDCACHE", utils.OperationalError),
        (11, "SQLITE_CORRUPT", utils.DatabaseError),
        (18, "SQLITE_TOOBIG", utils.DataError),
        (2, "SQLITE_INTERNAL", utils.InternalError),
        (25, "SQLITE_RANGE", utils.InterfaceError),
    ],
)
def test_result_codes_map_to_djangos_exceptions(code: int, name: str, expected: type) -> None:
    mapped = django_error(error(code, name))
    assert type(mapped) is expected
    assert (mapped.sqlite_errorcode, mapped.sqlite_errorname) == (code, name)  # type: ignore[attr-defined]


def test_an_error_without_a_code_keeps_its_dbapi_class() -> None:
    error = sqlite3.ProgrammingError("Incorrect number of bindings supplied.")
    assert str(error) == "Incorrect number of bindings supplied."
    backends.check_uncoded_error_mapped(
        django_error, error, utils.ProgrammingError, "sqlite_errorcode"
    )


def test_a_busy_database_names_the_option_to_raise() -> None:
    mapped = django_error(error(5, "SQLITE_BUSY", "database is locked"))
    assert str(mapped).startswith("database is locked (another connection held the database's")
    assert "raise OPTIONS['timeout']" in str(mapped)


def test_the_lock_wait_doubles_up_to_its_timeout_for_shared_cache_locks_only() -> None:
    locked = error(262, "SQLITE_LOCKED_SHAREDCACHE")
    wait = LockWait(timeout=0.1)
    assert wait.delay(error(5, "SQLITE_BUSY"), now=0.0) is None
    delays = [wait.delay(locked, now=0.0) for _ in range(8)]
    assert delays == [0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.05, 0.05]
    assert wait.delay(locked, now=0.09) == pytest.approx(0.01)
    assert wait.delay(locked, now=0.1) is None

"""Django settings for vinyl's tests.

Six aliases on three databases: ``default``, ``mysql`` and ``sqlite`` are Django's own
backends (the oracle every vinyl result is compared with); ``vinyl_pg``, ``vinyl_mysql`` and
``vinyl_sqlite`` are the same databases through vinyl's ENGINEs. The SQLite database is a
file of this test process's own in the temporary folder, created (and migrated) only when a
test asks for it (the plugin's ``sqlite_database`` fixture).
"""

from __future__ import annotations

from typing import Any

import pymysql

from vinyl_testing import servers

# Django's MySQL backend is the oracle on MariaDB, on mysqlclient when it is installed (as a
# project's would be); else PyMySQL stands in for it.
try:
    import MySQLdb  # type: ignore[import-untyped]  # noqa: F401
except ImportError:
    pymysql.install_as_MySQLdb()

PG = servers.postgresql()
MYSQL = servers.mysql()
SQLITE_NAME = servers.sqlite_path()


def _database(engine: str, server: servers.Server, **options: object) -> dict[str, object]:
    return {
        "ENGINE": engine,
        "NAME": server.name,
        "USER": server.user,
        "PASSWORD": server.password,
        "HOST": server.host,
        "PORT": str(server.port),
        "OPTIONS": dict(options),
        "TEST": {"NAME": server.name},
    }


DATABASES: dict[str, dict[str, Any]] = {
    "default": _database("django.db.backends.postgresql", PG),
    "vinyl_pg": _database("vinyl.postgresql_backend", PG, pool_max_size=5),
    "mysql": _database("django.db.backends.mysql", MYSQL, charset="utf8mb4"),
    "vinyl_mysql": _database("vinyl.mysql_backend", MYSQL, pool_max_size=5, charset="utf8mb4"),
    "sqlite": {"ENGINE": "django.db.backends.sqlite3", "NAME": SQLITE_NAME, "TEST": {}},
    "vinyl_sqlite": {
        "ENGINE": "vinyl.sqlite3_backend",
        "NAME": SQLITE_NAME,
        "OPTIONS": {"pool_max_size": 5},
        "TEST": {},
    },
}

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.postgres",
    "vinyl_testapp",
]

DATABASE_ROUTERS = ["vinyl_testing.routers.VendorRouter"]

SECRET_KEY = "vinyl-tests"
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

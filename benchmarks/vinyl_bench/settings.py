"""Django settings of the benchmark: its own databases, named ``vinyl_bench`` by default.

Server addresses come from the same ``VINYL_PG_*`` / ``VINYL_MYSQL_*`` environment
variables as the tests; ``VINYL_BENCH_NAME`` names the database on both servers (the
``--quick`` test uses its own, so it never collides with a full run).

Six aliases: ``default``, ``mysql`` and ``sqlite`` are Django's own backends (Django's
contenders, and the seeding); ``vinyl_pg``, ``vinyl_mysql`` and ``vinyl_sqlite`` are the
same databases through vinyl.

SQLite has no server: its database is the file ``<VINYL_BENCH_NAME>.sqlite3`` in
``VINYL_BENCH_SQLITE_DIR`` (default ``vinyl_bench`` in the system's temp dir), in WAL
mode (vinyl-sqlite's default, and kept in the file, so Django's connection and the raw
drivers run in it too). It stays after a run, as the servers' databases do, so a profile
can read it. Django's alias waits for the write lock as vinyl's does (``timeout``) and
takes it when a transaction begins (``transaction_mode``: Django's own advice for
concurrent writers; with a plain ``BEGIN`` two ``atomic()`` blocks that read, then write,
fail with "database is locked").
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

try:
    # mysqlclient, when it is installed, is what Django's MySQL backend prefers.
    import MySQLdb  # noqa: F401
except ImportError:
    import pymysql

    pymysql.install_as_MySQLdb()

NAME = os.environ.get("VINYL_BENCH_NAME", "vinyl_bench")
#: Connections in each async pool, and threads of the sync contenders in W2 and W9. Fewer
#: in CI (``VINYL_BENCH_POOL_SIZE``): two quick runs beside other suites would pass
#: PostgreSQL's 100 connections (each of the six contenders' processes holds its own).
POOL_SIZE = int(os.environ.get("VINYL_BENCH_POOL_SIZE", "10"))


def server(prefix: str, port: int, user: str) -> dict[str, str]:
    """Return the connection settings of one server from its environment variables."""
    return {
        "NAME": NAME,
        "HOST": os.environ.get(f"{prefix}_HOST", "127.0.0.1"),
        "PORT": os.environ.get(f"{prefix}_PORT", str(port)),
        "USER": os.environ.get(f"{prefix}_USER", user),
        "PASSWORD": os.environ.get(f"{prefix}_PASSWORD", ""),
    }


PG = server("VINYL_PG", 5432, "postgres")
MYSQL = server("VINYL_MYSQL", 3306, "root")
VINYL_POOL = {"pool_min_size": POOL_SIZE, "pool_max_size": POOL_SIZE}
SQLITE_DIR = Path(
    os.environ.get("VINYL_BENCH_SQLITE_DIR") or Path(tempfile.gettempdir()) / "vinyl_bench"
)
SQLITE_FILE = SQLITE_DIR / f"{NAME}.sqlite3"
#: vinyl-sqlite's defaults, spelt out for Django's alias (whose own are 5 s and ``BEGIN``).
SQLITE_TIMEOUT = 20.0
SQLITE_TRANSACTION_MODE = "IMMEDIATE"

DATABASES = {
    "default": {**PG, "ENGINE": "django.db.backends.postgresql"},
    "vinyl_pg": {**PG, "ENGINE": "vinyl.postgresql_backend", "OPTIONS": VINYL_POOL},
    "mysql": {**MYSQL, "ENGINE": "django.db.backends.mysql", "OPTIONS": {"charset": "utf8mb4"}},
    "vinyl_mysql": {
        **MYSQL,
        "ENGINE": "vinyl.mysql_backend",
        "OPTIONS": {**VINYL_POOL, "charset": "utf8mb4"},
    },
    "sqlite": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(SQLITE_FILE),
        "OPTIONS": {"timeout": SQLITE_TIMEOUT, "transaction_mode": SQLITE_TRANSACTION_MODE},
    },
    # vinyl-sqlite's defaults: WAL, a 20 s busy timeout, BEGIN IMMEDIATE.
    "vinyl_sqlite": {
        "ENGINE": "vinyl.sqlite3_backend",
        "NAME": str(SQLITE_FILE),
        "OPTIONS": VINYL_POOL,
    },
}

# vinyl.model imports contenttypes (generic relations), which must be an installed app.
INSTALLED_APPS = ["django.contrib.contenttypes", "benchapp"]
SECRET_KEY = "vinyl-bench"
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

"""Django settings of the benchmark: its own databases, named ``vinyl_bench`` by default.

Server addresses come from the same ``VINYL_PG_*`` / ``VINYL_MYSQL_*`` environment
variables as the tests; ``VINYL_BENCH_NAME`` names the database on both servers (the
``--quick`` test uses its own, so it never collides with a full run).

Four aliases: ``default`` and ``mysql`` are Django's own backends (Django's contenders,
and the seeding); ``vinyl_pg`` and ``vinyl_mysql`` are the same databases through vinyl.
"""

from __future__ import annotations

import os

try:
    # mysqlclient, when it is installed, is what Django's MySQL backend prefers.
    import MySQLdb  # noqa: F401
except ImportError:
    import pymysql

    pymysql.install_as_MySQLdb()

NAME = os.environ.get("VINYL_BENCH_NAME", "vinyl_bench")
#: Connections in each async pool, and threads of the sync contenders in W2.
POOL_SIZE = 10


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

DATABASES = {
    "default": {**PG, "ENGINE": "django.db.backends.postgresql"},
    "vinyl_pg": {**PG, "ENGINE": "vinyl.postgresql_backend", "OPTIONS": VINYL_POOL},
    "mysql": {**MYSQL, "ENGINE": "django.db.backends.mysql", "OPTIONS": {"charset": "utf8mb4"}},
    "vinyl_mysql": {
        **MYSQL,
        "ENGINE": "vinyl.mysql_backend",
        "OPTIONS": {**VINYL_POOL, "charset": "utf8mb4"},
    },
}

# vinyl.model imports contenttypes (generic relations), which must be an installed app.
INSTALLED_APPS = ["django.contrib.contenttypes", "benchapp"]
SECRET_KEY = "vinyl-bench"
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

"""Django settings for vinyl's tests.

Four aliases on two servers: ``default`` and ``mysql`` are Django's own backends (the
oracle every vinyl result is compared with); ``vinyl_pg`` and ``vinyl_mysql`` are the same
databases through vinyl's ENGINEs.
"""

from __future__ import annotations

import pymysql

from vinyl_testing import servers

# Django's MySQL backend is the oracle on MariaDB; PyMySQL stands in for mysqlclient.
pymysql.install_as_MySQLdb()

PG = servers.postgresql()
MYSQL = servers.mysql()


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


DATABASES = {
    "default": _database("django.db.backends.postgresql", PG),
    "vinyl_pg": _database("vinyl.postgresql_backend", PG, pool_max_size=5),
    "mysql": _database("django.db.backends.mysql", MYSQL, charset="utf8mb4"),
    "vinyl_mysql": _database("vinyl.mysql_backend", MYSQL, pool_max_size=5, charset="utf8mb4"),
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

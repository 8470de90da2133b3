"""A vinyl alias on the same database as a Django alias is that alias's test mirror.

``manage.py test`` on the README's settings is tested end to end in ``tests/django_project``;
these tests pin what "the same database" means (``vinyl.query.creation``).
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys

from django.db import connections
from django.db.utils import load_backend
from vinyl.query.creation import database_identity, django_twin


def test_local_host_spellings_and_the_default_port_are_one_server() -> None:
    # The README's default names no HOST or PORT; its vinyl alias names 127.0.0.1:5432.
    readme_default = {"HOST": "", "PORT": "", "NAME": "shop"}
    readme_vinyl = {"HOST": "127.0.0.1", "PORT": "5432", "NAME": "shop"}
    assert database_identity("postgresql", readme_default) == database_identity(
        "postgresql", readme_vinyl
    )
    socket = {"HOST": "/run/mysqld/mysqld.sock", "NAME": "shop"}
    local = {"HOST": "localhost", "PORT": 3306, "NAME": "shop"}
    assert database_identity("mysql", socket) == database_identity("mysql", local)


def test_another_name_server_port_or_vendor_is_another_database() -> None:
    base = {"HOST": "127.0.0.1", "PORT": "5432", "NAME": "shop"}
    others = [{**base, "NAME": "shop2"}, {**base, "HOST": "db.example"}, {**base, "PORT": "5433"}]
    identity = database_identity("postgresql", base)
    assert [database_identity("postgresql", other) == identity for other in others] == [False] * 3
    assert database_identity("mysql", base) != identity


def test_the_vinyl_alias_without_test_settings_mirrors_the_django_alias() -> None:
    settings_dict = copy.deepcopy(connections.settings["vinyl_pg"])
    settings_dict["TEST"]["NAME"] = None
    wrapper = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, "vinyl_pg")
    assert wrapper.settings_dict["TEST"]["MIRROR"] == "default"


def test_a_test_name_of_its_own_keeps_the_alias_apart() -> None:
    # vinyl's own test settings give vinyl_pg a TEST NAME (default's): no mirror is made.
    assert django_twin(connections["vinyl_pg"]) == "default"
    assert connections["vinyl_pg"].settings_dict["TEST"]["MIRROR"] is None
    assert django_twin(connections["vinyl_mysql"]) == "mysql"


#: A process with settings on both servers that makes only its MariaDB aliases' wrappers.
MARIADB_ONLY = """
import sys

import pymysql
from django.conf import settings

pymysql.install_as_MySQLdb()
server = {"NAME": "shop", "USER": "root", "HOST": "127.0.0.1"}
settings.configure(
    DATABASES={
        "default": {"ENGINE": "django.db.backends.postgresql", **server, "PORT": "5432"},
        "vinyl_pg": {"ENGINE": "vinyl.postgresql_backend", **server, "PORT": "5432"},
        "mysql": {"ENGINE": "django.db.backends.mysql", **server, "PORT": "3306"},
        "vinyl_mysql": {"ENGINE": "vinyl.mysql_backend", **server, "PORT": "3306"},
    }
)
import django
from django.db import connections

django.setup()
print(connections["vinyl_mysql"].settings_dict["TEST"]["MIRROR"])
print(sorted(name for name in ("asyncpg", "psycopg", "psycopg2") if name in sys.modules))
"""


def test_looking_for_the_twin_loads_no_backend_of_another_server() -> None:
    # Each wrapper looks for its twin: a MariaDB-only process must not import PostgreSQL's
    # drivers because DATABASES also names a PostgreSQL database.
    environment = {
        key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"
    }
    # Absolute: under Pants, sys.path names the source roots relative to the sandbox.
    environment["PYTHONPATH"] = os.pathsep.join(map(os.path.abspath, sys.path))
    result = subprocess.run(
        [sys.executable, "-c", MARIADB_ONLY],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["mysql", "[]"], result.stdout

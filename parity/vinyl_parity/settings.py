"""Django settings for ``tests/runtests.py``, one database vendor and one mode at a time.

``parity/run.py`` sets the environment:

- ``VINYL_PARITY_VENDOR``: ``postgresql`` or ``mysql``;
- ``VINYL_PARITY_MODE``: ``django`` (mode 1: Django's ENGINE), ``engine`` (mode 2: vinyl's
  ENGINE) or ``vinyl`` (mode 3: vinyl's ENGINE, every test model's managers replaced by
  vinyl_sync's ``VinylManager``);
- ``VINYL_PARITY_NAME``: the database name; Django's test databases are ``test_<NAME>``,
  ``test_<NAME>_other`` and their clones per worker;
- ``VINYL_PARITY_RESULTS``: the JSON file the test runner writes.

The servers come from the tests' ``VINYL_PG_*`` / ``VINYL_MYSQL_*`` variables, with the
same defaults (127.0.0.1, ``postgres`` / ``root``, no password).
"""

import os

VENDOR = os.environ.get("VINYL_PARITY_VENDOR", "postgresql")
MODE = os.environ.get("VINYL_PARITY_MODE", "django")
NAME = os.environ.get("VINYL_PARITY_NAME", "vinyl_parity")

if VENDOR == "postgresql":
    ENGINE = "django.db.backends.postgresql" if MODE == "django" else "vinyl.postgresql_backend"
    SERVER = {
        "HOST": os.environ.get("VINYL_PG_HOST", "127.0.0.1"),
        "PORT": os.environ.get("VINYL_PG_PORT", "5432"),
        "USER": os.environ.get("VINYL_PG_USER", "postgres"),
        "PASSWORD": os.environ.get("VINYL_PG_PASSWORD", ""),
    }
    OPTIONS: dict[str, object] = {}
    TEST: dict[str, object] = {}
elif VENDOR == "mysql":
    # Django's MySQL ENGINE wants mysqlclient, which needs the MariaDB C headers; without
    # it, PyMySQL stands in as MySQLdb in every mode (as vinyl's ENGINE does itself), so
    # modes 1 and 2 differ by the ENGINE alone.
    try:
        import MySQLdb  # noqa: F401
    except ImportError:
        import pymysql

        pymysql.install_as_MySQLdb()
    ENGINE = "django.db.backends.mysql" if MODE == "django" else "vinyl.mysql_backend"
    SERVER = {
        "HOST": os.environ.get("VINYL_MYSQL_HOST", "127.0.0.1"),
        "PORT": os.environ.get("VINYL_MYSQL_PORT", "3306"),
        "USER": os.environ.get("VINYL_MYSQL_USER", "root"),
        "PASSWORD": os.environ.get("VINYL_MYSQL_PASSWORD", ""),
    }
    OPTIONS = {"charset": "utf8mb4"}
    TEST = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"}
else:
    raise RuntimeError(f"VINYL_PARITY_VENDOR is {VENDOR!r}; use 'postgresql' or 'mysql'.")

DATABASES = {
    alias: {
        "ENGINE": ENGINE,
        "NAME": name,
        **SERVER,
        "OPTIONS": dict(OPTIONS),
        "TEST": dict(TEST),
    }
    for alias, name in (("default", NAME), ("other", f"{NAME}_other"))
}

# Django's own example settings for its test suite (tests/test_sqlite.py), plus the runner.
SECRET_KEY = "django_tests_secret_key"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
USE_TZ = False
TEST_RUNNER = "vinyl_parity.runner.ParityRunner"

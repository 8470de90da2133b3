"""Settings of the bookshop: one database, on a vinyl ENGINE.

SQLite by default, in ``db.sqlite3`` beside ``manage.py``: no server needed. Set
``BOOKSHOP_DATABASE_URL`` to use a server instead::

    BOOKSHOP_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bookshop
    BOOKSHOP_DATABASE_URL=mysql://root@127.0.0.1:3306/bookshop
    BOOKSHOP_DATABASE_URL=sqlite:////tmp/bookshop.sqlite3

The one alias, ``default``, is a vinyl ENGINE, which is Django's own backend too: Django's
ORM (``migrate``, the a-method views, ``Book.objects``) and vinyl (``Book.avinyl``) both run
on it, each on connections of its own.
"""

import os
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

ENGINES = {
    "sqlite": "vinyl.sqlite3_backend",
    "postgresql": "vinyl.postgresql_backend",
    "postgres": "vinyl.postgresql_backend",
    "mysql": "vinyl.mysql_backend",
    "mariadb": "vinyl.mysql_backend",
}
POOL = {"pool_min_size": 1, "pool_max_size": 10, "pool_timeout": 30}


def database(url: str) -> dict[str, Any]:
    """Return the ``DATABASES`` entry *url* names (``scheme://user:password@host:port/name``)."""
    parts = urlsplit(url)
    if parts.scheme not in ENGINES:
        raise ImproperlyConfigured(
            f"BOOKSHOP_DATABASE_URL={url!r}: the scheme must be one of {', '.join(ENGINES)}."
        )
    if parts.scheme == "sqlite":
        return {"ENGINE": ENGINES["sqlite"], "NAME": unquote(parts.path), "OPTIONS": POOL}
    return {
        "ENGINE": ENGINES[parts.scheme],
        "NAME": unquote(parts.path.lstrip("/")),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "127.0.0.1",
        "PORT": str(parts.port or ""),
        "OPTIONS": POOL,
    }


DATABASES = {
    "default": database(
        os.environ.get("BOOKSHOP_DATABASE_URL", f"sqlite://{BASE_DIR / 'db.sqlite3'}")
    )
}

DEBUG = os.environ.get("DJANGO_DEBUG") == "1"
# An example served on this machine only: a real site keeps its key out of the repository.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "bookshop-example-not-a-secret")
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]

INSTALLED_APPS = ["catalog"]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
]
ROOT_URLCONF = "bookshop.urls"
ASGI_APPLICATION = "bookshop.asgi.application"
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}]

USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Errors of views (500s) on the console, with DEBUG off too.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django.request": {"handlers": ["console"], "level": "ERROR"}},
}

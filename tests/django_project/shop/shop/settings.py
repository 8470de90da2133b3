"""The README's settings: Django's ENGINE on ``default``, vinyl's on ``vinyl``, one database.

No ``TEST`` keys: the vinyl alias shares ``default``'s test database by itself. The server
and the database come from the environment (``SHOP_VENDOR``: ``postgresql`` or ``mysql``,
``SHOP_HOST``/``PORT``/``USER``/``PASSWORD``/``NAME``).
"""

import os

import pymysql

# Django's own MySQL ENGINE on default runs on PyMySQL here (no mysqlclient needed).
pymysql.install_as_MySQLdb()

VENDOR = os.environ.get("SHOP_VENDOR", "postgresql")
SERVER = {
    "NAME": os.environ.get("SHOP_NAME", "shop"),
    "USER": os.environ.get("SHOP_USER", "postgres" if VENDOR == "postgresql" else "root"),
    "PASSWORD": os.environ.get("SHOP_PASSWORD", ""),
    "HOST": os.environ.get("SHOP_HOST", "127.0.0.1"),
    "PORT": os.environ.get("SHOP_PORT", "5432" if VENDOR == "postgresql" else "3306"),
}

DATABASES = {
    "default": {"ENGINE": f"django.db.backends.{VENDOR}", **SERVER},
    "vinyl": {
        "ENGINE": f"vinyl.{VENDOR}_backend",
        **SERVER,
        "OPTIONS": {"pool_min_size": 1, "pool_max_size": 10, "pool_timeout": 30},
    },
}

INSTALLED_APPS = ["django.contrib.contenttypes", "books"]
SECRET_KEY = "shop-tests"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

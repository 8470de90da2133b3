"""Sets Django up for pytest and enables vinyl's fixtures (``vinyl_db``, ``avinyl_db``)."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
django.setup()

pytest_plugins = ["vinyl_async.pytest_plugin"]

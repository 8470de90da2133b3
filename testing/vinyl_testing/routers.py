"""The test suite's database router: PostgreSQL-only models stay on PostgreSQL aliases.

A model defined in a ``vinyl_testapp.models.pg_*`` module uses PostgreSQL-only fields
(arrays, ranges, hstore): ``migrate`` creates its table only where the alias's vendor is
PostgreSQL, and the test plugin flushes it only there.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.db import connections, models

PG_ONLY_MODULE_PREFIX = "vinyl_testapp.models.pg_"


def is_pg_only(model: type[models.Model]) -> bool:
    """Return whether *model* can only live on a PostgreSQL database."""
    return model.__module__.startswith(PG_ONLY_MODULE_PREFIX)


class VendorRouter:
    """Keep PostgreSQL-only models off other vendors' databases."""

    def allow_migrate(
        self, db: str, app_label: str, model_name: str | None = None, **hints: Any
    ) -> bool | None:
        """Refuse a PostgreSQL-only model on a database of another vendor."""
        if model_name is None:
            return None
        model = hints.get("model") or apps.get_model(app_label, model_name)
        if is_pg_only(model):
            return connections[db].vendor == "postgresql"
        return None

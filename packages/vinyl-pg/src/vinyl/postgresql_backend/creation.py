"""``DatabaseCreation`` of the ``vinyl.postgresql_backend`` ENGINE.

Django's PostgreSQL test-database creation; an alias on the same database as one of
Django's shares that alias's test database (``vinyl.query.creation``).
"""

from __future__ import annotations

from django.db.backends.postgresql.creation import (
    DatabaseCreation as PostgreSQLDatabaseCreation,
)
from vinyl.query.creation import VinylDatabaseCreationMixin

__all__ = ["DatabaseCreation"]


class DatabaseCreation(VinylDatabaseCreationMixin, PostgreSQLDatabaseCreation):
    """Django's PostgreSQL ``DatabaseCreation``, sharing a Django alias's test database."""

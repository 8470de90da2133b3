"""``DatabaseCreation`` of the ``vinyl.sqlite3_backend`` ENGINE.

Django's SQLite test-database creation; an alias on the same database as one of Django's
shares that alias's test database (``vinyl.query.creation``), the in-memory one included
(``file:memorydb_<alias>?mode=memory&cache=shared``, which vinyl's pool shares).
"""

from __future__ import annotations

from django.db.backends.sqlite3.creation import DatabaseCreation as SQLiteDatabaseCreation
from vinyl.query.creation import VinylDatabaseCreationMixin

__all__ = ["DatabaseCreation"]


class DatabaseCreation(VinylDatabaseCreationMixin, SQLiteDatabaseCreation):
    """Django's SQLite ``DatabaseCreation``, sharing a Django alias's test database."""

"""``DatabaseCreation`` of the ``vinyl.mysql_backend`` ENGINE.

Django's MySQL test-database creation; an alias on the same database as one of Django's
shares that alias's test database (``vinyl.query.creation``).
"""

from __future__ import annotations

from django.db.backends.mysql.creation import DatabaseCreation as MySQLDatabaseCreation
from vinyl.query.creation import VinylDatabaseCreationMixin

__all__ = ["DatabaseCreation"]


class DatabaseCreation(VinylDatabaseCreationMixin, MySQLDatabaseCreation):
    """Django's MySQL ``DatabaseCreation``, sharing a Django alias's test database."""

"""Test databases of a vinyl alias: the test database of the Django alias on the same database.

The README's settings give ``default`` (Django's ENGINE) and ``vinyl`` (vinyl's ENGINE) the
same ``NAME`` on the same server. Django creates a test database per alias unless the
aliases agree on ``creation.test_db_signature()``, which includes the ENGINE: it would
create ``test_<NAME>`` twice and fail ("database … is being accessed by other users"). And
a test whose ``databases`` leaves the vinyl alias out would leave it on the real database.

So a vinyl alias on the same database as one of Django's aliases is that alias's test
mirror, as if its settings said ``"TEST": {"MIRROR": "default"}``: Django creates the test
database once, for the Django alias, and points the vinyl alias at it in every test run,
whatever the tests' ``databases``. "The same database" is the same vendor, server and
``NAME``: ``HOST`` spellings of the local machine (``""``, ``localhost``, ``127.0.0.1``,
``::1``, a socket path) are one server, and an empty ``PORT`` is the vendor's default port.
A vinyl alias whose ``TEST`` names a ``NAME`` or a ``MIRROR`` keeps it; for a server known
under two other names, write the ``MIRROR`` yourself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.utils import load_backend
from vinyl.query.backend import VinylDatabaseWrapperMixin
from vinyl.query.djangoatomic import mirror_in_tests

__all__ = ["VinylDatabaseCreationMixin", "database_identity", "django_twin"]

#: ``HOST`` values that all reach a server on the local machine.
LOCAL_HOSTS = frozenset({"", "localhost", "127.0.0.1", "::1"})
#: The port a client uses when ``PORT`` is empty, per Django vendor.
DEFAULT_PORTS = {"postgresql": "5432", "mysql": "3306"}


def database_identity(vendor: str, settings_dict: Mapping[str, Any]) -> tuple[str, str, str, str]:
    """Return (vendor, server, port, ``NAME``): equal for two aliases on one database."""
    host = settings_dict.get("HOST") or ""
    server = "localhost" if host in LOCAL_HOSTS or host.startswith("/") else host
    port = str(settings_dict.get("PORT") or DEFAULT_PORTS.get(vendor, ""))
    return (vendor, server, port, settings_dict.get("NAME") or "")


def django_twin(connection: BaseDatabaseWrapper) -> str | None:
    """Return the alias with one of Django's ENGINEs on *connection*'s database, if any."""
    identity = database_identity(connection.vendor, connection.settings_dict)
    # From the settings, not connections[alias]: this runs while a wrapper is being made.
    for alias, settings_dict in connections.settings.items():
        if alias == connection.alias or settings_dict.get("TEST", {}).get("MIRROR"):
            continue
        # Compared first as if of this alias's vendor, which a twin shares: only an alias on
        # the same server, port and NAME has its backend loaded, to learn its vendor. Loading
        # every alias's backend imported the drivers of every server in DATABASES (asyncpg
        # in a process that uses MariaDB only).
        if database_identity(connection.vendor, settings_dict) != identity:
            continue
        wrapper_class = load_backend(settings_dict["ENGINE"]).DatabaseWrapper
        if not issubclass(wrapper_class, VinylDatabaseWrapperMixin) and (
            database_identity(wrapper_class.vendor, settings_dict) == identity
        ):
            return alias
    return None


class VinylDatabaseCreationMixin:
    """Mixed into a vinyl ENGINE's ``DatabaseCreation`` (before Django's vendor class).

    Makes the alias the test mirror of its Django twin (:func:`django_twin`), and keeps
    vinyl on the test database: Django renames the database of a connection
    (``settings_dict["NAME"]``) when it creates, mirrors, clones for a worker or destroys
    a test database, while vinyl reads ``settings.DATABASES`` and keeps pools per alias.
    Each rename is copied there, vinyl's backends are rebuilt and vinyl_sync's pools
    closed (one opened before would go on writing to the real database). A mirror is
    recorded, so that vinyl_sync joins the primary's ``atomic()`` (Django's ``TestCase``):
    ``vinyl.query.djangoatomic``.
    """

    connection: Any

    def __init__(self, connection: BaseDatabaseWrapper) -> None:
        super().__init__(connection)  # type: ignore[call-arg]
        test = connection.settings_dict.get("TEST")
        # Only an alias of DATABASES: not the wrappers vinyl.pg/mysql.to_sql make alone.
        configured = settings.configured and connection.alias in settings.DATABASES
        if configured and test is not None and not test.get("MIRROR") and not test.get("NAME"):
            test["MIRROR"] = django_twin(connection)

    def create_test_db(self, *args: Any, **kwargs: Any) -> str:
        name: str = super().create_test_db(*args, **kwargs)  # type: ignore[misc]
        self._vinyl_follow_name()
        return name

    def set_as_test_mirror(self, primary_settings_dict: dict[str, Any]) -> None:
        super().set_as_test_mirror(primary_settings_dict)  # type: ignore[misc]
        primary = self.connection.settings_dict["TEST"].get("MIRROR")
        if primary:
            # vinyl_sync joins the primary's atomic(), which holds the test's rows (Django's
            # TestCase opens one here too, on a connection that does not see them).
            mirror_in_tests(self.connection.alias, primary)
        self._vinyl_follow_name()

    def setup_worker_connection(self, _worker_id: int) -> None:
        super().setup_worker_connection(_worker_id)  # type: ignore[misc]
        self._vinyl_follow_name()

    def destroy_test_db(self, *args: Any, **kwargs: Any) -> None:
        super().destroy_test_db(*args, **kwargs)  # type: ignore[misc]
        self._vinyl_follow_name()

    def _vinyl_follow_name(self) -> None:
        alias = self.connection.alias
        # The same dict unless the ENGINE's wrapper copied it (vinyl-pg does, for OPTIONS).
        settings.DATABASES[alias]["NAME"] = self.connection.settings_dict["NAME"]
        # vinyl forgets its backends when DATABASES changes (override_settings sends this;
        # enter=False: Django's warning about overriding DATABASES is meant for tests).
        setting_changed.send(
            sender=type(self), setting="DATABASES", value=settings.DATABASES, enter=False
        )
        # Imported here: every ENGINE imports this module, and an async process never loads
        # vinyl_sync otherwise.
        from vinyl.query import _sync

        _sync.close_pools()

"""pytest fixtures for tests of code that runs through vinyl (needs pytest-asyncio).

Enable them in a ``conftest.py`` that sets Django up first::

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
    django.setup()
    pytest_plugins = ["vinyl_async.pytest_plugin"]  # or "vinyl_sync.pytest_plugin"

- ``vinyl_test_databases`` (session): creates the test databases as ``manage.py test``
  does (a vinyl alias on the same database as a Django alias is its test mirror),
  and destroys them at the end of the session.
- ``vinyl_db``: isolates one test as ``vinyl_async.testing.TestCase`` does: its writes
  commit, and every table is emptied after it; the migrations' rows are reloaded before it.
- ``avinyl_db``: ``vinyl_db`` for an ``async def`` test; also closes vinyl_async's pools of
  the test's event loop at its end, before pytest-asyncio closes the loop.

Not for use with pytest-django, which creates the test databases itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from asgiref.sync import sync_to_async  # pants: no-infer-dep
from django.db import connections
from django.test.utils import (
    setup_databases,
    setup_test_environment,
    teardown_databases,
    teardown_test_environment,
)
from vinyl.query import _async, _sync
from vinyl.query.testing import empty_tables, restore_migrated_rows

__all__ = ["avinyl_db", "vinyl_db", "vinyl_test_databases"]


@pytest.fixture(scope="session")
def vinyl_test_databases() -> Iterator[None]:
    """Create the test databases for the session, as ``manage.py test`` does."""
    setup_test_environment()
    old_config = setup_databases(verbosity=0, interactive=False)
    yield
    _sync.close_pools()
    # Django's a-methods called from async tests ran in asgiref's worker thread (asgiref
    # comes with Django: no-infer-dep above, for Pants), on a connection of that thread:
    # close it too, or the test database cannot be dropped.
    asyncio.run(sync_to_async(connections.close_all)())
    teardown_databases(old_config, verbosity=0)
    teardown_test_environment()


@pytest.fixture
def vinyl_db(vinyl_test_databases: None) -> Iterator[None]:
    """Give the test the database as the migrations left it; empty every table after it."""
    # Not the test mirrors (a vinyl alias on a Django alias's database): their database's.
    aliases = [
        alias for alias in connections if not connections[alias].settings_dict["TEST"]["MIRROR"]
    ]
    restore_migrated_rows(aliases)
    yield
    empty_tables(aliases)
    # As Django's TransactionTestCase: the next test starts on fresh connections.
    connections.close_all()


@pytest_asyncio.fixture
async def avinyl_db(vinyl_db: None) -> AsyncIterator[None]:
    """``vinyl_db``, closing vinyl_async's pools of the test's event loop at its end."""
    yield
    await _async.close_pools()

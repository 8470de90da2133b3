"""pytest fixtures for code that runs through vinyl: name this module in ``pytest_plugins``.

``vinyl_db`` (a sync test) and ``avinyl_db`` (an ``async def`` test, pytest-asyncio) isolate
each test; ``vinyl_test_databases`` creates the test databases for the session.
"""

from vinyl.query.pytest_plugin import avinyl_db, vinyl_db, vinyl_test_databases

__all__ = ["avinyl_db", "vinyl_db", "vinyl_test_databases"]

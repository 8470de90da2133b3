"""Fixtures of vinyl-query's flavor tests (written async; the sync twin is generated)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from vinyl.query._async import close_pools


@pytest.fixture(autouse=True)
async def _fresh_pools() -> AsyncIterator[None]:
    """Close this flavor's pools after each test, so no test sees another's connections."""
    yield
    await close_pools()

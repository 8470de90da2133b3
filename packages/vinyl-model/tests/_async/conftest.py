"""Close vinyl's pools after each test: each test runs on its own event loop."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from vinyl_async import close_pools


@pytest.fixture(autouse=True)
async def _close_pools() -> AsyncIterator[None]:
    yield
    await close_pools()

"""Fixtures of vinyl-query's flavor tests (written async; the sync twin is generated)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings
from vinyl.query._async import close_pools
from vinyl_testing.plugin import DB


@pytest.fixture(autouse=True)
async def _fresh_pools() -> AsyncIterator[None]:
    """Close this flavor's pools after each test, so no test sees another's connections."""
    yield
    await close_pools()


@pytest.fixture
def extra_alias(db: DB) -> Iterator[Any]:
    """Yield a function adding a copy of the vinyl alias with other settings to DATABASES."""
    overrides: list[Any] = []

    def add(name: str, **changes: Any) -> str:
        entry = {**settings.DATABASES[db.vinyl], **changes}
        override = override_settings(DATABASES={**settings.DATABASES, name: entry})
        override.enable()
        overrides.append(override)
        return name

    yield add
    for override in reversed(overrides):
        override.disable()

"""The replay wrapper (``vinyl.model._replay``) compiles for the server a pool found.

It is made when a thread first compiles, usually before any pool has read the server's
version; what a pool then reads must reach it, as it reaches the backend's own wrapper.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db.backends.postgresql.features import DatabaseFeatures
from vinyl.model._replay import compile_wrapper, features
from vinyl.pg.server import known_version, record_version
from vinyl.postgresql_backend.base import DatabaseWrapper
from vinyl_testing.plugin import PG


def pg_features() -> DatabaseFeatures:
    found = features(PG.vinyl)
    assert isinstance(found, DatabaseFeatures)
    return found


@pytest.fixture
def pg_version_restored() -> Iterator[int]:
    before = known_version(PG.vinyl)
    yield before
    record_version(PG.vinyl, before)


def test_the_replay_wrappers_features_follow_the_version_a_pool_reads(
    pg_version_restored: int,
) -> None:
    # e.g. UUID7() is refused before PostgreSQL 18, ANY_VALUE() used from 16.
    wrapper = compile_wrapper(PG.vinyl)
    assert isinstance(wrapper, DatabaseWrapper)
    assert pg_features().is_postgresql_16 is (pg_version_restored >= 160000)
    record_version(PG.vinyl, 160002)
    assert pg_features().is_postgresql_16 is True
    assert wrapper.pg_version == 160002
    record_version(PG.vinyl, 150004)
    assert pg_features().is_postgresql_16 is False

"""Type parity on SQLite, new keys by RETURNING and by lastrowid (see ``check_parity``)."""

from __future__ import annotations

import pytest
from vinyl.query.databases import Backend
from vinyl_testapp.models import AllTypes, TypesOwner
from vinyl_testing._async.backends import (
    check_portable_types,
    check_read_with_owner,
    insert_through_vinyl,
)
from vinyl_testing.parity import portable_samples
from vinyl_testing.plugin import SQLITE

ALL_TYPES_SAMPLES = portable_samples()


@pytest.mark.parametrize("sample", list(ALL_TYPES_SAMPLES))
@pytest.mark.parametrize("use_tz", [True, False], ids=["use_tz", "naive"])
@pytest.mark.parametrize("returning", [True, False], ids=["returning", "lastrowid"])
async def test_portable_types(
    sample: str, use_tz: bool, returning: bool, backend: Backend, fresh_pools: None
) -> None:
    values = ALL_TYPES_SAMPLES[sample]
    await check_portable_types(backend, SQLITE, values, use_tz=use_tz, returning=returning)


async def test_big_auto_and_auto_keys(backend: Backend, fresh_pools: None) -> None:
    owner_pk = await insert_through_vinyl(
        backend, TypesOwner, {"name": "o", "rank": 1}, returning=True
    )
    item_pk = await insert_through_vinyl(backend, AllTypes, {"owner_id": owner_pk}, returning=False)
    await check_read_with_owner(SQLITE, item_pk)

"""Type parity on MariaDB, new keys from ``execute_insert`` (see ``check_parity``)."""

from __future__ import annotations

import datetime

import pytest
from vinyl.query.databases import Backend
from vinyl_testapp.models import AllTypes, TypesOwner
from vinyl_testing._async.backends import (
    check_portable_types,
    check_read_with_owner,
    insert_through_vinyl,
)
from vinyl_testing.parity import portable_samples
from vinyl_testing.plugin import MYSQL

#: MySQL's unsigned integers go further; its dates start at year 1000.
SAMPLES = portable_samples(
    positive=4294967295,
    positive_small=65535,
    positive_big=2**64 - 1,
    date=datetime.date(1000, 1, 1),
)


@pytest.mark.parametrize("sample", list(SAMPLES))
@pytest.mark.parametrize("use_tz", [True, False], ids=["use_tz", "naive"])
async def test_portable_types(
    sample: str, use_tz: bool, backend: Backend, fresh_pools: None
) -> None:
    await check_portable_types(backend, MYSQL, SAMPLES[sample], use_tz=use_tz, returning=False)


async def test_returning_and_last_insert_id_give_the_same_keys(
    backend: Backend, fresh_pools: None
) -> None:
    first = await insert_through_vinyl(
        backend, TypesOwner, {"name": "a", "rank": 1}, returning=False
    )
    second = await insert_through_vinyl(
        backend, TypesOwner, {"name": "b", "rank": 2}, returning=True
    )
    item_pk = await insert_through_vinyl(backend, AllTypes, {"owner_id": second}, returning=False)
    assert second == first + 1
    await check_read_with_owner(MYSQL, item_pk)

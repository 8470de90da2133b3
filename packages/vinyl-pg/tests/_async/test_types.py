"""Type parity on PostgreSQL, portable and PostgreSQL-only types (see ``check_parity``)."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db.backends.postgresql.psycopg_any import DateRange, DateTimeTZRange, NumericRange
from vinyl.query.databases import Backend
from vinyl_testapp.models import AllTypes, PgTypes, TypesOwner
from vinyl_testing._async.backends import (
    check_parity,
    check_portable_types,
    check_read_with_owner,
    insert_through_vinyl,
)
from vinyl_testing.parity import portable_samples
from vinyl_testing.plugin import PG

UTC = datetime.UTC

ALL_TYPES_SAMPLES = portable_samples()

PG_SAMPLES: dict[str, dict[str, Any]] = {
    "values": {
        "ints": [1, -2, 2147483647],
        "texts": ["a", "b%c", "", "quote'd"],
        "grid": [[1, 2], [3, 4]],
        "ips": ["10.0.0.1", "::1"],
        "int_range": NumericRange(1, 10),
        "big_range": NumericRange(2**40, None, "[)"),
        "decimal_range": NumericRange(Decimal("0.5"), Decimal("1.5"), "(]"),
        "date_range": DateRange(datetime.date(2024, 1, 1), datetime.date(2024, 2, 1)),
        "datetime_range": DateTimeTZRange(
            datetime.datetime(2024, 1, 1, tzinfo=UTC), datetime.datetime(2024, 1, 2, tzinfo=UTC)
        ),
        "hstore": {"key": "value", "empty": "", "null": None},
        "inet": "192.168.1.1",
    },
    "empty_and_nulls": {"ints": [], "texts": [], "int_range": NumericRange(empty=True)},
}


@pytest.mark.parametrize("sample", list(ALL_TYPES_SAMPLES))
@pytest.mark.parametrize("use_tz", [True, False], ids=["use_tz", "naive"])
async def test_portable_types(
    sample: str, use_tz: bool, backend: Backend, fresh_pools: None
) -> None:
    values = ALL_TYPES_SAMPLES[sample]
    await check_portable_types(backend, PG, values, use_tz=use_tz, returning=True)


@pytest.mark.parametrize("sample", list(PG_SAMPLES))
async def test_postgresql_types(sample: str, backend: Backend, fresh_pools: None) -> None:
    await check_parity(backend, PG, PgTypes, PG_SAMPLES[sample], returning=True)


async def test_big_auto_and_auto_keys(backend: Backend, fresh_pools: None) -> None:
    owner_pk = await insert_through_vinyl(
        backend, TypesOwner, {"name": "o", "rank": 1}, returning=True
    )
    item_pk = await insert_through_vinyl(backend, AllTypes, {"owner_id": owner_pk}, returning=True)
    await check_read_with_owner(PG, item_pk)

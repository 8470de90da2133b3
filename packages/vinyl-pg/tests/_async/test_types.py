"""Type parity: what vinyl writes and reads back equals what Django writes and reads.

For each sample, Django writes one row and reads it back (the oracle); vinyl writes
another row with the same values (Django's INSERT compiler, vinyl's driver) and reads it
back through vinyl's compile/fetch/decode. Every field must compare equal, with the same
Python class (or a subclass), and each side must read the other's row the same way.
Datetimes are checked with ``USE_TZ`` on and off.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from django.db.backends.postgresql.psycopg_any import DateRange, DateTimeTZRange, NumericRange
from django.db.models import JSONField, Value
from django.test import override_settings
from vinyl.query._async import close_pools, fetch_queryset
from vinyl.query.databases import Backend
from vinyl_testapp.models import AllTypes, PgTypes, TypesOwner
from vinyl_testing._async.backends import check_parity, insert_through_vinyl
from vinyl_testing.plugin import PG

UTC = datetime.UTC

ALL_TYPES_SAMPLES: dict[str, dict[str, Any]] = {
    "values": {
        "char": "ça % _ 'quoted'",
        "text": "line\nbreak \\ backslash",
        "small": -32768,
        "integer": 2147483647,
        "big": -(2**63),
        "positive": 0,
        "positive_small": 32767,
        "positive_big": 2**63 - 1,
        "decimal": Decimal("-12345678901234.123456"),
        "float": 1.0e-300,
        "boolean": False,
        "date": datetime.date(1, 1, 1),
        "datetime": datetime.datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=UTC),
        "time": datetime.time(0, 0, 0, 1),
        "duration": datetime.timedelta(days=-1, microseconds=1),
        "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "json": {"nested": {"list": [1, 2.5, "x", None, True]}, "empty": {}},
        "binary": b"\x00\xff\x00binary",
        "ip": "2001:db8::1",
    },
    "nulls": {},
    "json_null": {"json": Value(None, output_field=JSONField())},
    "json_scalars": {"json": [None, "null", 0, False, ""], "ip": "127.0.0.1"},
    "far_datetimes": {
        "datetime": datetime.datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
        "date": datetime.date(9999, 12, 31),
        "duration": datetime.timedelta(days=999999, seconds=86399),
    },
}

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


@pytest.fixture
async def fresh_pools(backend: Backend) -> AsyncIterator[None]:
    """Open pools inside the test (after its settings change) and close them after it."""
    await close_pools()
    yield
    await close_pools()


@pytest.mark.parametrize("sample", list(ALL_TYPES_SAMPLES))
@pytest.mark.parametrize("use_tz", [True, False], ids=["use_tz", "naive"])
async def test_portable_types(
    sample: str, use_tz: bool, backend: Backend, fresh_pools: None
) -> None:
    values = dict(ALL_TYPES_SAMPLES[sample])
    if not use_tz and "datetime" in values:
        values["datetime"] = values["datetime"].replace(tzinfo=None)
    with override_settings(USE_TZ=use_tz, TIME_ZONE="America/Chicago"):
        await check_parity(backend, PG, AllTypes, values, returning=True)


@pytest.mark.parametrize("sample", list(PG_SAMPLES))
async def test_postgresql_types(sample: str, backend: Backend, fresh_pools: None) -> None:
    await check_parity(backend, PG, PgTypes, PG_SAMPLES[sample], returning=True)


async def test_big_auto_and_auto_keys(backend: Backend, fresh_pools: None) -> None:
    owner_pk = await insert_through_vinyl(
        backend, TypesOwner, {"name": "o", "rank": 1}, returning=True
    )
    item_pk = await insert_through_vinyl(backend, AllTypes, {"owner_id": owner_pk}, returning=True)
    [item] = await fetch_queryset(
        AllTypes.objects.using(PG.vinyl).select_related("owner").filter(pk=item_pk)
    )
    expected = AllTypes.objects.using(PG.django).select_related("owner").get(pk=item_pk)
    assert (item.pk, item.owner.pk, item.owner.name) == (
        expected.pk,
        expected.owner.pk,
        expected.owner.name,
    )
    assert isinstance(item.pk, int) and isinstance(item.owner.pk, int)

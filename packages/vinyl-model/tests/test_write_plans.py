"""Write plans, without I/O: what an INSERT asks of the server follows the server's version."""

from __future__ import annotations

import datetime
from collections.abc import Iterator

import pytest
from vinyl.model import _writes
from vinyl.mysql.server import ServerData, known_server, record_server

MYSQL_8 = ServerData(version="8.4.0")
MARIADB = ServerData(version="10.11.6-MariaDB")


@pytest.fixture
def _server_restored() -> Iterator[None]:
    before = known_server("vinyl_mysql")
    yield
    record_server("vinyl_mysql", before)


def _insert_plan() -> _writes.Plan[list[tuple[object, ...]]]:
    from vinyl_testapp.models.library import Author

    author = Author(name="x", age=1, joined=datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC))
    meta = Author._meta
    auto_field = meta.auto_field
    assert auto_field is not None
    fields = [f for f in meta.local_concrete_fields if f is not auto_field]
    return _writes.insert("vinyl_mysql", Author, [author], fields, [auto_field])


@pytest.mark.usefixtures("_server_restored")
def test_mysql_8_inserts_then_reads_the_last_insert_id() -> None:
    record_server("vinyl_mysql", MYSQL_8)
    plan = _insert_plan()
    step = next(plan)
    assert isinstance(step, _writes.Insert) and "RETURNING" not in step.sql
    with pytest.raises(StopIteration) as stop:
        plan.send(42)
    assert stop.value.value == [(42,)]


@pytest.mark.usefixtures("_server_restored")
def test_mariadb_returns_the_key_from_the_insert() -> None:
    record_server("vinyl_mysql", MARIADB)
    plan = _insert_plan()
    step = next(plan)
    assert isinstance(step, _writes.Execute) and step.returning
    assert step.sql.endswith("RETURNING `vinyl_testapp_author`.`id`")
    with pytest.raises(StopIteration) as stop:
        plan.send([(7,)])
    assert stop.value.value == [(7,)]

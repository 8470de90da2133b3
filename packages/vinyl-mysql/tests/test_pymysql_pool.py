"""What only the sync pool faces: many threads at once."""

from __future__ import annotations

import dataclasses
import threading
from typing import cast

from vinyl.mysql.pymysql_driver import PyMySQLPool
from vinyl.query.databases import Backend

COUNT_SQL = "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND ID <> %s"


def test_40_threads_on_a_pool_of_5_finish_on_at_most_5_connections(backend: Backend) -> None:
    config = dataclasses.replace(backend.config, max_size=5)
    pool = cast(PyMySQLPool, backend.sync_driver.create_pool(config, backend.dialect))
    seen: list[int] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(10):
                connection = pool.acquire()
                try:
                    rows = connection.fetch("SELECT CONNECTION_ID(), SLEEP(0.001)")
                    seen.append(int(rows[0][0]))
                finally:
                    pool.release(connection)
        except BaseException as exc:  # reported below, with the thread's result
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(40)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        pool.close()
    # No connection was discarded, so every connection the pool opened is in `seen`.
    assert errors == []
    assert len(seen) == 400
    assert len(set(seen)) == 5

"""What only the sync pool faces: many threads at once."""

from __future__ import annotations

import dataclasses
import threading
from typing import cast

from vinyl.mysql.pymysql_driver import PyMySQLPool
from vinyl.query.databases import Backend

COUNT_SQL = "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND ID <> %s"


COUNT_SQL = "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = %s"


def test_40_threads_on_a_pool_of_5_finish_and_the_server_sees_at_most_5(
    backend: Backend, own_user: str
) -> None:
    config = dataclasses.replace(backend.config, user=own_user, max_size=5)
    pool = cast(PyMySQLPool, backend.sync_driver.create_pool(config, backend.dialect))
    seen: list[int] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(10):
                connection = pool.acquire()
                try:
                    rows = connection.fetch(COUNT_SQL, (own_user,))
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
    assert errors == []
    assert len(seen) == 400
    assert max(seen) == 5

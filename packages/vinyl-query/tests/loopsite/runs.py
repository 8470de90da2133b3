"""Run one query in each of *N* ``asyncio.run()`` calls, then wait for a line on stdin.

Prints ``ready`` once the runs are over and keeps the process alive until the test has
counted the connections the server still sees from it; then collects the garbage, so that a
connection left to the collector shows its warning before the process ends.
"""

import asyncio
import gc
import sys

import django

django.setup()

from vinyl.query._async import fetch_sql  # noqa: E402  (after django.setup())


async def one() -> None:
    assert await fetch_sql("default", "SELECT 1", []) == [(1,)]


for _ in range(int(sys.argv[1])):
    asyncio.run(one())
print("ready", flush=True)
sys.stdin.readline()
gc.collect()

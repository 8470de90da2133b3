"""Fire concurrent requests at the vinyl views and at the a-method views; compare them.

Start the site first (``python3 examples/bookshop/run.py --no-access-log``), then::

    python3 examples/bookshop/load.py --clients 100 --requests 5000

Each client is one keep-alive HTTP/1.1 connection sending its next GET as soon as the last
answer arrived (the standard library's asyncio streams: no dependency). Two endpoints
(the list ``?tag=novel`` and the detail of each book in turn), each first on the vinyl views
(``/api/books/``), then on Django's a-method views (``/api/django/books/``), after a warm-up
of one request per client. Prints requests/s and the p50/p99 latency of each run, and the
answers that were not 200 (a 500 is counted and timed, not retried).
"""

import argparse
import asyncio
import itertools
import json
import statistics
import time
import urllib.request
from collections import Counter
from urllib.parse import urlsplit


async def client(
    host: str,
    port: int,
    paths: "itertools.cycle[str]",
    left: list[int],
    latencies: list[float],
    failures: list[str],
) -> None:
    """Send GETs of *paths* on one connection until *left* is used up; time each.

    An answer other than 200 is timed too, and its status line kept in *failures*.
    """
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while left[0] > 0:
            left[0] -= 1
            path = next(paths)
            started = time.perf_counter()
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            status = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode().partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if not status.startswith(b"HTTP/1.1 200"):
                failures.append(status.decode().strip())
    finally:
        writer.close()
        await writer.wait_closed()


async def run(
    url: str, paths: list[str], clients: int, requests: int
) -> tuple[float, list[float], list[str]]:
    """Return the seconds *requests* GETs took on *clients* connections, each latency, and
    the status lines of the answers that were not 200."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    cycle = itertools.cycle(paths)
    warmup: list[float] = []
    await asyncio.gather(*(client(host, port, cycle, [1], warmup, []) for _ in range(clients)))
    left = [requests]
    latencies: list[float] = []
    failures: list[str] = []
    started = time.perf_counter()
    await asyncio.gather(
        *(client(host, port, cycle, left, latencies, failures) for _ in range(clients))
    )
    return time.perf_counter() - started, latencies, failures


def percentile(values: list[float], fraction: float) -> float:
    return statistics.quantiles(values, n=100)[round(fraction * 100) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--requests", type=int, default=5000, help="per run")
    arguments = parser.parse_args()
    with urllib.request.urlopen(f"{arguments.url}/api/books/?page=1") as response:
        ids = [book["id"] for book in json.load(response)["results"]]
    endpoints = {"list": ["books/?tag=novel"], "detail": [f"books/{pk}/" for pk in ids]}
    print(f"{arguments.clients} clients, {arguments.requests} requests a run, {arguments.url}")
    print(f"{'endpoint':<8} {'views':<9} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}  not 200")
    for endpoint, paths in endpoints.items():
        for views, prefix in (("vinyl", "/api/"), ("a-method", "/api/django/")):
            seconds, latencies, failures = asyncio.run(
                run(
                    arguments.url,
                    [prefix + path for path in paths],
                    arguments.clients,
                    arguments.requests,
                )
            )
            p50, p99 = percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000
            rate = len(latencies) / seconds
            kinds = ", ".join(f"{n} × {line}" for line, n in Counter(failures).items())
            print(f"{endpoint:<8} {views:<9} {rate:>8.0f} {p50:>8.1f} {p99:>8.1f}  {kinds or 0}")


if __name__ == "__main__":
    main()

"""Run every workload for one contender on one database, in this process; write JSON.

``python -m vinyl_bench.worker --vendor postgresql --contender asyncpg --scale full
--output result.json``. Each workload runs ``scale.warmups`` times untimed, then
``scale.runs`` times timed; every run's checksum must be the same. A workload that fails,
or that the contender does not implement, is recorded with the reason (and the traceback
goes to stderr) and the next workload runs.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sys
import time
import traceback
from collections.abc import Callable, Coroutine
from typing import Any

from vinyl_bench.scale import SCALES, Scale


def event_loop_factory() -> tuple[Callable[[], asyncio.AbstractEventLoop], str]:
    """Return uvloop's loop factory when uvloop is installed, else asyncio's; and its name."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop, "asyncio"
    return uvloop.new_event_loop, f"uvloop {uvloop.__version__}"


class Runner:
    """Call a contender's code, running it on one event loop when the contender is async."""

    def __init__(self, is_async: bool) -> None:
        self.loop_name = "-"
        self._runner: asyncio.Runner | None = None
        if is_async:
            factory, self.loop_name = event_loop_factory()
            self._runner = asyncio.Runner(loop_factory=factory)

    def call(self, function: Callable[..., Any], *args: Any) -> Any:
        if self._runner is None:
            return function(*args)
        return self._runner.run(function(*args))

    def timed(self, function: Callable[..., Any], *args: Any) -> tuple[Any, float]:
        """Return ``function(*args)``'s result and its duration, measured inside the loop."""
        if self._runner is None:
            start = time.perf_counter()
            result = function(*args)
            return result, time.perf_counter() - start
        return self._runner.run(_timed_coroutine(function(*args)))

    def close(self) -> None:
        if self._runner is not None:
            self._runner.close()


async def _timed_coroutine(coroutine: Coroutine[Any, Any, Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    result = await coroutine
    return result, time.perf_counter() - start


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".strip()


def run_workload(runner: Runner, contender: Any, workload: Any, scale: Scale) -> dict[str, Any]:
    """Return the timings and checksum of one workload, or the reason it could not run."""
    implementation = workload.implementations.get(contender.name)
    if implementation is None:
        return {"error": f"{contender.name} has no implementation of {workload.key}"}
    plan = workload.plan(scale)
    digests: set[str] = set()
    seconds: list[float] = []
    try:
        for _ in range(scale.warmups):
            digests.add(workload.digest(runner.call(implementation, contender, plan)))
        for _ in range(scale.runs):
            gc.collect()
            result, elapsed = runner.timed(implementation, contender, plan)
            seconds.append(elapsed)
            digests.add(workload.digest(result))
            del result
    except Exception as exc:
        traceback.print_exc()
        return {"error": describe(exc)}
    if len(digests) != 1:
        return {"error": f"runs disagree with each other: checksums {sorted(digests)}"}
    return {"seconds": seconds, "digest": digests.pop()}


def main(argv: list[str] | None = None) -> int:
    from vinyl_bench.contenders import CONTENDERS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vendor", required=True, choices=["postgresql", "mysql"])
    parser.add_argument("--contender", required=True, choices=sorted(CONTENDERS))
    parser.add_argument("--scale", required=True, choices=sorted(SCALES))
    parser.add_argument("--workloads", required=True, help="comma-separated workload keys")
    parser.add_argument("--output", required=True, help="where to write the JSON result")
    args = parser.parse_args(argv)

    # The benchmark always runs on its own settings, whatever the caller had configured.
    os.environ["DJANGO_SETTINGS_MODULE"] = "vinyl_bench.settings"
    import django

    django.setup()
    import vinyl_bench.workloads  # noqa: F401 - importing the package registers the workloads
    from vinyl_bench.registry import WORKLOADS

    scale = SCALES[args.scale]
    contender = CONTENDERS[args.contender](args.vendor, scale)
    runner = Runner(contender.is_async)
    keys = args.workloads.split(",")
    results: dict[str, Any] = {}
    close_error = None
    try:
        runner.call(contender.open)
    except Exception as exc:
        traceback.print_exc()
        reason = f"could not start: {describe(exc)}"
        results = {key: {"error": reason} for key in keys}
    else:
        for key in keys:
            results[key] = run_workload(runner, contender, WORKLOADS[key], scale)
        try:
            runner.call(contender.close)
        except Exception as exc:
            traceback.print_exc()
            close_error = f"could not close: {describe(exc)}"
    runner.close()
    with open(args.output, "w") as output:
        json.dump(
            {"event_loop": runner.loop_name, "results": results, "close_error": close_error},
            output,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

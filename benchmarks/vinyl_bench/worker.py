"""One contender on one database, in a process of its own, driven by the parent over a pipe.

``python -m vinyl_bench.worker --vendor postgresql --contender asyncpg --scale full``
opens the contender's connections and answers one JSON line per JSON command read on
stdin. ``{"workload": "W1"}`` runs that workload once and answers ``seconds``,
``cpu_seconds`` (this process's), ``peak_rss_kb`` (the process's peak resident set size
during the run), ``rss_growth_kb`` (how far that peak rose above the size at the run's
start) and ``digest``, or ``error``; ``{"close": true}`` closes the connections and exits.
The parent alternates between its workers run by run, so a change in the machine's load
falls on every contender alike. Anything else the process prints goes to stderr.
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
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import IO, Any

from vinyl_bench.scale import SCALES


def event_loop_factory() -> tuple[Callable[[], asyncio.AbstractEventLoop], str]:
    """Return uvloop's loop factory when uvloop is installed, else asyncio's; and its name."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop, "asyncio"
    version: str = getattr(uvloop, "__version__", "")
    return uvloop.new_event_loop, f"uvloop {version}"


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

    def timed(self, function: Callable[..., Any], *args: Any) -> tuple[Any, float, float]:
        """Return ``function(*args)``'s result, its wall time and this process's CPU time.

        Both are measured inside the event loop for an async contender.
        """
        if self._runner is None:
            wall, cpu = time.perf_counter(), time.process_time()
            result = function(*args)
            return result, time.perf_counter() - wall, time.process_time() - cpu
        return self._runner.run(_timed_coroutine(function(*args)))

    def close(self) -> None:
        if self._runner is not None:
            self._runner.close()


async def _timed_coroutine(coroutine: Coroutine[Any, Any, Any]) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = await coroutine
    return result, time.perf_counter() - wall, time.process_time() - cpu


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".strip()


def reset_peak_rss() -> bool:
    """Start a new peak of this process's resident set size; ``False`` where Linux cannot."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def rss_kb(name: str) -> int | None:
    """Return this process's ``VmRSS`` (now) or ``VmHWM`` (peak) from ``/proc``, in KiB."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    line = next((line for line in status.splitlines() if line.startswith(f"{name}:")), None)
    return None if line is None else int(line.split()[1])


class Session:
    """The started contender and the plans of the workloads it has run.

    ``keeper`` is the worker's own raw connection, opened for the first write workload:
    it restores the seeded data around each run and reads back what the run wrote.
    ``around_timed`` makes the context the timed call alone runs in (a profiler's).
    """

    def __init__(self, contender: Any, runner: Runner) -> None:
        self.contender = contender
        self.runner = runner
        self.plans: dict[str, Any] = {}
        self.keeper: Any = None
        self.around_timed: Callable[[], AbstractContextManager[Any]] = nullcontext

    def run(self, key: str) -> dict[str, Any]:
        """Run workload *key* once; return its duration and checksum, or why it failed."""
        from vinyl_bench.registry import WORKLOADS

        workload = WORKLOADS[key]
        implementation = workload.implementations.get(self.contender.name)
        if implementation is None:
            return {"error": f"{self.contender.name} has no implementation of {key}"}
        if key not in self.plans:
            self.plans[key] = workload.plan(self.contender.scale)
        try:
            if workload.writes:
                self.restore()
            gc.collect()
            start = rss_kb("VmRSS") if reset_peak_rss() else None
            with self.around_timed():
                result, seconds, cpu = self.runner.timed(
                    implementation, self.contender, self.plans[key]
                )
            peak = rss_kb("VmHWM") if start is not None else None
            digest = workload.digest(result)
            if workload.writes:
                from vinyl_bench import database
                from vinyl_bench.registry import checksum

                digest += "+" + checksum(database.tables(self.keeper, self.contender.vendor))
        except Exception as exc:
            traceback.print_exc()
            return {"error": describe(exc)}
        finally:
            if workload.writes:
                # Neither the next contender nor the next workload sees what this run wrote,
                # even when it failed half-way.
                self.restore()
        return {
            "seconds": seconds,
            "cpu_seconds": cpu,
            "peak_rss_kb": peak,
            "rss_growth_kb": None if peak is None or start is None else peak - start,
            "digest": digest,
        }

    def restore(self) -> None:
        """Put back the seeded data (untimed), on the keeper connection."""
        from vinyl_bench import database

        if self.keeper is None:
            self.keeper = database.keeper(self.contender.vendor)
        database.restore(self.keeper, self.contender.vendor, self.contender.scale)

    def close(self) -> None:
        """Close the keeper connection, if a write workload opened it."""
        if self.keeper is not None:
            self.keeper.close()


def serve(session: Session, commands: IO[str], replies: IO[str]) -> None:
    """Answer the parent's commands until it asks to close."""
    for line in commands:
        command = json.loads(line)
        if command.get("close"):
            break
        reply(replies, session.run(command["workload"]))
    try:
        session.close()
        session.runner.call(session.contender.close)
    except Exception as exc:
        traceback.print_exc()
        reply(replies, {"closed": True, "error": f"could not close: {describe(exc)}"})
    else:
        reply(replies, {"closed": True, "error": None})


def reply(replies: IO[str], message: dict[str, Any]) -> None:
    replies.write(json.dumps(message) + "\n")
    replies.flush()


def main(argv: list[str] | None = None) -> int:
    from vinyl_bench.contenders import CONTENDERS, VENDORS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vendor", required=True, choices=VENDORS)
    parser.add_argument("--contender", required=True, choices=sorted(CONTENDERS))
    parser.add_argument("--scale", required=True, choices=sorted(SCALES))
    args = parser.parse_args(argv)

    # Replies go out on the original stdout; whatever else prints lands on stderr.
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    # The benchmark always runs on its own settings, whatever the caller had configured.
    os.environ["DJANGO_SETTINGS_MODULE"] = "vinyl_bench.settings"
    import django

    django.setup()
    import vinyl_bench.workloads  # noqa: F401 - importing the package registers the workloads

    contender = CONTENDERS[args.contender](args.vendor, SCALES[args.scale])
    runner = Runner(contender.is_async)
    try:
        runner.call(contender.open)
    except Exception as exc:
        traceback.print_exc()
        reply(replies, {"ready": False, "error": f"could not start: {describe(exc)}"})
        return 0
    reply(replies, {"ready": True, "event_loop": runner.loop_name})
    serve(Session(contender, runner), sys.stdin, replies)
    runner.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

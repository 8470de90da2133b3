"""The parent's side of the workers: start one per contender, alternate runs between them.

For each workload, every contender runs the warm-ups, then the timed runs, one run at a
time and in turn (the order rotating each round), so a change in the machine's load
during the benchmark is spread over all contenders instead of landing on one.

Each workload gets fresh worker processes (but in the quick run, which asserts no figure:
there one process per contender runs every workload). Peak RSS is a process's high-water mark, and
a process never gives all it freed back to the system: in a worker kept across
workloads, a later workload's peak started from what W3's 10,000 objects left in the
allocators, and measured that rather than its own memory.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from pathlib import Path
from typing import Any

from vinyl_bench.scale import Scale

BENCHMARKS = Path(__file__).resolve().parent.parent
#: Seconds a worker may take to start, or to run one workload once, before it is stopped.
TIMEOUT = 600.0


class WorkerError(Exception):
    """The worker process died, hung or sent something that is not a reply."""


class Worker:
    """One contender's process, and what it measured."""

    def __init__(self, vendor: str, contender: str, scale: Scale) -> None:
        self.name = contender
        # The worker imports what this process can, plus the benchmark's own modules.
        path = os.pathsep.join([str(BENCHMARKS), *sys.path[1:]])
        self.process = subprocess.Popen(
            [sys.executable, "-m", "vinyl_bench.worker", "--vendor", vendor,
             "--contender", contender, "--scale", scale.name],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=BENCHMARKS,
            env={**os.environ, "PYTHONPATH": path},
        )  # fmt: skip
        self.results: dict[str, dict[str, Any]] = {}
        self.event_loop = "-"
        self.close_error: str | None = None
        self.failure: str | None = None

    def wait_ready(self) -> None:
        """Wait for the worker to open its contender (workers start side by side)."""
        try:
            hello = self._read()
        except WorkerError as exc:
            self._fail(str(exc))
            return
        if hello.get("ready"):
            self.event_loop = hello["event_loop"]
        else:
            self._fail(hello["error"])

    def run(self, key: str, timed: bool) -> None:
        """Run workload *key* once in the worker; keep its time when *timed*."""
        figures = ("seconds", "cpu_seconds", "peak_rss_kb", "rss_growth_kb", "digests")
        outcome = self.results.setdefault(key, {name: [] for name in figures})
        if self.failure is not None:
            outcome["error"] = self.failure
        if "error" in outcome:
            return
        try:
            reply = self._request({"workload": key})
        except WorkerError as exc:
            self._fail(str(exc))
            outcome["error"] = self.failure
            return
        if "error" in reply:
            outcome["error"] = reply["error"]
            return
        outcome["digests"].append(reply["digest"])
        if timed:
            outcome["seconds"].append(reply["seconds"])
            outcome["cpu_seconds"].append(reply["cpu_seconds"])
            if reply["peak_rss_kb"] is not None:
                outcome["peak_rss_kb"].append(reply["peak_rss_kb"])
                outcome["rss_growth_kb"].append(reply["rss_growth_kb"])

    def close(self) -> None:
        """Ask the worker to close its connections and exit; stop it if it does not."""
        if self.failure is None:
            try:
                self.close_error = self._request({"close": True})["error"]
            except WorkerError as exc:
                self.close_error = str(exc)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def report(self, keys: list[str]) -> dict[str, Any]:
        """Return this worker's figures: per workload its timings and one checksum, or why not."""
        results: dict[str, Any] = {}
        for key in keys:
            outcome = self.results.get(key, {"error": self.failure or f"{key} was not run"})
            if "error" in outcome:
                results[key] = {"error": outcome["error"]}
            elif len(set(outcome["digests"])) != 1:
                digests = sorted(set(outcome["digests"]))
                results[key] = {"error": f"runs returned different results: {digests}"}
            else:
                results[key] = {
                    "seconds": outcome["seconds"],
                    "cpu_seconds": outcome["cpu_seconds"],
                    # The peaks of the timed runs (None where Linux cannot reset the peak).
                    "peak_rss_kb": max(outcome["peak_rss_kb"], default=None),
                    "rss_growth_kb": max(outcome["rss_growth_kb"], default=None),
                    "digest": outcome["digests"][0],
                }
        return {"event_loop": self.event_loop, "results": results, "close_error": self.close_error}

    def _fail(self, reason: str) -> None:
        self.failure = reason
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()

    def _request(self, command: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps(command) + "\n")
            self.process.stdin.flush()
        except BrokenPipeError as exc:
            raise WorkerError(self._death()) from exc
        return self._read()

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], TIMEOUT)
        if not ready:
            raise WorkerError(f"worker process gave no answer within {TIMEOUT:.0f} s")
        line = self.process.stdout.readline()
        if not line:
            raise WorkerError(self._death())
        message: dict[str, Any] = json.loads(line)
        return message

    def _death(self) -> str:
        return f"worker process exited with status {self.process.wait()} (see stderr)"


def measure(vendor: str, contenders: list[str], keys: list[str], scale: Scale) -> dict[str, Any]:
    """Run *keys* for every contender on *vendor*; return each contender's report."""
    from vinyl_bench.cli import log

    reports: dict[str, dict[str, Any]] = {
        name: {"event_loop": "-", "results": {}, "close_error": None} for name in contenders
    }
    batches = [[key] for key in keys] if scale.process_per_workload else [keys]
    for batch in batches:
        workers = [Worker(vendor, name, scale) for name in contenders]
        for worker in workers:
            worker.wait_ready()
        for key in batch:
            log(f"{vendor}: {key}")
            for round_ in range(scale.warmups + scale.runs):
                shift = round_ % len(workers)
                for worker in workers[shift:] + workers[:shift]:
                    worker.run(key, timed=round_ >= scale.warmups)
        for worker in workers:
            worker.close()
            report, merged = worker.report(batch), reports[worker.name]
            merged["results"].update(report["results"])
            if worker.event_loop != "-":
                merged["event_loop"] = worker.event_loop
            if report["close_error"] and not merged["close_error"]:
                merged["close_error"] = f"after {batch[-1]}: {report['close_error']}"
    return reports

"""Summarize a `pants test` run from its JUnit reports; fail when the run was not a full one.

A full run has at least one passing test, none failing, and covers both Django resolves
(django61, django52) and the three databases (PostgreSQL, MariaDB, SQLite). The summary also
says how many examples the fuzzer ran (the ``fuzz_examples`` JUnit property its tests
record, one per run).
"""

from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from pathlib import Path

RESOLVES = ("django61", "django52")
SERVERS = {
    "pg": "PostgreSQL",
    "postgresql": "PostgreSQL",
    "mysql": "MariaDB",
    "mariadb": "MariaDB",
    "sqlite": "SQLite",
}
SERVER_NAMES = ("PostgreSQL", "MariaDB", "SQLite")
#: The JUnit property each fuzzer run records: how many examples it ran.
FUZZ_PROPERTY = "fuzz_examples"


def servers_of(name: str) -> set[str]:
    """Return which databases a test id names (``test_get[pg]``, ``test_mariadb_...``)."""
    words = re.split(r"[^a-z0-9]+", name.lower())
    return {SERVERS[word] for word in words if word in SERVERS}


def fuzz_runs(root: ET.Element) -> list[int]:
    """Return the example counts of the fuzzer runs one report records."""
    return [
        int(prop.get("value", "0"))
        for prop in root.iter("property")
        if prop.get("name") == FUZZ_PROPERTY
    ]


def fuzz_line(runs: dict[str, list[int]]) -> str:
    """Return the summary's line on the fuzzer: examples in all, runs, per resolve."""
    counts = [count for resolve_runs in runs.values() for count in resolve_runs]
    if not counts:
        return "Fuzzer: no run in these reports"
    per_resolve = ", ".join(f"{r} {sum(runs.get(r, []))}" for r in RESOLVES)
    return f"Fuzzer: {sum(counts)} examples in {len(counts)} runs ({per_resolve})"


def main(reports: Path) -> int:
    per_file: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    totals: Counter[str] = Counter()
    by_resolve: Counter[str] = Counter()
    by_server: Counter[str] = Counter()
    failures = []
    fuzz: dict[str, list[int]] = defaultdict(list)
    for report in sorted(reports.glob("*.xml")):
        resolve = re.search(r"resolve=(\w+)", report.name)
        resolve_name = resolve.group(1) if resolve else "?"
        root = ET.parse(report).getroot()
        fuzz[resolve_name] += fuzz_runs(root)
        for case in root.iter("testcase"):
            outcome = "passed"
            for tag in ("failure", "error", "skipped"):
                if case.find(tag) is not None:
                    outcome = {"failure": "failed", "error": "errors"}.get(tag, tag)
            source = case.get("file") or case.get("classname", "?").replace(".", "/") + ".py"
            per_file[(source, resolve_name)][outcome] += 1
            totals[outcome] += 1
            if outcome == "passed":
                by_resolve[resolve_name] += 1
                for server in servers_of(case.get("name", "")):
                    by_server[server] += 1
            elif outcome in ("failed", "errors"):
                failures.append(f"{resolve_name}: {case.get('classname')}::{case.get('name')}")

    for (source, resolve_name), counts in sorted(per_file.items()):
        outcome = ", ".join(f"{n} {what}" for what, n in sorted(counts.items()))
        print(f"  {resolve_name}  {source}: {outcome}")
    print(
        f"Total: {sum(totals.values())} tests in {len(per_file)} file runs; "
        + ", ".join(f"{n} {what}" for what, n in sorted(totals.items()))
    )
    print("Passed per Django resolve: " + ", ".join(f"{r} {by_resolve[r]}" for r in RESOLVES))
    print("Passed per database: " + ", ".join(f"{s} {by_server[s]}" for s in SERVER_NAMES))
    print(fuzz_line(fuzz))

    problems = [f"failed: {failure}" for failure in failures]
    if totals["passed"] == 0:
        problems.append(f"no test ran (no passing test case in {reports}/*.xml)")
    problems += [f"no test passed under {r}" for r in RESOLVES if by_resolve[r] == 0]
    problems += [f"no test passed on {s}" for s in SERVER_NAMES if by_server[s] == 0]
    for problem in problems:
        print(f"CI: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))

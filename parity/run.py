"""Run Django's own test suite for vinyl's ORM apps in three modes; compare; check expectations.

Usage (from anywhere; stdlib only, any Python 3.12):

    python parity/run.py                      # every mode on both servers (what .ci/run runs)
    python parity/run.py --vendors postgresql # one server
    python parity/run.py --vendors postgresql --apps basic,lookup
    python parity/run.py --write-expectations # regenerate expectations.toml from this run

Modes: ``django`` (1: Django's ENGINE and managers), ``engine`` (2: vinyl's ENGINE, Django's
managers) and ``vinyl`` (3: vinyl's ENGINE, every test model's managers replaced by
vinyl_sync's ``VinylManager``, reads and writes through vinyl). See parity/README.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
import tomllib
from collections import Counter
from pathlib import Path

from classify import REASONS, Failure, classify

PARITY = Path(__file__).resolve().parent
REPO = PARITY.parent
CACHE = Path(os.environ.get("VINYL_PARITY_CACHE", Path.home() / ".cache" / "vinyl-parity"))
EXPECTATIONS = PARITY / "expectations.toml"
PACKAGES = ["vinyl-query", "vinyl-pg", "vinyl-mysql", "vinyl-model", "vinyl_async", "vinyl_sync"]

APPS = (
    "basic lookup queries many_to_one many_to_many one_to_one m2m_through m2m_through_regress "
    "delete delete_regress model_inheritance select_related prefetch_related aggregation "
    "annotations expressions get_or_create update update_only_fields bulk_create defer "
    "custom_managers generic_relations known_related_objects raw_query select_for_update "
    "transactions ordering proxy_models custom_pk"
).split()
VENDORS = {"postgresql": "PostgreSQL", "mysql": "MariaDB"}
MODES = {
    "django": "mode 1 (Django)",
    "engine": "mode 2 (vinyl ENGINE)",
    "vinyl": "mode 3 (VinylManager)",
}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- the venv and Django's tests -------------------------------------------------------------


def find_python312() -> str:
    for candidate in sorted(Path("/root/.pyenv/versions").glob("3.12.*/bin/python3.12")):
        return str(candidate)
    if sys.version_info[:2] == (3, 12):
        return sys.executable
    raise SystemExit("parity: no Python 3.12 (looked in /root/.pyenv/versions and this one)")


def ensure_venv(path: Path) -> Path:
    """Return the venv's python, (re)building the venv when its inputs changed."""
    python = find_python312()
    requirements = PARITY / "requirements.txt"
    stamp = hashlib.sha256(
        requirements.read_bytes() + f"{python} {REPO}".encode() + b"v1"
    ).hexdigest()
    stamp_file = path / ".stamp"
    if (path / "bin" / "python").exists() and stamp_file.exists():
        if stamp_file.read_text() == stamp:
            return path / "bin" / "python"
    log(f"parity: building the venv {path} (requirements.txt, vinyl's packages editable)")
    shutil.rmtree(path, ignore_errors=True)
    subprocess.run([python, "-m", "venv", str(path)], check=True)
    pip = [
        str(path / "bin" / "python"),
        "-m",
        "pip",
        "install",
        "-q",
        "--disable-pip-version-check",
    ]
    subprocess.run([*pip, "-r", str(requirements)], check=True)
    editable = [arg for name in PACKAGES for arg in ("-e", str(REPO / "packages" / name))]
    subprocess.run([*pip, "--no-deps", *editable], check=True)
    stamp_file.write_text(stamp)
    return path / "bin" / "python"


def django_tests(python: Path) -> tuple[str, Path]:
    """Return the installed Django's version and its sdist's ``tests/`` (downloaded once)."""
    version = subprocess.run(
        [str(python), "-c", "import django; print(django.__version__)"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    target = CACHE / f"django-{version}"
    tests = target / "tests"
    if (tests / "runtests.py").exists():
        return version, tests
    sdist_dir = CACHE / "sdist"
    sdist_dir.mkdir(parents=True, exist_ok=True)
    sdist = sdist_dir / f"django-{version}.tar.gz"
    if not sdist.exists():
        log(f"parity: downloading Django {version}'s sdist into {sdist_dir}")
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "download",
                "-q",
                "--disable-pip-version-check",
                "--no-deps",
                "--no-binary",
                ":all:",
                f"django=={version}",
                "-d",
                str(sdist_dir),
            ],
            check=True,
        )
    prefix = f"django-{version}/tests/"
    staging = CACHE / f".django-{version}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    with tarfile.open(sdist) as archive:
        members = [m for m in archive.getmembers() if m.name.startswith(prefix)]
        for member in members:
            member.name = member.name[len(f"django-{version}/") :]
        archive.extractall(staging, members=members, filter="data")
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return version, tests


# --- running the modes -----------------------------------------------------------------------


def run_mode(
    python: Path, tests: Path, vendor: str, mode: str, apps: list[str], parallel: int, out: Path
) -> dict[str, object]:
    results = out / f"{vendor}-{mode}.json"
    output = out / f"{vendor}-{mode}.log"
    results.unlink(missing_ok=True)
    env = {
        **os.environ,
        "PYTHONPATH": str(PARITY),
        "VINYL_PARITY_VENDOR": vendor,
        "VINYL_PARITY_MODE": mode,
        # Unique per run: two runs on one machine never share a test database.
        "VINYL_PARITY_NAME": f"vinyl_parity_{os.getpid()}",
        "VINYL_PARITY_RESULTS": str(results),
    }
    command = [
        str(python),
        "runtests.py",
        "--settings=vinyl_parity.settings",
        "--noinput",
        f"--parallel={parallel}",
        *apps,
    ]
    started = time.monotonic()
    with output.open("w") as stream:
        code = subprocess.run(command, cwd=tests, env=env, stdout=stream, stderr=stream).returncode
    elapsed = time.monotonic() - started
    if not results.exists():
        raise SystemExit(
            f"parity: {VENDORS[vendor]} {MODES[mode]} wrote no results (exit {code}); "
            f"see {output}:\n" + "".join(output.read_text().splitlines(True)[-30:])
        )
    data: dict[str, object] = json.loads(results.read_text())
    for line in output.read_text().splitlines():
        if line.startswith("parity: mode 3"):
            log(f"  {line}")
    log(f"parity: {VENDORS[vendor]:10} {MODES[mode]:22} {elapsed:6.1f}s  (log: {output})")
    return data


def statuses(data: dict[str, object], universe: list[str]) -> dict[str, tuple[str, str]]:
    """Return test id -> (outcome, message); a test that never ran takes its class's error."""
    outcomes: dict[str, dict[str, str]] = data["outcomes"]  # type: ignore[assignment]
    class_errors = {}
    for key, value in outcomes.items():
        # unittest reports a failed setUpClass as "setUpClass (app.tests.Class)".
        if " (" in key and key.endswith(")"):
            class_errors[key.split(" (", 1)[1][:-1]] = value.get("message", key)
    result = {}
    for test in universe:
        if test in outcomes:
            result[test] = (outcomes[test]["outcome"], outcomes[test].get("message", ""))
        else:
            owner = test.rsplit(".", 1)[0]
            result[test] = ("fail", class_errors.get(owner, "did not run"))
    return result


# --- comparing, the table, the expectations -------------------------------------------------


RATIO = "mode 3 / mode 1"
TOTAL = "**total**"


def table(vendor: str, runs: dict[str, dict[str, tuple[str, str]]], universe: list[str]) -> str:
    modes = [mode for mode in MODES if mode in runs]
    apps = sorted({test.split(".", 1)[0] for test in universe})
    header = ["app", "tests", *(MODES[m] for m in modes)]
    if "django" in runs and "vinyl" in runs:
        header.append(RATIO)
    rows = []
    for app in [*apps, None]:
        tests = [t for t in universe if app is None or t.split(".", 1)[0] == app]
        row = [TOTAL if app is None else app, str(len(tests))]
        passes = {m: sum(runs[m][t][0] == "pass" for t in tests) for m in modes}
        row += [str(passes[m]) for m in modes]
        if "django" in runs and "vinyl" in runs:
            both = sum(runs["django"][t][0] == "pass" == runs["vinyl"][t][0] for t in tests)
            base = passes["django"]
            row.append(f"{100 * both / base:.1f}%" if base else "-")
        rows.append(row)
    return render(vendor, header, rows)


def render(vendor: str, header: list[str], rows: list[list[str]]) -> str:
    lines = [
        f"{VENDORS[vendor]}:",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def merged_table(vendor: str, old: str, new: str) -> str:
    """Return *new*'s rows over *old*'s, by app and column (a run of some apps or modes).

    The total is summed again; its ratio from each app's (exact: one decimal of a share of
    at most a few hundred tests rounds back to the count).
    """
    old_columns, old_rows = parsed_table(old)
    new_columns, new_rows = parsed_table(new)
    header = [*old_columns, *(c for c in new_columns if c not in old_columns)]
    rows = {app: row for app, row in old_rows.items() if app in APPS}
    for app, row in new_rows.items():
        if app != TOTAL:
            rows[app] = {**rows.get(app, {}), **row}
    total = {"app": TOTAL}
    for column in header[1:]:
        if column != RATIO:
            total[column] = str(sum(int(row.get(column, "0")) for row in rows.values()))
    if RATIO in header:
        base = sum(int(row[MODES["django"]]) for row in rows.values())
        both = sum(
            round(float(row[RATIO].rstrip("%")) * int(row[MODES["django"]]) / 100)
            for row in rows.values()
            if row.get(RATIO, "-") != "-"
        )
        total[RATIO] = f"{100 * both / base:.1f}%" if base else "-"
    lines = [[row.get(c, "-") for c in header] for row in [*(rows[a] for a in sorted(rows)), total]]
    return render(vendor, header, lines)


def parsed_table(text: str) -> tuple[list[str], dict[str, dict[str, str]]]:
    """Return the columns of a table() and its rows by app, each a dict by column."""
    lines = [line for line in text.splitlines() if line.startswith("| ")]
    columns = [cell.strip() for cell in lines[0].strip("| ").split(" | ")]
    rows = {}
    for line in lines[1:]:
        cells = [cell.strip() for cell in line.strip("| ").split(" | ")]
        rows[cells[0]] = dict(zip(columns, cells, strict=True))
    return columns, rows


def written_tables() -> dict[str, str]:
    """Return the tables at the top of expectations.toml by vendor (``{}`` if none)."""
    if not EXPECTATIONS.exists():
        return {}
    tables: dict[str, list[str]] = {}
    current = None
    for line in EXPECTATIONS.read_text().splitlines():
        if not line.startswith("#"):
            break
        text = line[2:]
        vendor = next((v for v, title in VENDORS.items() if text == f"{title}:"), None)
        if vendor is not None:
            current = tables.setdefault(vendor, [])
        if current is not None:
            current.append(text)
    return {vendor: "\n".join(lines).strip() for vendor, lines in tables.items()}


def first_line(message: str) -> str:
    lines = [line for line in message.strip().splitlines() if line and not line.startswith(" ")]
    error = next((line for line in reversed(lines) if "Error" in line), lines[-1] if lines else "")
    return error[:200]


def compare(
    vendor: str, runs: dict[str, dict[str, tuple[str, str]]], universe: list[str]
) -> dict[str, dict[str, Failure]]:
    """Return mode -> test -> failure, for tests that pass in mode 1 and fail in that mode."""
    found: dict[str, dict[str, Failure]] = {}
    if "django" not in runs:
        return found
    for mode in ("engine", "vinyl"):
        if mode not in runs:
            continue
        found[mode] = {
            test: Failure(test, runs[mode][test][1])
            for test in universe
            if runs["django"][test][0] == "pass" and runs[mode][test][0] != "pass"
        }
    return found


def load_expectations() -> dict[str, dict[str, dict[str, str]]]:
    if not EXPECTATIONS.exists():
        return {}
    data = tomllib.loads(EXPECTATIONS.read_text())
    return {vendor: data.get(vendor, {}) for vendor in VENDORS}


def check(
    failures: dict[str, dict[str, dict[str, Failure]]],
    expected: dict[str, dict[str, dict[str, str]]],
    apps: list[str],
) -> int:
    """Print what differs from expectations.toml; return how many tests do."""
    problems = 0
    for vendor, by_mode in failures.items():
        for mode, found in by_mode.items():
            listed = {
                test: reason
                for test, reason in expected.get(vendor, {}).get(mode, {}).items()
                if test.split(".", 1)[0] in apps
            }
            new = sorted(set(found) - set(listed))
            fixed = sorted(set(listed) - set(found))
            for test in new:
                reason = classify(found[test]) if mode == "vinyl" else "engine-sql"
                log(
                    f"parity: NEW FAILURE {VENDORS[vendor]} {MODES[mode]}: {test} "
                    f"(would be: {reason or 'no rule matches'})\n    "
                    f"{first_line(found[test].message)}"
                )
            for test in fixed:
                log(
                    f"parity: NOW PASSES (remove it from expectations.toml) "
                    f"{VENDORS[vendor]} {MODES[mode]}: {test}"
                )
            problems += len(new) + len(fixed)
    return problems


def write_expectations(
    failures: dict[str, dict[str, dict[str, Failure]]],
    expected: dict[str, dict[str, dict[str, str]]],
    tables: dict[str, str],
    apps: list[str],
) -> int:
    """Write expectations.toml from this run; return how many failures no rule explains.

    The tables at its top keep, for the vendors, apps and modes this run left out, what
    they said.
    """
    unexplained = []
    sections = []
    for vendor in VENDORS:
        for mode in ("engine", "vinyl"):
            found = failures.get(vendor, {}).get(mode)
            if found is None:
                # Not run this time: keep what the file said.
                found_reasons = expected.get(vendor, {}).get(mode, {})
            else:
                # Apps this run left out keep what the file said about them.
                found_reasons = {
                    test: reason
                    for test, reason in expected.get(vendor, {}).get(mode, {}).items()
                    if test.split(".", 1)[0] not in apps
                }
                for test, failure in sorted(found.items()):
                    reason = "engine-sql" if mode == "engine" else classify(failure)
                    if reason is None:
                        unexplained.append((vendor, failure))
                        continue
                    found_reasons[test] = reason
            counts = Counter(found_reasons.values())
            lines = [f"[{vendor}.{mode}]"]
            lines += [f"# {key}: {n}" for key, n in sorted(counts.items())]
            lines += [f'"{test}" = "{reason}"' for test, reason in sorted(found_reasons.items())]
            sections.append("\n".join(lines))
    for vendor, failure in unexplained:
        log(
            f"parity: NO REASON {VENDORS[vendor]}: {failure.test}\n    "
            f"{first_line(failure.message)}"
        )
    if unexplained:
        log(f"parity: {len(unexplained)} failures have no reason; expectations.toml not written")
        return len(unexplained)
    written = written_tables()
    summary = "\n\n".join(
        merged_table(vendor, written[vendor], tables[vendor])
        if vendor in written and vendor in tables
        else tables.get(vendor) or written[vendor]
        for vendor in VENDORS
        if vendor in tables or vendor in written
    )
    reasons = "\n".join(f'{key} = "{text}"' for key, text in REASONS.items())
    header = (
        "# Tests that pass in mode 1 (Django's ENGINE and managers) and fail in mode 2 (vinyl's\n"
        "# ENGINE, [<db>.engine]) or mode 3 (VinylManager, [<db>.vinyl]), with their reason.\n"
        "# Generated by `python parity/run.py --write-expectations`; CI fails when a test fails\n"
        "# that is not listed, or a listed one passes. Reasons: parity/classify.py.\n"
        "#\n" + "\n".join(f"# {line}" for line in summary.splitlines()) + "\n"
    )
    EXPECTATIONS.write_text(f"{header}\n[reasons]\n{reasons}\n\n" + "\n\n".join(sections) + "\n")
    log(f"parity: wrote {EXPECTATIONS}")
    return 0


def reason_counts(
    failures: dict[str, dict[str, dict[str, Failure]]],
    expected: dict[str, dict[str, dict[str, str]]],
) -> str:
    """Count the failures by reason: the one expectations.toml lists, else classify()'s."""
    lines = []
    for vendor, by_mode in failures.items():
        for mode, found in by_mode.items():
            listed = expected.get(vendor, {}).get(mode, {})
            counts = Counter(
                listed.get(f.test)
                or ("engine-sql" if mode == "engine" else classify(f))
                or "NO REASON"
                for f in found.values()
            )
            detail = ", ".join(f"{key} {n}" for key, n in counts.most_common())
            lines.append(
                f"{VENDORS[vendor]} {MODES[mode]}: {len(found)} fail"
                + (f" ({detail})" if detail else "")
            )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vendors", default=",".join(VENDORS), help="postgresql,mysql")
    parser.add_argument("--modes", default=",".join(MODES), help="django,engine,vinyl")
    parser.add_argument("--apps", default=",".join(APPS), help="Django test apps, comma-separated")
    parser.add_argument("--parallel", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--venv", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=CACHE / "results")
    parser.add_argument("--write-expectations", action="store_true")
    parser.add_argument("--reuse", action="store_true", help="read the last results, run nothing")
    options = parser.parse_args()
    vendors = options.vendors.split(",")
    modes = options.modes.split(",")
    apps = options.apps.split(",")

    started = time.monotonic()
    options.out.mkdir(parents=True, exist_ok=True)
    if not options.reuse:
        probe = ensure_venv(options.venv or CACHE / "venv")
        version, tests = django_tests(probe)
        log(
            f"parity: Django {version}'s tests from {tests}; apps: {len(apps)}; "
            f"--parallel={options.parallel}"
        )
    failures: dict[str, dict[str, dict[str, Failure]]] = {}
    tables: dict[str, str] = {}
    for vendor in vendors:
        data = {}
        for mode in MODES:
            if mode not in modes:
                continue
            if options.reuse:
                data[mode] = json.loads((options.out / f"{vendor}-{mode}.json").read_text())
            else:
                data[mode] = run_mode(
                    probe, tests, vendor, mode, apps, options.parallel, options.out
                )
        universe = sorted({t for d in data.values() for t in d["tests"]})  # type: ignore[attr-defined]
        universe = [t for t in universe if t.split(".", 1)[0] in apps]
        runs = {mode: statuses(d, universe) for mode, d in data.items()}
        tables[vendor] = table(vendor, runs, universe)
        failures[vendor] = compare(vendor, runs, universe)
    print("\n\n".join(tables.values()))
    print()
    expected = load_expectations()
    print(reason_counts(failures, expected))
    print(f"\nparity: wall time {time.monotonic() - started:.0f}s")
    if options.write_expectations:
        return 1 if write_expectations(failures, expected, tables, apps) else 0
    problems = check(failures, expected, apps)
    if problems:
        log(f"parity: FAILED: {problems} tests differ from parity/expectations.toml (see above)")
        return 1
    log("parity: every failure is listed in parity/expectations.toml, and every listed one fails")
    return 0


if __name__ == "__main__":
    sys.exit(main())

""".ci/summarize.py: CI fails unless the JUnit reports show a full run."""

from __future__ import annotations

from pathlib import Path

import pytest
from vinyl_testing.scripts import load_script

SCRIPT = Path(__file__).resolve().parents[2] / ".ci" / "summarize.py"

# .ci/ is not a package.
summarize = load_script(SCRIPT)


def write_report(reports: Path, resolve: str, *cases: str, fuzz: tuple[int, ...] = ()) -> None:
    """Write one Pants JUnit report with *cases*, each "name" or "name:failure".

    *fuzz*: the example counts of the fuzzer runs the report records (suite properties).
    """
    props = "".join(f"<property name='fuzz_examples' value='{n}'/>" for n in fuzz)
    body = [f"<properties>{props}</properties>"] if fuzz else []
    for case in cases:
        name, _, outcome = case.partition(":")
        inner = f"<{outcome} message='boom'/>" if outcome else ""
        body.append(f"<testcase classname='pkg.tests.test_x' name='{name}'>{inner}</testcase>")
    xml = f"<testsuites><testsuite name='pytest'>{''.join(body)}</testsuite></testsuites>"
    (reports / f"pkg.tests.test_x.py@tests@@resolve={resolve}.xml").write_text(xml)


def test_a_full_run_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for resolve in ("django61", "django52"):
        write_report(tmp_path, resolve, "test_get[pg]", "test_get[mysql]", "test_get[sqlite]")

    assert summarize.main(tmp_path) == 0

    out = capsys.readouterr().out
    assert "Total: 6 tests in 2 file runs; 6 passed" in out
    assert "Passed per Django resolve: django61 3, django52 3" in out
    assert "Passed per database: PostgreSQL 2, MariaDB 2, SQLite 2" in out
    assert "Fuzzer: no run in these reports" in out


def test_no_test_at_all_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert summarize.main(tmp_path) == 1

    assert "CI: no test ran" in capsys.readouterr().err


def test_a_missing_resolve_or_server_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_report(tmp_path, "django61", "test_get[pg]")

    assert summarize.main(tmp_path) == 1

    err = capsys.readouterr().err
    assert "CI: no test passed under django52" in err
    assert "CI: no test passed on MariaDB" in err
    assert "CI: no test passed on SQLite" in err


def test_a_failure_fails_and_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for resolve in ("django61", "django52"):
        write_report(tmp_path, resolve, "test_get[pg]", "test_get[mysql]")
    write_report(tmp_path, "django52", "test_get[pg]", "test_get[mysql]:failure")

    assert summarize.main(tmp_path) == 1

    assert "CI: failed: django52: pkg.tests.test_x::test_get[mysql]" in capsys.readouterr().err


def test_the_fuzzer_examples_are_summed_across_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for resolve in ("django61", "django52"):
        cases = ("test_get[pg]", "test_get[mysql]", "test_get[sqlite]")
        write_report(tmp_path, resolve, *cases, fuzz=(400, 412))
    (tmp_path / "other.py@tests@@resolve=django52.xml").write_text(
        "<testsuites><testsuite name='pytest'><properties>"
        "<property name='fuzz_examples' value='7'/><property name='unrelated' value='9'/>"
        "</properties><testcase classname='pkg.tests.test_y' name='test_fuzz[pg]'/>"
        "</testsuite></testsuites>"
    )

    assert summarize.main(tmp_path) == 0

    assert "Fuzzer: 1631 examples in 5 runs (django61 812, django52 819)" in (
        capsys.readouterr().out
    )

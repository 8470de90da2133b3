"""tools/unasync.py --check: the committed _sync/ twins are exactly what the tool writes.

Reads tools/unasync.py, every _async/ source and _sync/ twin it lists, and the root
pyproject.toml (ruff's settings).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from vinyl_testing.scripts import load_script

ROOT = Path(__file__).resolve().parents[3]
TOOL = ROOT / "tools" / "unasync.py"
TWIN = "packages/vinyl-query/src/vinyl/query/_sync/scope.py"


def run_check(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(TOOL), "--check", "--root", str(root)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_sync_twins_are_up_to_date() -> None:
    result = run_check(ROOT)
    assert result.returncode == 0, result.stderr


def copy_tree(target: Path) -> None:
    unasync = load_script(TOOL)
    shutil.copy(ROOT / "pyproject.toml", target / "pyproject.toml")
    for source, twin in unasync.PAIRS:
        for directory in (source, twin):
            if (ROOT / directory).exists():
                shutil.copytree(ROOT / directory, target / directory)


def test_the_check_fails_on_an_edited_twin(tmp_path: Path) -> None:
    copy_tree(tmp_path)
    twin = tmp_path / TWIN
    twin.write_text(twin.read_text() + "\n# hand edit\n")
    result = run_check(tmp_path)
    assert result.returncode == 1
    assert f"{TWIN}: differs from what its source generates" in result.stderr


def test_the_check_fails_on_a_missing_or_orphan_twin(tmp_path: Path) -> None:
    copy_tree(tmp_path)
    (tmp_path / TWIN).unlink()
    orphan = tmp_path / "packages/vinyl-query/src/vinyl/query/_sync/orphan.py"
    orphan.write_text("x = 1\n")
    result = run_check(tmp_path)
    assert result.returncode == 1
    assert f"{TWIN}: missing; its source has no twin" in result.stderr
    assert "_sync/orphan.py: a twin without a source in _async/" in result.stderr

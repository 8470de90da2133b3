"""tools/release.py: the versions of the repo agree, and a release of one package stays in it."""

from __future__ import annotations

import datetime
import shutil
from pathlib import Path

import pytest
from vinyl_testing.scripts import load_script

ROOT = Path(__file__).resolve().parent.parent

# tools/ is not a package, nor on pytest's import path.
release = load_script(ROOT / "tools" / "release.py")
TODAY = datetime.date(2026, 11, 29)
PG_RELEASE_FILES = [
    Path("packages/vinyl-pg/CHANGELOG.md"),
    Path("packages/vinyl-pg/pyproject.toml"),
    Path("packages/vinyl_async/pyproject.toml"),
    Path("packages/vinyl_sync/pyproject.toml"),
]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """Return a copy of the repo's package trees, which a test may release from."""
    shutil.copytree(
        ROOT / "packages",
        tmp_path / "packages",
        ignore=shutil.ignore_patterns("__pycache__", "BUILD", "backend_shim.py"),
    )
    return tmp_path


def snapshot(root: Path) -> dict[Path, bytes]:
    return {
        path.relative_to(root): path.read_bytes()
        for path in sorted((root / "packages").rglob("*"))
        if path.is_file()
    }


def add_unreleased_item(root: Path, item: str) -> None:
    """Note a user-visible change in vinyl-pg's changelog, as a contributor would."""
    changelog = root / "packages/vinyl-pg/CHANGELOG.md"
    text = changelog.read_text()
    heading = release.UNRELEASED_HEADING.search(text)
    assert heading is not None, "vinyl-pg's CHANGELOG.md lost its unreleased section"
    changelog.write_text(text[: heading.end()] + f"\n\n- {item}" + text[heading.end() :])


def test_the_repo_versions_pins_and_ranges_agree() -> None:
    assert release.check(ROOT) == []
    assert release.main(["--root", str(ROOT), "check"]) == 0


def test_bumping_vinyl_pg_touches_only_its_files_and_the_pins(repo: Path) -> None:
    add_unreleased_item(repo, "Fixed a reconnect after the server restarted.")
    before = snapshot(repo)

    changed = release.bump(repo, "vinyl-pg", "0.1.1", TODAY)

    after = snapshot(repo)
    assert changed == PG_RELEASE_FILES
    assert sorted(path for path in after if after[path] != before[path]) == PG_RELEASE_FILES
    assert release.check(repo) == []
    distributions = release.load(repo)
    assert str(distributions["vinyl-pg"].version) == "0.1.1"
    for meta in ("vinyl-async", "vinyl-sync"):
        assert "vinyl-pg==0.1.1" in distributions[meta].requirements
        assert "vinyl-query==0.1.0" in distributions[meta].requirements
    changelog = (repo / "packages/vinyl-pg/CHANGELOG.md").read_text()
    released = changelog.index("## 0.1.1 — 2026-11-29")
    assert changelog.index("## Unreleased") < released
    assert changelog.index("- Fixed a reconnect after the server restarted.") > released


def test_the_meta_packages_pin_every_component_vinyl_sqlite_included() -> None:
    distributions = release.load(ROOT)
    components = {"vinyl-query", "vinyl-model", "vinyl-pg", "vinyl-mysql", "vinyl-sqlite"}
    assert set(distributions) == components | {"vinyl-async", "vinyl-sync"}
    for meta in ("vinyl-async", "vinyl-sync"):
        pinned = {req.name: req for req in distributions[meta].requirements.values()}
        assert set(pinned) == components
        for name in components:
            assert str(pinned[name].specifier) == f"=={distributions[name].version}"


def test_bumping_vinyl_sqlite_moves_its_pins(repo: Path) -> None:
    changelog = repo / "packages/vinyl-sqlite/CHANGELOG.md"
    text = changelog.read_text()
    heading = release.UNRELEASED_HEADING.search(text)
    assert heading is not None
    changelog.write_text(text[: heading.end()] + "\n\n- Fixed a lock wait." + text[heading.end() :])

    changed = release.bump(repo, "vinyl-sqlite", "0.1.1", TODAY)

    assert changed == [
        Path("packages/vinyl-sqlite/CHANGELOG.md"),
        Path("packages/vinyl-sqlite/pyproject.toml"),
        Path("packages/vinyl_async/pyproject.toml"),
        Path("packages/vinyl_sync/pyproject.toml"),
    ]
    assert release.check(repo) == []
    for meta in ("vinyl-async", "vinyl-sync"):
        assert "vinyl-sqlite==0.1.1" in release.load(repo)[meta].requirements


def test_a_hand_edited_wrong_pin_fails_the_check(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pyproject = repo / "packages/vinyl_async/pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"vinyl-pg==0.1.0"', '"vinyl-pg==0.1.9"'))

    assert release.main(["--root", str(repo), "check"]) == 1

    error = capsys.readouterr().err
    assert (
        "packages/vinyl_async/pyproject.toml pins vinyl-pg==0.1.9, but vinyl-pg is at 0.1.0"
        in error
    )
    assert "python tools/release.py bump vinyl-pg <version>" in error


def test_a_range_that_excludes_the_siblings_version_fails_the_check(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    changelog = repo / "packages/vinyl-query/CHANGELOG.md"
    changelog.write_text(changelog.read_text() + "\n- Changed the backend interface.\n")

    assert release.main(["--root", str(repo), "bump", "vinyl-query", "0.2.0"]) == 1

    error = capsys.readouterr().err
    assert (
        "packages/vinyl-pg/pyproject.toml requires vinyl-query>=0.1.0,<0.2, which excludes "
        "vinyl-query's current version 0.2.0" in error
    )
    # The meta-packages moved with the release; the components' ranges are theirs to widen.
    assert "vinyl_async/pyproject.toml" not in error


@pytest.mark.parametrize(
    ("name", "version", "message"),
    [
        (
            "vinyl-postgres",
            "0.1.1",
            "no distribution named 'vinyl-postgres'; the distributions are:",
        ),
        ("vinyl-pg", "0.1.0", "vinyl-pg is at 0.1.0; the new version must be higher, not 0.1.0."),
        ("vinyl-pg", "next", "'next' is not a version (PEP 440), e.g. 0.1.1."),
    ],
)
def test_bump_refuses_what_it_cannot_release(
    repo: Path, name: str, version: str, message: str
) -> None:
    before = snapshot(repo)

    with pytest.raises(release.ReleaseError) as raised:
        release.bump(repo, name, version, TODAY)

    assert message in str(raised.value)
    assert snapshot(repo) == before


def test_bump_refuses_an_empty_changelog_section(repo: Path) -> None:
    add_unreleased_item(repo, "Fixed a reconnect after the server restarted.")
    release.bump(repo, "vinyl-pg", "0.1.1", TODAY)

    with pytest.raises(release.ReleaseError) as raised:
        release.bump(repo, "vinyl-pg", "0.1.2", TODAY)

    assert "the `## Unreleased` section is empty" in str(raised.value)

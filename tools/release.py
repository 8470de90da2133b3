"""Release one vinyl distribution on its own, and check that the versions agree.

    python tools/release.py bump vinyl-pg 0.1.1   # version, CHANGELOG section, meta-package pins
    python tools/release.py check                 # every pin and range matches the versions

``bump`` sets the version in ``packages/<dist>/pyproject.toml``, moves the items of its
CHANGELOG's "unreleased" section into a new ``## <version> — <date>`` section (leaving an
empty ``## Unreleased`` above it), and rewrites every exact pin (``<dist>==<old>``) in the
other packages' ``pyproject.toml`` — the meta-packages ``vinyl_async`` and ``vinyl_sync``.
It then runs ``check``.

``check`` fails when an exact pin names a version other than that package's current one,
when a package's range for a sibling (``vinyl-query>=0.1.0,<0.2``) excludes the sibling's
current version, or when a CHANGELOG has no section for its package's current version.
See RELEASING.md for the whole release of one package.
"""

from __future__ import annotations

import argparse
import datetime
import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

ROOT = Path(__file__).resolve().parent.parent

UNRELEASED = "## Unreleased"
# "## Unreleased", or a version heading still marked unreleased ("## 0.1.0 — unreleased").
UNRELEASED_HEADING = re.compile(
    r"^## (?:[^\n]*\bunreleased\b[^\n]*)$", re.IGNORECASE | re.MULTILINE
)
SECTION_HEADING = re.compile(r"^## ", re.MULTILINE)
# An exact pin inside a quoted requirement string: "vinyl-pg==0.1.0".
PIN = re.compile(r'"(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*(?P<version>[^",;\s]+)"')


class ReleaseError(Exception):
    """A release step cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class Distribution:
    """One package under packages/: its folder, name, version and requirements (as written)."""

    folder: Path
    name: str
    version: Version
    requirements: dict[str, Requirement]

    @property
    def pyproject(self) -> Path:
        return self.folder / "pyproject.toml"

    @property
    def changelog(self) -> Path:
        return self.folder / "CHANGELOG.md"

    @property
    def key(self) -> str:
        return canonicalize_name(self.name)


def load(root: Path) -> dict[str, Distribution]:
    """Return every distribution under *root*/packages, by canonical name."""
    distributions = {}
    for pyproject in sorted((root / "packages").glob("*/pyproject.toml")):
        with pyproject.open("rb") as file:
            project = tomllib.load(file)["project"]
        written = list(project.get("dependencies", []))
        for extra in project.get("optional-dependencies", {}).values():
            written += extra
        distribution = Distribution(
            folder=pyproject.parent,
            name=project["name"],
            version=Version(project["version"]),
            requirements={text: Requirement(text) for text in written},
        )
        distributions[distribution.key] = distribution
    if not distributions:
        raise ReleaseError(f"no packages/*/pyproject.toml under {root}; pass the repo's --root")
    return distributions


def check(root: Path) -> list[str]:
    """Return one message per disagreement between versions, pins, ranges and changelogs."""
    distributions = load(root)
    problems = []
    for distribution in distributions.values():
        where = distribution.pyproject.relative_to(root)
        for written, requirement in distribution.requirements.items():
            sibling = distributions.get(canonicalize_name(requirement.name))
            if sibling is None:
                continue
            pins = [spec for spec in requirement.specifier if spec.operator == "=="]
            if pins and any(Version(pin.version) != sibling.version for pin in pins):
                problems.append(
                    f"{where} pins {written}, but {sibling.name} is at {sibling.version}: "
                    f"run `python tools/release.py bump {sibling.name} <version>` to move the "
                    f"pins with the version, or set the pin to {sibling.name}=={sibling.version}."
                )
            elif not requirement.specifier.contains(sibling.version, prereleases=True):
                problems.append(
                    f"{where} requires {written}, which excludes {sibling.name}'s current "
                    f"version {sibling.version}: widen the range if {distribution.name} works "
                    f"with it (and release {distribution.name}), or keep {sibling.name} inside it."
                )
        if not _has_section(distribution.changelog.read_text(), distribution.version):
            problems.append(
                f"{distribution.changelog.relative_to(root)} has no section for "
                f"{distribution.name} {distribution.version}: add `## {distribution.version}` "
                f"with what changed for users."
            )
    return problems


def bump(root: Path, name: str, new: str, today: datetime.date) -> list[Path]:
    """Release *name* as version *new*; return the files changed, relative to *root*."""
    distributions = load(root)
    distribution = distributions.get(canonicalize_name(name))
    if distribution is None:
        known = ", ".join(sorted(d.name for d in distributions.values()))
        raise ReleaseError(f"no distribution named {name!r}; the distributions are: {known}.")
    try:
        version = Version(new)
    except InvalidVersion:
        raise ReleaseError(f"{new!r} is not a version (PEP 440), e.g. 0.1.1.") from None
    if version <= distribution.version:
        raise ReleaseError(
            f"{distribution.name} is at {distribution.version}; the new version must be "
            f"higher, not {version}."
        )

    changed = {
        distribution.pyproject: _set_version(distribution.pyproject.read_text(), version),
        distribution.changelog: _release_changelog(
            distribution.changelog.read_text(), distribution.changelog, version, today
        ),
    }
    for other in distributions.values():
        if other is distribution:
            continue
        text = other.pyproject.read_text()
        pinned = _repin(text, distribution.key, version)
        if pinned != text:
            changed[other.pyproject] = pinned
    for path, text in changed.items():
        path.write_text(text)
    return sorted(path.relative_to(root) for path in changed)


def _set_version(pyproject: str, version: Version) -> str:
    """Return *pyproject* with its [project] version set to *version*."""
    updated, count = re.subn(
        r'^(version\s*=\s*)"[^"]*"', rf'\g<1>"{version}"', pyproject, count=1, flags=re.MULTILINE
    )
    if count != 1:
        raise ReleaseError('no `version = "..."` line in the [project] table to bump.')
    return updated


def _release_changelog(text: str, path: Path, version: Version, today: datetime.date) -> str:
    """Return *text* with its unreleased items moved under a new section for *version*."""
    heading = UNRELEASED_HEADING.search(text)
    if heading is None:
        raise ReleaseError(
            f"{path} has no `{UNRELEASED}` section: add one above the released versions, "
            f"listing what changed for users, then bump again."
        )
    following = SECTION_HEADING.search(text, heading.end())
    end = following.start() if following else len(text)
    items = text[heading.end() : end].strip()
    if not items:
        raise ReleaseError(
            f"{path}: the `{heading.group(0)}` section is empty. List what changed for users "
            f"(in the past tense) before releasing {version}."
        )
    released = f"{UNRELEASED}\n\n## {version} — {today.isoformat()}\n\n{items}\n\n"
    return text[: heading.start()] + released + text[end:].lstrip("\n")


def _repin(pyproject: str, key: str, version: Version) -> str:
    """Return *pyproject* with every exact pin of the distribution *key* set to *version*."""

    def replace(match: re.Match[str]) -> str:
        if canonicalize_name(match.group("name")) != key:
            return match.group(0)
        return f'"{match.group("name")}=={version}"'

    return PIN.sub(replace, pyproject)


def _has_section(changelog: str, version: Version) -> bool:
    return re.search(rf"^## {re.escape(str(version))}\b", changelog, re.MULTILINE) is not None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--root", type=Path, default=ROOT, help="the repository (default: this one)"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    bump_parser = commands.add_parser("bump", help="release one distribution as a new version")
    bump_parser.add_argument("distribution", help="e.g. vinyl-pg")
    bump_parser.add_argument("version", help="e.g. 0.1.1")
    commands.add_parser("check", help="fail if a pin, range or changelog disagrees with a version")
    args = parser.parse_args(argv)

    try:
        if args.command == "bump":
            changed = bump(args.root, args.distribution, args.version, datetime.date.today())
            print("changed: " + ", ".join(str(path) for path in changed))
        problems = check(args.root)
    except ReleaseError as exc:
        print(f"release: {exc}", file=sys.stderr)
        return 1
    for problem in problems:
        print(f"release check: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

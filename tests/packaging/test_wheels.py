"""Build the seven wheels from the package sources and install them the way users will.

The wheels are built once per session from ``packages/*`` with the PEP 517 backend each
``pyproject.toml`` declares, then installed into fresh virtualenvs with pip, beside the Django
this test runs with: Pants runs this file in both resolves, so the wheels are installed once
with Django 6.1 and once with Django 5.2. Third-party packages come from the package index
(pip's download cache makes repeated runs fast).
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import tomllib
import venv
from contextlib import chdir
from pathlib import Path
from typing import Any

import django
import hatchling.build
import pytest

PACKAGES = Path(__file__).resolve().parents[2] / "packages"

COMPONENTS = ["vinyl-query", "vinyl-model", "vinyl-pg", "vinyl-mysql", "vinyl-sqlite"]
META_PACKAGES = ["vinyl_async", "vinyl_sync"]
ALL_IMPORTS = [
    "vinyl.query",
    "vinyl.pg",
    "vinyl.postgresql_backend",
    "vinyl.mysql",
    "vinyl.mysql_backend",
    "vinyl.sqlite",
    "vinyl.sqlite3_backend",
    "vinyl.model",
    "vinyl_async",
    "vinyl_sync",
]

# Run inside the fresh virtualenv: import each module, report what got installed.
PROBE = """
import importlib, importlib.metadata, json, sys
imported, missing = [], {}
for module in sys.argv[2:]:
    try:
        importlib.import_module(module)
        imported.append(module)
    except ImportError as exc:
        missing[module] = str(exc)
versions = {}
for name in sys.argv[1].split(","):
    try:
        versions[name] = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        versions[name] = None
print(json.dumps({"imported": imported, "missing": missing, "versions": versions}))
"""


def _pyproject(name: str) -> dict[str, Any]:
    with (PACKAGES / name / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)


def _version(name: str) -> str:
    """Return the version packages/*name*/pyproject.toml declares."""
    return str(_pyproject(name)["project"]["version"])


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build one wheel per package folder into a fresh directory."""
    out = tmp_path_factory.mktemp("wheelhouse")
    for name in COMPONENTS + META_PACKAGES:
        backend = _pyproject(name)["build-system"]["build-backend"]
        assert backend == "hatchling.build", (
            f"packages/{name} now builds with {backend!r}; build it here with that backend"
        )
        # PEP 517 runs the build hooks from the project's folder.
        with chdir(PACKAGES / name):
            hatchling.build.build_wheel(str(out))
    return out


class Venv:
    """A fresh virtualenv with pip, into which the wheels are installed."""

    def __init__(self, path: Path) -> None:
        venv.EnvBuilder(with_pip=True, clear=True).create(path)
        self.python = path / "bin" / "python"

    def install(self, wheelhouse: Path, *requirements: str) -> None:
        subprocess.run(
            [
                str(self.python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--find-links",
                str(wheelhouse),
                *requirements,
            ],
            check=True,
            env={**os.environ, "PIP_NO_INPUT": "1"},
        )

    def run(self, code: str) -> str:
        """Return what the Python *code* prints when run in the virtualenv."""
        result = subprocess.run(
            [str(self.python), "-c", code], check=True, capture_output=True, text=True
        )
        return result.stdout

    def probe(self, distributions: list[str], modules: list[str]) -> dict[str, Any]:
        """Return which *modules* import and which version of each distribution is installed."""
        result = subprocess.run(
            [str(self.python), "-c", PROBE, ",".join(distributions), *modules],
            check=True,
            capture_output=True,
            text=True,
        )
        found: dict[str, Any] = json.loads(result.stdout)
        return found


@pytest.fixture
def fresh_venv(tmp_path: Path) -> Venv:
    return Venv(tmp_path / "venv")


def _this_django() -> str:
    """Pin the Django this test runs with, so each resolve installs its own Django version."""
    return f"django=={django.__version__}"


def test_seven_wheels_are_built(wheelhouse: Path) -> None:
    built = sorted(path.name.split("-")[0] for path in wheelhouse.glob("*.whl"))
    expected = sorted(name.replace("-", "_") for name in COMPONENTS + META_PACKAGES)
    assert built == expected


def test_meta_packages_install_every_component_at_its_pinned_version(
    wheelhouse: Path, fresh_venv: Venv
) -> None:
    fresh_venv.install(wheelhouse, "vinyl_async", "vinyl_sync", _this_django())

    report = fresh_venv.probe(COMPONENTS + META_PACKAGES + ["django"], ALL_IMPORTS)

    assert report["missing"] == {}
    assert report["imported"] == ALL_IMPORTS
    expected = {name: _version(name) for name in COMPONENTS + META_PACKAGES}
    expected["django"] = django.__version__
    assert report["versions"] == expected


def test_vinyl_pg_installs_alone_without_the_model_layer(
    wheelhouse: Path, fresh_venv: Venv
) -> None:
    fresh_venv.install(wheelhouse, "vinyl-pg", _this_django())

    report = fresh_venv.probe(
        ["vinyl-pg", "vinyl-query", "vinyl-model", "vinyl-mysql", "vinyl_async", "vinyl_sync"],
        ["vinyl.pg", "vinyl.postgresql_backend", "vinyl.query", "vinyl.model", "vinyl.mysql"],
    )

    assert report["imported"] == ["vinyl.pg", "vinyl.postgresql_backend", "vinyl.query"]
    assert sorted(report["missing"]) == ["vinyl.model", "vinyl.mysql"]
    assert report["versions"] == {
        "vinyl-pg": _version("vinyl-pg"),
        "vinyl-query": _version("vinyl-query"),
        "vinyl-model": None,
        "vinyl-mysql": None,
        "vinyl_async": None,
        "vinyl_sync": None,
    }


def test_vinyl_sqlite_installs_alone_and_builds_sqlite_sql(
    wheelhouse: Path, fresh_venv: Venv
) -> None:
    fresh_venv.install(wheelhouse, "vinyl-sqlite", _this_django())
    script = (
        "import django; from django.conf import settings; "
        "settings.configure(INSTALLED_APPS=['django.contrib.contenttypes']); django.setup(); "
        "from django.contrib.contenttypes.models import ContentType; "
        "from vinyl.sqlite import to_sql; "
        "print(to_sql(ContentType.objects.filter(model='x'))[0])"
    )

    report = fresh_venv.probe(
        ["vinyl-sqlite", "vinyl-query", "aiosqlite", "vinyl-model", "vinyl-pg"],
        ["vinyl.sqlite", "vinyl.sqlite3_backend", "vinyl.query", "vinyl.model", "vinyl.pg"],
    )
    sql = fresh_venv.run(script)

    assert report["imported"] == ["vinyl.sqlite", "vinyl.sqlite3_backend", "vinyl.query"]
    assert sorted(report["missing"]) == ["vinyl.model", "vinyl.pg"]
    assert report["versions"]["vinyl-sqlite"] == _version("vinyl-sqlite")
    assert report["versions"]["aiosqlite"] is not None
    assert (report["versions"]["vinyl-model"], report["versions"]["vinyl-pg"]) == (None, None)
    assert sql.strip().endswith('WHERE "django_content_type"."model" = ?')


# Run inside the fresh virtualenv, from a folder holding the app "shop" (the README's example
# as its models.py): create the tables, seed one author and book with Django's own manager,
# then run the example's main() as written.
README_EXAMPLE_RUNNER = """
import asyncio, django
from django.conf import settings
settings.configure(
    INSTALLED_APPS=["shop"],
    DATABASES={
        "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "shop.sqlite3"},
        "vinyl": {"ENGINE": "vinyl.sqlite3_backend", "NAME": "shop.sqlite3"},
    },
    DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
    USE_TZ=True,
)
django.setup()
from django.core.management import call_command
call_command("migrate", run_syncdb=True, verbosity=0)
from shop.models import Author, Book, main
alan = Author.objects.create(name="Alan")
Book._default_manager.create(pk=1, title="Old tales", author=alan)
asyncio.run(main())
"""


def _readme_example() -> str:
    """Return the first Python block of the README's "Example" section."""
    readme = (PACKAGES.parent / "README.md").read_text()
    section = readme.split("\n## Example\n", 1)[1]
    return section.split("```python\n", 1)[1].split("\n```", 1)[0]


def test_readme_example_runs_on_sqlite_with_only_vinyl_async_installed(
    wheelhouse: Path, fresh_venv: Venv, tmp_path: Path
) -> None:
    # Issue 18: no database server, only the wheels of vinyl_async and what they pull in.
    fresh_venv.install(wheelhouse, "vinyl_async", _this_django())
    project = tmp_path / "project"
    (project / "shop").mkdir(parents=True)
    (project / "shop" / "__init__.py").write_text("")
    (project / "shop" / "models.py").write_text(_readme_example())

    result = subprocess.run(
        [str(fresh_venv.python), "-c", README_EXAMPLE_RUNNER],
        cwd=project,
        capture_output=True,
        text=True,
        # No server is reachable through these, should anything try one.
        env={**os.environ, "PGHOST": "/nonexistent", "MYSQL_HOST": "/nonexistent"},
    )

    assert result.returncode == 0, result.stderr
    # The reads of main(): the author list with its books, the book's author twice, a count.
    assert result.stdout.splitlines() == ["Alan ['Old tales']", "Alan", "Alan", "0"]
    # Its writes, committed to the file: Ada created, the book moved to her, then both books
    # of hers deleted in the transaction() block.
    with sqlite3.connect(project / "shop.sqlite3") as database:
        authors = database.execute("SELECT name FROM shop_author ORDER BY id").fetchall()
        books = database.execute("SELECT title FROM shop_book").fetchall()
    assert authors == [("Alan",), ("Ada",)]
    assert books == []

"""tools/layers.py: the import-layer check passes on a clean tree and names what breaks it."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from vinyl_testing.scripts import load_script

ROOT = Path(__file__).resolve().parent.parent

# tools/ is not a package, nor on pytest's import path.
layers = load_script(ROOT / "tools" / "layers.py")

# A small tree shaped like the repo's: query at the bottom, a backend, the model layer on top.
CLEAN_TREE = {
    "vinyl-query/src/vinyl/query/__init__.py": "from vinyl.query.compiler import compile\n",
    "vinyl-query/src/vinyl/query/compiler.py": "import django\n\ndef compile(): ...\n",
    "vinyl-query/src/vinyl/query/_async/__init__.py": "from .scope import scope\n",
    "vinyl-query/src/vinyl/query/_async/scope.py": "from vinyl.query import compiler\n",
    "vinyl-pg/src/vinyl/pg/__init__.py": "from vinyl.pg.dialect import Dialect\n",
    "vinyl-pg/src/vinyl/pg/dialect.py": "import asyncpg\nfrom vinyl.query import compiler\n",
    "vinyl-model/src/vinyl/model/_async/__init__.py": (
        "from vinyl.model._async.manager import VinylManager\n"
    ),
    "vinyl-model/src/vinyl/model/_async/manager.py": (
        "from vinyl.model._async import queryset as querysets\n\nclass VinylManager: ...\n"
    ),
    "vinyl-model/src/vinyl/model/_async/queryset.py": (
        "from typing import TYPE_CHECKING\n\n"
        "from vinyl.model._async.instance import save\n"
        "from vinyl.query._async.scope import scope\n\n"
        "if TYPE_CHECKING:\n"
        "    from vinyl.model._async.manager import VinylManager\n"
    ),
    "vinyl-model/src/vinyl/model/_async/instance.py": "def save(): ...\n",
    "vinyl-model/src/vinyl/model/_sync/__init__.py": "",
    "vinyl-model/src/vinyl/model/_sync/queryset.py": "from ._helpers import helper\n",
    "vinyl-model/src/vinyl/model/_sync/_helpers.py": "def helper(): ...\n",
    "vinyl_async/src/vinyl_async/__init__.py": "from vinyl.model._async import VinylManager\n",
}


def make_tree(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / "packages" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def run(root: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    status = layers.main([str(root)])
    captured = capsys.readouterr()
    return status, captured.out + captured.err


def test_clean_tree_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, output = run(make_tree(tmp_path, CLEAN_TREE), capsys)
    assert status == 0, output
    assert output.startswith("layers: OK, 14 modules in 4 packages")


def test_module_level_cycle_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = dict(CLEAN_TREE)
    files["vinyl-model/src/vinyl/model/_async/instance.py"] = (
        "from vinyl.model._async.queryset import VinylQuerySet\n"
    )
    status, output = run(make_tree(tmp_path, files), capsys)
    assert status == 1
    assert (
        "layers: import cycle in vinyl-model among 2 modules: "
        "vinyl.model._async.instance, vinyl.model._async.queryset\n"
        "  for example: vinyl.model._async.instance -> vinyl.model._async.queryset"
        " -> vinyl.model._async.instance\n"
    ) in output
    assert (
        "packages/vinyl-model/src/vinyl/model/_async/instance.py:1: "
        "vinyl.model._async.instance imports vinyl.model._async.queryset\n"
    ) in output
    assert (
        "packages/vinyl-model/src/vinyl/model/_async/queryset.py:3: "
        "vinyl.model._async.queryset imports vinyl.model._async.instance\n"
    ) in output
    assert "layers: FAILED, 1 problem(s)" in output


def test_function_level_cycle_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A lazy import inside a function is still a cycle, and a relative one is resolved."""
    files = dict(CLEAN_TREE)
    files["vinyl-model/src/vinyl/model/_sync/_helpers.py"] = """\
        def helper():
            from . import queryset

            return queryset
        """
    status, output = run(make_tree(tmp_path, files), capsys)
    assert status == 1
    assert "import cycle in vinyl-model among 2 modules" in output
    assert (
        "packages/vinyl-model/src/vinyl/model/_sync/_helpers.py:2: vinyl.model._sync._helpers "
        "imports vinyl.model._sync.queryset (inside a function)\n"
    ) in output


def test_longer_cycle_names_every_module(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = dict(CLEAN_TREE)
    files["vinyl-model/src/vinyl/model/_async/instance.py"] = "import vinyl.model._async.manager\n"
    status, output = run(make_tree(tmp_path, files), capsys)
    assert status == 1
    assert (
        "for example: vinyl.model._async.instance -> vinyl.model._async.manager"
        " -> vinyl.model._async.queryset -> vinyl.model._async.instance\n"
    ) in output


def test_type_checking_import_is_no_cycle(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """queryset imports manager only under TYPE_CHECKING in the clean tree; so does this."""
    files = dict(CLEAN_TREE)
    files["vinyl-model/src/vinyl/model/_async/instance.py"] = """\
        import typing

        if typing.TYPE_CHECKING:
            from vinyl.model._async.queryset import VinylQuerySet
        """
    status, output = run(make_tree(tmp_path, files), capsys)
    assert status == 0, output


def test_query_importing_model_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = dict(CLEAN_TREE)
    files["vinyl-query/src/vinyl/query/compiler.py"] = """\
        import django


        def compile():
            from vinyl.model._async import VinylManager
        """
    status, output = run(make_tree(tmp_path, files), capsys)
    assert status == 1
    assert (
        "layers: forbidden import: packages/vinyl-query/src/vinyl/query/compiler.py:5: "
        "vinyl.query.compiler (vinyl-query) imports vinyl.model._async; vinyl-query sits "
        "below vinyl-model and must not import vinyl.model\n"
    ) in output


@pytest.mark.parametrize(
    "source",
    ["from vinyl import model\n", "import vinyl.model._sync.queryset\n"],
)
def test_backend_importing_model_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], source: str
) -> None:
    files = dict(CLEAN_TREE)
    files["vinyl-pg/src/vinyl/pg/dialect.py"] = source
    status, output = run(make_tree(tmp_path, files), capsys)
    assert status == 1
    assert "forbidden import: packages/vinyl-pg/src/vinyl/pg/dialect.py:1: " in output
    assert "vinyl-pg sits below vinyl-model" in output


def test_query_importing_a_driver_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = dict(CLEAN_TREE)
    files["vinyl-query/src/vinyl/query/_async/scope.py"] = """\
        from typing import TYPE_CHECKING

        if TYPE_CHECKING:
            from psycopg2.extensions import connection
        """
    status, output = run(make_tree(tmp_path, files), capsys)
    assert status == 1
    assert (
        "forbidden import: packages/vinyl-query/src/vinyl/query/_async/scope.py:4: "
        "vinyl.query._async.scope (vinyl-query) imports the driver psycopg2.extensions "
        "(under TYPE_CHECKING)"
    ) in output


def test_repository_passes(capsys: pytest.CaptureFixture[str]) -> None:
    """The packages of this repository: no import cycle, every layer in its place."""
    status, output = run(ROOT, capsys)
    assert status == 0, output

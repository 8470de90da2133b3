"""Check the import layers of the packages under packages/*/src (stdlib only, AST-based).

Fails (exit 1) on:

- an import cycle among the modules of one distribution. Every import of a sibling module
  counts, at module level or inside a function (a lazy import only moves the cycle to run
  time), except one under ``if TYPE_CHECKING:``, which never runs;
- an import of ``vinyl.model`` from vinyl-query or a backend (vinyl-pg, vinyl-mysql,
  vinyl-sqlite): the model layer sits on top of them, never below;
- an import of a database driver from vinyl-query, which is written against the backend
  protocols and imports no driver.

The two layer rules count imports under ``if TYPE_CHECKING:`` too: an annotation that names
a package the distribution does not depend on breaks type checking where it is installed alone.

``from pkg import name`` is an import of module ``pkg.name`` when that module exists (so
``from vinyl.model._async import queryset as querysets`` imports
``vinyl.model._async.queryset``), otherwise of ``pkg``. Importing ``a.b.c`` runs
``a/b/__init__.py`` first; that is not counted as an import of ``a.b``, or every package that
re-exports its submodules would be a cycle. The generated ``_sync/`` modules are checked like
the rest.

Usage: ``python tools/layers.py [ROOT]`` (ROOT defaults to this repository).
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import defaultdict, deque
from dataclasses import dataclass
from pathlib import Path

# Distributions that must never import the model layer, and the reason given.
MODEL = "vinyl.model"
BELOW_MODEL = ("vinyl-query", "vinyl-pg", "vinyl-mysql", "vinyl-sqlite")
# Top-level names of the database drivers vinyl-query must not import.
DRIVERS = (
    "asyncpg",
    "aiomysql",
    "asyncmy",
    "pymysql",
    "MySQLdb",
    "psycopg2",
    "psycopg",
    "aiosqlite",
)
QUERY = "vinyl-query"


@dataclass(frozen=True)
class Import:
    """One imported module name, where it is written and how it runs."""

    target: str
    path: Path
    line: int
    in_function: bool
    type_checking: bool

    def where(self, root: Path) -> str:
        return f"{_relative(self.path, root)}:{self.line}"


@dataclass
class Module:
    name: str
    distribution: str
    path: Path
    is_package: bool
    imports: list[Import]


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def discover(root: Path) -> tuple[dict[str, Module], set[str]]:
    """Return every module under packages/*/src by name, and every package folder's name."""
    modules: dict[str, Module] = {}
    folders: set[str] = set()
    for src in sorted((root / "packages").glob("*/src")):
        distribution = src.parent.name
        for path in sorted(src.rglob("*.py")):
            if "__pycache__" in path.parts or path.name == "backend_shim.py":
                continue
            parts = list(path.relative_to(src).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            if is_package:
                parts.pop()
            if not parts:
                continue
            for depth in range(1, len(parts) + (0 if is_package else -1) + 1):
                folders.add(".".join(parts[:depth]))
            name = ".".join(parts)
            modules[name] = Module(name, distribution, path, is_package, imports=[])
    return modules, folders


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    if isinstance(test, ast.Attribute):
        return test.attr == "TYPE_CHECKING"
    return False


class _ImportCollector(ast.NodeVisitor):
    """Collect the imports of one module with their line, scope and TYPE_CHECKING guard."""

    def __init__(self, module: Module, known: set[str]) -> None:
        self.module = module
        self.known = known
        self.function_depth = 0
        self.type_checking_depth = 0
        self.found: list[Import] = []

    def _add(self, target: str, node: ast.stmt) -> None:
        if any(f.target == target and f.line == node.lineno for f in self.found):
            return  # `from m import a, b`: one import of m
        self.found.append(
            Import(
                target=target,
                path=self.module.path,
                line=node.lineno,
                in_function=self.function_depth > 0,
                type_checking=self.type_checking_depth > 0,
            )
        )

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        self.function_depth += 1
        self.generic_visit(node)
        self.function_depth -= 1

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function
    visit_Lambda = _function

    def visit_If(self, node: ast.If) -> None:
        if not _is_type_checking(node.test):
            self.generic_visit(node)
            return
        self.visit(node.test)
        self.type_checking_depth += 1
        for statement in node.body:
            self.visit(statement)
        self.type_checking_depth -= 1
        # The else branch is what runs.
        for statement in node.orelse:
            self.visit(statement)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = self._base(node)
        if base is None:
            return
        for alias in node.names:
            candidate = f"{base}.{alias.name}" if base else alias.name
            if alias.name != "*" and candidate in self.known:
                self._add(candidate, node)
            elif base:
                self._add(base, node)

    def _base(self, node: ast.ImportFrom) -> str | None:
        """Return the absolute module name *node* imports from (None if it leaves the tree)."""
        if not node.level:
            return node.module or ""
        package = self.module.name.split(".")
        if not self.module.is_package:
            package.pop()
        if node.level - 1 > len(package):
            return None
        package = package[: len(package) - (node.level - 1)]
        return ".".join([*package, *([node.module] if node.module else [])])


def collect(modules: dict[str, Module], folders: set[str]) -> None:
    """Fill in each module's imports."""
    known = set(modules) | folders
    for module in modules.values():
        tree = ast.parse(module.path.read_bytes(), filename=str(module.path))
        collector = _ImportCollector(module, known)
        collector.visit(tree)
        module.imports = collector.found


def _strongly_connected(graph: dict[str, list[str]]) -> list[list[str]]:
    """Return the strongly connected components of *graph* (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(graph[start]))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph[child])))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    components.append(sorted(component))
    return components


def _shortest_cycle(start: str, graph: dict[str, list[str]], members: set[str]) -> list[str]:
    """Return a shortest cycle through *start* inside *members*: [start, ..., start]."""
    previous: dict[str, str] = {}
    queue = deque([start])
    seen = {start}
    while queue:
        node = queue.popleft()
        for child in graph[node]:
            if child not in members:
                continue
            if child == start:
                path = [node]
                while path[-1] != start:
                    path.append(previous[path[-1]])
                return [start, *reversed(path[:-1]), start] if node != start else [start, start]
            if child not in seen:
                seen.add(child)
                previous[child] = node
                queue.append(child)
    return [start]


def find_cycles(modules: dict[str, Module], root: Path) -> list[str]:
    """Return one message per import cycle inside a distribution."""
    # Edges between modules of one distribution, each with the imports that make it.
    edges: dict[tuple[str, str], list[Import]] = defaultdict(list)
    graph: dict[str, list[str]] = {name: [] for name in modules}
    for module in modules.values():
        for imported in module.imports:
            target = modules.get(imported.target)
            if (
                imported.type_checking
                or target is None
                or target.name == module.name
                or target.distribution != module.distribution
            ):
                continue
            if (module.name, target.name) not in edges:
                graph[module.name].append(target.name)
            edges[module.name, target.name].append(imported)
    problems = []
    for component in _strongly_connected(graph):
        if len(component) < 2:
            continue
        members = set(component)
        distribution = modules[component[0]].distribution
        cycle = _shortest_cycle(component[0], graph, members)
        lines = [
            f"import cycle in {distribution} among {len(component)} modules: "
            + ", ".join(component),
            "  for example: " + " -> ".join(cycle),
            "  imports inside the cycle (cut one so the modules form a tree):",
        ]
        for (source, target), imports in sorted(edges.items()):
            if source in members and target in members:
                for imported in imports:
                    scope = " (inside a function)" if imported.in_function else ""
                    lines.append(f"    {imported.where(root)}: {source} imports {target}{scope}")
        problems.append("\n".join(lines))
    return problems


def _is_within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def find_forbidden(modules: dict[str, Module], root: Path) -> list[str]:
    """Return one message per import that crosses a layer the wrong way."""
    problems = []
    for module in sorted(modules.values(), key=lambda m: m.name):
        for imported in module.imports:
            guard = " (under TYPE_CHECKING)" if imported.type_checking else ""
            if module.distribution in BELOW_MODEL and _is_within(imported.target, MODEL):
                problems.append(
                    f"forbidden import: {imported.where(root)}: {module.name} "
                    f"({module.distribution}) imports {imported.target}{guard}; "
                    f"{module.distribution} sits below vinyl-model and must not import "
                    f"{MODEL}"
                )
            top = imported.target.split(".")[0]
            if module.distribution == QUERY and top in DRIVERS:
                problems.append(
                    f"forbidden import: {imported.where(root)}: {module.name} "
                    f"({QUERY}) imports the driver {imported.target}{guard}; "
                    f"{QUERY} imports no driver (a backend package implements the "
                    f"protocols of vinyl.query.backend)"
                )
    return problems


def check(root: Path) -> tuple[list[str], dict[str, Module]]:
    """Return the problems of the tree at *root* and the modules it holds."""
    modules, folders = discover(root)
    collect(modules, folders)
    return find_cycles(modules, root) + find_forbidden(modules, root), modules


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "root",
        nargs="?",
        type=Path,
        default=Path(__file__).resolve().parent.parent,
        help="the repository root (default: this repository)",
    )
    root = parser.parse_args(argv).root.resolve()
    problems, modules = check(root)
    distributions = {module.distribution for module in modules.values()}
    if not modules:
        print(f"layers: no modules under {root}/packages/*/src", file=sys.stderr)
        return 1
    if problems:
        for problem in problems:
            print(f"layers: {problem}", file=sys.stderr)
        print(
            f"layers: FAILED, {len(problems)} problem(s) in {len(modules)} modules "
            f"of {len(distributions)} packages",
            file=sys.stderr,
        )
        return 1
    print(
        f"layers: OK, {len(modules)} modules in {len(distributions)} packages: "
        "no import cycle, no import of vinyl.model below it, no driver in vinyl-query"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Check that mypy rejects the typed example when one of its ``await``s is missing.

For each line of ``typed_example/queries.py`` marked ``# missing-await check``, write a copy
of the module without that line's ``await``, type-check the copies and the unchanged module
in one mypy run (the root pyproject.toml's settings, ``--strict``), and fail unless each copy
has an error on its line that the unchanged module does not have, naming the value that was
not awaited (a ``Coroutine``, an ``Awaitable`` or a queryset), and a vinyl instance in it as
``Instance[Author]``, the annotation a user writes (vinyl's mypy plugin names it so).

Run it with a Python that has mypy and django-stubs (``.ci/run``'s quality venv):
``python examples/typed/check_missing_await.py``.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
EXAMPLE = HERE / "typed_example" / "queries.py"
MARKER = "# missing-await check"
ERROR = re.compile(r"^(?P<path>.+?):(?P<line>\d+): error: (?P<message>.*)$")
# What mypy's message must name: the coroutine or queryset that reached a non-awaitable type.
NOT_AWAITED = re.compile(r"Coroutine|Awaitable|QuerySet")
# What it must not: vinyl's instance class by its internal name (``Author@vinyl_async``), where
# one flavor is in play, instead of the annotation a user writes (``Instance[Author]``).
INTERNAL_NAME = re.compile(r"\w@vinyl_(?:async|sync)\b")


def mypy(files: list[Path]) -> tuple[int, str]:
    command = [sys.executable, "-m", "mypy", "--strict", "--config-file", "pyproject.toml"]
    result = subprocess.run(
        [*command, *map(str, files)], cwd=ROOT, capture_output=True, text=True, check=False
    )
    return result.returncode, result.stdout + result.stderr


def errors_by_file(output: str) -> dict[str, dict[int, list[str]]]:
    found: dict[str, dict[int, list[str]]] = {}
    for line in output.splitlines():
        if match := ERROR.match(line):
            lines = found.setdefault(Path(match["path"]).name, {})
            lines.setdefault(int(match["line"]), []).append(match["message"])
    return found


def main() -> int:
    lines = EXAMPLE.read_text().splitlines(keepends=True)
    marked = [number for number, line in enumerate(lines, 1) if line.rstrip().endswith(MARKER)]
    if not marked:
        print(f"missing-await: no line of {EXAMPLE} is marked {MARKER!r}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="vinyl-missing-await-") as tmp:
        baseline = Path(tmp) / "baseline.py"
        baseline.write_text("".join(lines))
        copies: dict[int, Path] = {}
        for number in marked:
            code, marker, end = lines[number - 1].partition(MARKER)
            if code.count("await ") != 1:
                print(f"missing-await: {EXAMPLE.name}:{number} must hold one `await `: {code}")
                return 1
            changed = list(lines)
            changed[number - 1] = code.replace("await ", "", 1) + marker + end
            copies[number] = Path(tmp) / f"missing_await_line_{number}.py"
            copies[number].write_text("".join(changed))
        status, output = mypy([baseline, *copies.values()])
    if status not in (0, 1):
        print(f"missing-await: mypy failed to run (exit {status}):\n{output}", file=sys.stderr)
        return 1
    found = errors_by_file(output)
    already = found.get(baseline.name, {})
    failures = misnamed = 0
    for number, copy in copies.items():
        code = lines[number - 1].split(MARKER)[0].strip().replace("await ", "", 1)
        new = [
            message
            for message in found.get(copy.name, {}).get(number, [])
            if message not in already.get(number, [])
        ]
        caught = [message for message in new if NOT_AWAITED.search(message)]
        if caught and INTERNAL_NAME.search(caught[0]):
            misnamed += 1
            print(
                f"missing-await: FAILED, mypy's message for {EXAMPLE.name}:{number} names "
                f"vinyl's instance type by its internal name, not Instance[...]: {caught[0]}",
                file=sys.stderr,
            )
        elif caught:
            print(f"missing-await: OK, {EXAMPLE.name}:{number} `{code}`: {caught[0]}")
        else:
            failures += 1
            said = "; ".join(new) if new else "no new error on that line"
            print(
                f"missing-await: FAILED, mypy accepts {EXAMPLE.name}:{number} without its "
                f"await: `{code}` ({said})",
                file=sys.stderr,
            )
    if failures:
        print(
            f"missing-await: FAILED, {failures} of {len(copies)} missing awaits pass mypy "
            "(is the manager typed? an Any result accepts anything)",
            file=sys.stderr,
        )
    if misnamed:
        print(
            f"missing-await: FAILED, {misnamed} of {len(copies)} messages name vinyl's "
            "instance type by its internal name (is mypy_plugin's class name Instance[...]?)",
            file=sys.stderr,
        )
    if failures or misnamed:
        return 1
    print(f"missing-await: OK, mypy rejects each of the {len(copies)} missing awaits")
    return 0


if __name__ == "__main__":
    sys.exit(main())

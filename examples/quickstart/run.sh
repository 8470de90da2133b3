#!/usr/bin/env bash
# Run vinyl's quickstart: a virtualenv (kept in ~/.cache/vinyl-example) with the seven packages
# installed by `pip install -e`, then examples/quickstart/main.py against local PostgreSQL.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="${VINYL_EXAMPLE_VENV:-$HOME/.cache/vinyl-example}"

python312=""
for candidate in /root/.pyenv/versions/3.12.*/bin/python3.12 "$(command -v python3.12 || true)"; do
  [[ -n "$candidate" && -x "$candidate" ]] && { python312="$candidate"; break; }
done
[[ -n "$python312" ]] || { echo "run.sh: vinyl needs Python 3.12+; none found." >&2; exit 1; }

if [[ ! -x "$venv/bin/python" ]]; then
  "$python312" -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check \
  -e "$repo/packages/vinyl-query" -e "$repo/packages/vinyl-pg" -e "$repo/packages/vinyl-mysql" \
  -e "$repo/packages/vinyl-sqlite" -e "$repo/packages/vinyl-model" -e "$repo/packages/vinyl_async" \
  -e "$repo/packages/vinyl_sync"

cd "$here"
exec "$venv/bin/python" main.py

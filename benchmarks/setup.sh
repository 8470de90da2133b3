#!/usr/bin/env bash
# Build the benchmark's own venv and print its path: benchmarks/requirements.txt (with
# mysqlclient, the C driver Django recommends for MySQL and MariaDB) and vinyl's seven packages,
# installed editable. mysqlclient has no Linux wheel: pip builds it against Debian's
# libmariadb-dev, found with pkg-config, which this script installs when they are missing
# (apt-get, as root, like scripts/services.sh). Idempotent: the venv is rebuilt only when
# requirements.txt or the Python changes. Its own venv, not a dev venv: the benchmark pins
# the drivers it reports (RESULTS.md names each contender's), whatever the dev venvs hold.
#   VINYL_BENCH_VENV    where the venv lives (default ~/.cache/vinyl-bench/venv)
#   VINYL_BENCH_PYTHON  the interpreter (default: pyenv's newest 3.12)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
venv="${VINYL_BENCH_VENV:-$HOME/.cache/vinyl-bench/venv}"
requirements=benchmarks/requirements.txt

log() { echo "bench setup: $*" >&2; }
fail() { log "$*"; exit 1; }

python="${VINYL_BENCH_PYTHON:-}"
if [[ -z "$python" ]]; then
  python="$(ls -d /root/.pyenv/versions/3.12.*/bin/python3.12 2>/dev/null | sort -V | tail -n 1)"
  [[ -n "$python" ]] || python="$(command -v python3.12 || true)"
fi
[[ -x "$python" ]] || fail "no Python 3.12 found; set VINYL_BENCH_PYTHON."

# What building mysqlclient needs: a C compiler, pkg-config and the MariaDB client headers.
missing=()
command -v cc >/dev/null || missing+=(gcc)
command -v pkg-config >/dev/null || missing+=(pkg-config)
if ! pkg-config --exists libmariadb 2>/dev/null && ! pkg-config --exists mysqlclient 2>/dev/null; then
  missing+=(libmariadb-dev)
fi
if ((${#missing[@]})); then
  [[ "$(id -u)" == 0 ]] || fail "building mysqlclient needs ${missing[*]}: apt-get install -y ${missing[*]} (as root)."
  log "installing ${missing[*]} from Debian's packages..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

stamp="$(sha256sum "$requirements" | cut -d' ' -f1) $("$python" --version)"
if [[ ! -x "$venv/bin/python" || "$(cat "$venv/.stamp" 2>/dev/null)" != "$stamp" ]]; then
  log "building $venv from $requirements"
  rm -rf "$venv"
  "$python" -m venv "$venv"
  editable=()
  for package in packages/*/; do
    editable+=(-e "$package")
  done
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    -r "$requirements" "${editable[@]}" >&2
  echo "$stamp" >"$venv/.stamp"
fi
# The build fails loudly above; this proves the C driver imports against the installed library.
"$venv/bin/python" -c "import MySQLdb" || fail "mysqlclient does not import in $venv."
echo "$venv"

"""Run the bookshop: ``python3 examples/bookshop/run.py``.

The first run makes a virtualenv (``~/.cache/vinyl-bookshop``, or ``BOOKSHOP_VENV``) with
vinyl's packages from this checkout (``pip install -e``), Django and uvicorn from PyPI; later
runs reuse it, and reinstall when a package's ``pyproject.toml`` changed. Then, in that
virtualenv: ``migrate``, ``load_sample_data`` (only into an empty database: nothing is ever
dropped), and uvicorn serves the site until Ctrl-C, which closes vinyl's pools on its way
out (``bookshop/asgi.py``).

The database is SQLite, ``examples/bookshop/db.sqlite3``, unless ``BOOKSHOP_DATABASE_URL``
names another (``bookshop/settings.py``). ``--no-venv`` runs with this Python, which must
have the packages already (the tests do).
"""

import argparse
import glob
import hashlib
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
VENV = Path(os.environ.get("BOOKSHOP_VENV", Path.home() / ".cache" / "vinyl-bookshop"))
PACKAGES = [
    "vinyl-query",
    "vinyl-pg",
    "vinyl-mysql",
    "vinyl-sqlite",
    "vinyl-model",
    "vinyl_async",
    "vinyl_sync",
]
REQUIREMENTS = ["uvicorn>=0.30", "tqdm>=4.66"]


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run the bookshop example on uvicorn.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--no-access-log", action="store_true", help="log no request")
    parser.add_argument("--no-venv", action="store_true", help="use this Python as it is")
    return parser.parse_args()


def python312() -> str:
    """Return a Python 3.12+ to make the virtualenv with."""
    if sys.version_info >= (3, 12):  # noqa: UP036 (run.py starts under any Python 3)
        return sys.executable
    # pyenv's shims fail unless their version is selected: take the builds themselves.
    for pattern in (
        "/root/.pyenv/versions/3.1[2-9].*/bin/python3.1?",
        "~/.pyenv/versions/3.1[2-9].*/bin/python3.1?",
    ):
        found = sorted(glob.glob(os.path.expanduser(pattern)))
        if found:
            return found[0]  # the oldest: 3.12, the version vinyl is tested with
    for name in ("python3.13", "python3.12"):
        if shutil.which(name):
            return name
    sys.exit("run.py: vinyl needs Python 3.12 or newer, and none was found.")


def install() -> Path:
    """Make or update the virtualenv; return its Python."""
    python = VENV / "bin" / "python"
    stamp = VENV / "bookshop-installed"
    sources = [(REPO / "packages" / name / "pyproject.toml").read_bytes() for name in PACKAGES]
    digest = hashlib.sha256(b"".join(sources) + repr(REQUIREMENTS).encode()).hexdigest()
    if not python.exists():
        print(f"Making a virtualenv in {VENV} ...", flush=True)
        subprocess.run([python312(), "-m", "venv", str(VENV)], check=True)
    if not stamp.exists() or stamp.read_text() != digest:
        print("Installing vinyl (from this checkout), Django, uvicorn and tqdm ...", flush=True)
        editable = [arg for name in PACKAGES for arg in ("-e", str(REPO / "packages" / name))]
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
            + editable
            + REQUIREMENTS,
            check=True,
        )
        stamp.write_text(digest)
    return python


def prepare() -> str:
    """Migrate the database and load the sample data into it if it has no books."""
    import django
    from django.core.management import call_command
    from django.db import connections

    django.setup()
    database = connections["default"].settings_dict
    call_command("migrate", verbosity=0)
    call_command("load_sample_data")
    connections.close_all()  # Django's; uvicorn's event loop runs in this thread next.
    import vinyl_sync

    vinyl_sync.close_pools()  # what load_sample_data opened
    return f"{database['ENGINE']} {database['NAME']}"


def serve(host: str, port: int, access_log: bool, database: str) -> None:
    """Serve the site until uvicorn stops (Ctrl-C), saying where once it listens."""
    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started:
                print(
                    f"\nThe bookshop is at http://{host}:{port}/ (database: {database})\n"
                    f"  JSON API:      http://{host}:{port}/api/books/\n"
                    f"  a-method twin: http://{host}:{port}/api/django/books/\n"
                    "Ctrl-C stops it.\n",
                    flush=True,
                )

    config = uvicorn.Config(
        "bookshop.asgi:application", host=host, port=port, lifespan="on", access_log=access_log
    )
    Server(config).run()


def main() -> None:
    arguments = parse_arguments()
    if not arguments.no_venv and Path(sys.prefix).resolve() != VENV.resolve():
        python = install()
        os.execv(python, [str(python), __file__, *sys.argv[1:]])
    os.chdir(HERE)
    sys.path.insert(0, str(HERE))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bookshop.settings")
    database = prepare()
    try:
        serve(arguments.host, arguments.port, not arguments.no_access_log, database)
    except KeyboardInterrupt:
        pass  # uvicorn raises Ctrl-C again once it has shut down, lifespan included
    print("Stopped; vinyl's pools are closed.")


if __name__ == "__main__":
    main()

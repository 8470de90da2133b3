"""Where the test servers are, from ``VINYL_PG_*`` / ``VINYL_MYSQL_*`` environment variables.

Each test process gets databases of its own (``<name>_<slot>`` when Pants runs test files
in parallel and sets ``TEST_EXECUTION_SLOT``), so concurrent test processes never share rows;
the default name, ``vinyl_test_<tag of the checkout>``, keeps two checkouts apart too.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

SERVICES_SCRIPT = "scripts/services.sh"


@dataclass(frozen=True)
class Server:
    vendor: str
    host: str
    port: int
    user: str
    password: str
    name: str

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def unreachable(self, exc: BaseException) -> str:
        """Return the message a test run fails with when this server cannot be reached."""
        return (
            f"The {self.vendor} test server at {self.address} (user {self.user!r}) is "
            f"unreachable: {exc}. Start it, and create the test databases, with "
            f"`bash {SERVICES_SCRIPT}`; or point the VINYL_{self.vendor.upper()}_HOST/PORT/"
            f"USER/PASSWORD environment variables at a running server."
        )


def _database_name(prefix: str) -> str:
    name = os.environ.get(f"{prefix}_NAME") or f"vinyl_test_{_checkout_tag()}"
    slot = os.environ.get("TEST_EXECUTION_SLOT")
    return f"{name}_{slot}" if slot else name


def _checkout_tag() -> str:
    """Return a short tag of this checkout, for the default database names.

    Two checkouts' test runs on one machine (a CI clone and a working copy) then never
    share a database: each run drops and creates its own at the start. Pants passes the
    checkout's root as ``VINYL_CHECKOUT`` (pants.toml), its sandbox being elsewhere.
    """
    root = os.environ.get("VINYL_CHECKOUT") or str(Path(__file__).resolve().parents[2])
    return hashlib.sha256(root.encode()).hexdigest()[:8]


def postgresql() -> Server:
    return Server(
        vendor="pg",
        host=os.environ.get("VINYL_PG_HOST", "127.0.0.1"),
        port=int(os.environ.get("VINYL_PG_PORT", "5432")),
        user=os.environ.get("VINYL_PG_USER", "postgres"),
        password=os.environ.get("VINYL_PG_PASSWORD", ""),
        name=_database_name("VINYL_PG"),
    )


def mysql() -> Server:
    return Server(
        vendor="mysql",
        host=os.environ.get("VINYL_MYSQL_HOST", "127.0.0.1"),
        port=int(os.environ.get("VINYL_MYSQL_PORT", "3306")),
        user=os.environ.get("VINYL_MYSQL_USER", "root"),
        password=os.environ.get("VINYL_MYSQL_PASSWORD", ""),
        name=_database_name("VINYL_MYSQL"),
    )


def sqlite_path() -> str:
    """Return the path of this test process's SQLite database file (``VINYL_SQLITE_NAME``).

    By default a file of the process's own, so two test processes, or two people running
    tests on one machine, never share it; in memory (``/dev/shm``) where the machine has it,
    as Django's test runner keeps its SQLite test databases in memory: vinyl's connections
    each open the file, and a commit then costs no wait for the disk.
    """
    folder = "/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir()
    default = os.path.join(folder, f"vinyl_test_{os.getpid()}.sqlite3")
    return os.environ.get("VINYL_SQLITE_NAME", default)

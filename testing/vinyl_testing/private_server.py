"""Private database servers, for tests that stop, restart or otherwise disturb a server.

Each one is made from nothing in a temporary directory (PostgreSQL: a cluster made with
``initdb``; MariaDB: a datadir made with ``mariadb-install-db``) and listens on 127.0.0.1,
on a free port of its own, so the shared test servers (5432, 3306) and the tests running
beside it are never touched. Under root (CI and the dev machines) each server runs as its
system user, ``postgres`` or ``mysql``, as ``scripts/services.sh`` runs the shared ones;
under another user, as that user.

    with private_server("postgresql") as server:
        settings.DATABASES["mine"] = server.database("vinyl.postgresql_backend")
        ...
        server.restart()

Making and starting one costs about a second (PostgreSQL) or less (MariaDB); stopping it
costs a tenth of a second.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["PrivateServer", "free_port", "private_server"]

INITDB = "/usr/local/bin/initdb"
PG_CTL = "/usr/local/bin/pg_ctl"
MARIADB_INSTALL_DB = "/usr/bin/mariadb-install-db"
MARIADBD = "/usr/sbin/mariadbd"

#: The database each private server holds for the test.
DATABASE = "vinyl_private"
#: How long a server may take to start or stop before the test fails naming its log.
WAIT_SECONDS = 30.0


def free_port() -> int:
    """Return a TCP port of 127.0.0.1 that no one listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _system_user(name: str) -> str | None:
    # Neither server runs as root; as another user, it runs as that user.
    return name if os.geteuid() == 0 else None


class PrivateServer:
    """A server of *vendor* (Django's name: ``postgresql`` or ``mysql``) in *directory*.

    Started by :func:`private_server`; :meth:`stop`, :meth:`start` and :meth:`restart` keep
    its port and data, so clients reconnect to the same address.
    """

    vendor: str
    user: str
    #: Django's ENGINE for this server, for the oracle's alias.
    django_engine: str

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.host = "127.0.0.1"
        self.port = free_port()
        self.password = ""
        self.name = DATABASE

    def create(self) -> None:
        """Make the server's data directory."""
        raise NotImplementedError

    def start(self) -> None:
        """Start the server; return once it accepts connections."""
        raise NotImplementedError

    def stop(self) -> None:
        """Stop the server at once: its sessions are ended, open transactions rolled back."""
        raise NotImplementedError

    def connect(self, database: str | None = DATABASE) -> Any:
        """Return a new DB-API connection (the driver Django uses) in autocommit mode, to
        *database* (``None``: the server's default one)."""
        raise NotImplementedError

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """Run *sql* on a connection of its own (not vinyl's); return its rows, if any."""
        conn = self.connect()
        try:
            with conn.cursor() as cursor:
                cursor.execute(sql)
                return [tuple(row) for row in cursor.fetchall()] if cursor.description else []
        finally:
            conn.close()

    def create_database(self) -> None:
        """Create :data:`DATABASE` on the running server."""
        conn = self.connect(None)
        try:
            with conn.cursor() as cursor:
                cursor.execute(f"CREATE DATABASE {self.name}")
        finally:
            conn.close()

    def restart(self) -> None:
        """Stop the server and start it again on the same port."""
        self.stop()
        self.start()

    def database(self, engine: str, **options: Any) -> dict[str, Any]:
        """Return a ``DATABASES`` entry of *engine* for this server's database."""
        return {
            "ENGINE": engine,
            "NAME": self.name,
            "USER": self.user,
            "PASSWORD": self.password,
            "HOST": self.host,
            "PORT": str(self.port),
            "OPTIONS": dict(options),
            "TEST": {"NAME": self.name},
        }

    def log_tail(self) -> str:
        """Return the end of the server's log, for a failure message."""
        log = self.directory / "server.log"
        return log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"

    def _run(self, command: list[str], user: str | None) -> None:
        result = subprocess.run(
            command, user=user, capture_output=True, text=True, check=False, cwd=self.directory
        )
        if result.returncode:
            raise RuntimeError(
                f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}"
                f"{result.stderr}\n{self.log_tail()}"
            )


class PostgreSQLServer(PrivateServer):
    """A PostgreSQL cluster made with ``initdb``; ``pg_ctl`` starts and stops it."""

    vendor = "postgresql"
    user = "postgres"
    django_engine = "django.db.backends.postgresql"

    def create(self) -> None:
        """Make the cluster: superuser ``postgres``, trusted, no fsync while made."""
        self._run(
            [
                INITDB,
                "-D",
                str(self.directory / "data"),
                "-U",
                self.user,
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
                "--no-instructions",
            ],
            _system_user("postgres"),
        )

    def start(self) -> None:
        """Start it with ``pg_ctl -w``: it returns once the server accepts connections."""
        settings = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 "
            f"-c unix_socket_directories={self.directory} -c fsync=off "
            f"-c shared_buffers=16MB"
        )
        self._run(
            [
                PG_CTL,
                "start",
                "-w",
                "-t",
                str(int(WAIT_SECONDS)),
                "-D",
                str(self.directory / "data"),
                "-l",
                str(self.directory / "server.log"),
                "-o",
                settings,
            ],
            _system_user("postgres"),
        )

    def stop(self) -> None:
        """Stop it in ``fast`` mode: sessions are terminated, transactions rolled back."""
        self._run(
            [
                PG_CTL,
                "stop",
                "-w",
                "-m",
                "fast",
                "-t",
                str(int(WAIT_SECONDS)),
                "-D",
                str(self.directory / "data"),
            ],
            _system_user("postgres"),
        )

    def connect(self, database: str | None = DATABASE) -> Any:
        import psycopg2

        conn = psycopg2.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            dbname=database or "postgres",
            connect_timeout=5,
        )
        conn.autocommit = True
        return conn


class MariaDBServer(PrivateServer):
    """A MariaDB datadir made with ``mariadb-install-db``, served by ``mariadbd`` directly."""

    vendor = "mysql"
    user = "root"
    django_engine = "django.db.backends.mysql"

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.process: subprocess.Popen[bytes] | None = None

    def _options(self) -> list[str]:
        # --no-defaults: nothing of /etc/mysql (the shared server's port, socket, datadir).
        options = [
            "--no-defaults",
            f"--datadir={self.directory / 'data'}",
            "--skip-name-resolve",
            "--innodb-buffer-pool-size=16M",
        ]
        user = _system_user("mysql")
        return options + ([f"--user={user}"] if user else [])

    def create(self) -> None:
        """Make the datadir; root may log in from 127.0.0.1 without a password."""
        self._run(
            [
                MARIADB_INSTALL_DB,
                *self._options(),
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ],
            None,
        )

    def start(self) -> None:
        """Start ``mariadbd`` (it drops to its ``--user`` itself); wait until it answers."""
        command = [
            MARIADBD,
            *self._options(),
            f"--port={self.port}",
            "--bind-address=127.0.0.1",
            f"--socket={self.directory / 'mysqld.sock'}",
            f"--pid-file={self.directory / 'mysqld.pid'}",
            f"--log-error={self.directory / 'server.log'}",
            "--skip-log-bin",
            # Its buffer pool is not worth saving or reloading: stopping takes 0.05 s, not 2.
            "--innodb-buffer-pool-dump-at-shutdown=0",
            "--innodb-buffer-pool-load-at-startup=0",
        ]
        # What it prints before it opens its log (a max_open_files warning) goes nowhere.
        self.process = subprocess.Popen(
            command, cwd=self.directory, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + WAIT_SECONDS
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"The private MariaDB server on port {self.port} did not start:\n"
                    f"{self.log_tail()}"
                )
            time.sleep(0.02)

    def _answers(self) -> bool:
        import pymysql

        try:
            self.connect(None).close()
        except pymysql.Error:
            return False
        return True

    def stop(self) -> None:
        """Stop it with SIGTERM (a normal shutdown: sessions ended, transactions rolled
        back); wait until the process is gone."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=WAIT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise RuntimeError(
                f"The private MariaDB server on port {self.port} did not stop within "
                f"{WAIT_SECONDS}s:\n{self.log_tail()}"
            ) from None

    def connect(self, database: str | None = DATABASE) -> Any:
        import pymysql

        return pymysql.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            database=database,
            charset="utf8mb4",
            autocommit=True,
            connect_timeout=5,
        )


_SERVERS: dict[str, tuple[type[PrivateServer], str]] = {
    "postgresql": (PostgreSQLServer, "postgres"),
    "mysql": (MariaDBServer, "mysql"),
}


@contextmanager
def private_server(vendor: str) -> Iterator[PrivateServer]:
    """Make and start a server of *vendor* (``postgresql`` or ``mysql``) holding an empty
    :data:`DATABASE`; stop it and delete its files on the way out."""
    cls, owner = _SERVERS[vendor]
    directory = Path(tempfile.mkdtemp(prefix=f"vinyl-private-{vendor}-"))
    if os.geteuid() == 0:
        # The server's own user writes its data, log and socket here.
        shutil.chown(directory, owner, owner)
    server = cls(directory)
    try:
        server.create()
        server.start()
        try:
            server.create_database()
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(directory, ignore_errors=True)

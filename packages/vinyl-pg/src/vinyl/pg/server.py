"""What vinyl knows about a PostgreSQL server's version, without asking it.

Django's PostgreSQL features read ``pg_version`` (a few SQL functions differ by version).
vinyl compiles without I/O: a pool records the version it reads when it connects, and
before any pool has connected (and for ``vinyl.pg.to_sql``) the oldest supported version
stands in, so the SQL works on every supported server.
"""

from __future__ import annotations

import weakref
from typing import Protocol

__all__ = ["DEFAULT_PG_VERSION", "known_version", "record_version", "watch"]

#: PostgreSQL 13.0, the oldest version vinyl supports, in ``server_version_num`` form.
DEFAULT_PG_VERSION = 130000

_versions: dict[str, int] = {}


class VersionWatcher(Protocol):
    """What wants to hear of a new server version (the ENGINE's wrappers)."""

    def vinyl_server_version_changed(self) -> None: ...


_watchers: dict[str, weakref.WeakSet[VersionWatcher]] = {}


def watch(alias: str, watcher: VersionWatcher) -> None:
    """Tell *watcher* when a new version is recorded for *alias* (held weakly)."""
    _watchers.setdefault(alias, weakref.WeakSet()).add(watcher)


def record_version(alias: str, version: int) -> None:
    """Remember that the server of *alias* runs *version* (``server_version_num``)."""
    if _versions.get(alias) == version:
        return
    _versions[alias] = version
    for watcher in list(_watchers.get(alias, ())):
        watcher.vinyl_server_version_changed()


def known_version(alias: str) -> int:
    """Return the last version recorded for *alias*, else :data:`DEFAULT_PG_VERSION`."""
    return _versions.get(alias, DEFAULT_PG_VERSION)

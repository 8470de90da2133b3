"""The error both MySQL pools raise when used after ``close()``."""

from __future__ import annotations

from django.db import InterfaceError
from vinyl.query.backend import PoolConfig

__all__ = ["closed_error"]


def closed_error(config: PoolConfig) -> InterfaceError:
    """Return the error for using a pool after ``close()``."""
    return InterfaceError(
        f"The connection pool of database alias {config.alias!r} is closed (by "
        f"close_pools() or its own close()). Do not keep a pool aside: go through vinyl, "
        f"which opens a new pool for the alias on its next operation."
    )

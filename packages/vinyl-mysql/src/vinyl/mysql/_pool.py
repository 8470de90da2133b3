"""What both pools share: their states and the errors they raise."""

from __future__ import annotations

import enum

from django.db import InterfaceError
from vinyl.query.backend import PoolConfig

__all__ = ["PoolState", "closed_error", "other_loop_error"]


class PoolState(enum.Enum):
    """Where a pool is in its life: it only ever goes from OPEN to CLOSED."""

    OPEN = "open"
    CLOSED = "closed"


def closed_error(config: PoolConfig) -> InterfaceError:
    """Return the error for using a pool after ``close()``."""
    return InterfaceError(
        f"The connection pool of database alias {config.alias!r} is closed (by "
        f"close_pools() or its own close()). Do not keep a pool aside: go through vinyl, "
        f"which opens a new pool for the alias on its next operation."
    )


def other_loop_error(config: PoolConfig) -> InterfaceError:
    """Return the error for taking a connection from a pool of another event loop."""
    return InterfaceError(
        f"The connection pool of database alias {config.alias!r} belongs to another event "
        f"loop; asyncio connections cannot move between loops. Open one pool per loop."
    )

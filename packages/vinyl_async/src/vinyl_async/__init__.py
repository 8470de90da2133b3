"""vinyl's public API in one flavor: ``VinylManager`` and transactions.

``from vinyl_async import VinylManager, transaction, on_commit, close_pools`` reads on the
event loop; ``vinyl_sync``, generated from this module, exports the same names for sync code.
``ASGILifespanHandler`` is the same in both: it closes both flavors' pools.
"""

from vinyl.model._async import (
    Instance,
    OverriddenMethodWarning,
    VinylManager,
    VinylQuerySet,
    prefetch_related_objects,
)
from vinyl.query._async import close_pools, on_commit, transaction
from vinyl.query.asgi import ASGILifespanHandler

__all__ = [
    "ASGILifespanHandler",
    "Instance",
    "OverriddenMethodWarning",
    "VinylManager",
    "VinylQuerySet",
    "close_pools",
    "on_commit",
    "prefetch_related_objects",
    "transaction",
]

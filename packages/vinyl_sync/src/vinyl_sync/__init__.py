"""vinyl's public sync API: ``VinylManager`` and transactions, with vinyl's sync drivers.

``from vinyl_sync import VinylManager, transaction, on_commit, close_pools``
(``vinyl_async`` exports the same names for async code).
"""

from vinyl.model._sync import VinylManager, VinylQuerySet, prefetch_related_objects
from vinyl.query._sync import close_pools, on_commit, transaction

__all__ = [
    "VinylManager",
    "VinylQuerySet",
    "close_pools",
    "on_commit",
    "prefetch_related_objects",
    "transaction",
]

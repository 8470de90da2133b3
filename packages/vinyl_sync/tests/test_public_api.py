"""vinyl_sync exports the names ARCHITECTURE §2 fixes, each from the sync flavor."""

import inspect

import vinyl_sync
from vinyl.model._sync import VinylManager
from vinyl.query._sync import close_pools, on_commit, transaction


def test_exports_exactly_the_public_names() -> None:
    assert vinyl_sync.__all__ == [
        "VinylManager",
        "VinylQuerySet",
        "close_pools",
        "on_commit",
        "prefetch_related_objects",
        "transaction",
    ]


def test_every_name_is_the_sync_flavors() -> None:
    assert vinyl_sync.VinylManager is VinylManager
    assert vinyl_sync.transaction is transaction
    assert vinyl_sync.on_commit is on_commit
    assert vinyl_sync.close_pools is close_pools
    assert not inspect.iscoroutinefunction(vinyl_sync.close_pools)
    assert hasattr(vinyl_sync.transaction(using="vinyl_pg"), "__enter__")

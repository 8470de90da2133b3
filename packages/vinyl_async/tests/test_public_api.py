"""vinyl_async exports the names ARCHITECTURE §2 fixes, each from the async flavor."""

import inspect

import vinyl_async
from vinyl.model._async import VinylManager
from vinyl.query._async import close_pools, on_commit, transaction


def test_exports_exactly_the_public_names() -> None:
    assert vinyl_async.__all__ == [
        "VinylManager",
        "VinylQuerySet",
        "close_pools",
        "on_commit",
        "prefetch_related_objects",
        "transaction",
    ]


def test_every_name_is_the_async_flavors() -> None:
    assert vinyl_async.VinylManager is VinylManager
    assert vinyl_async.transaction is transaction
    assert vinyl_async.on_commit is on_commit
    assert vinyl_async.close_pools is close_pools
    assert inspect.iscoroutinefunction(vinyl_async.close_pools)
    assert hasattr(vinyl_async.transaction(using="vinyl_pg"), "__aenter__")

"""vinyl_sync exports the names ARCHITECTURE §2 fixes, each from the sync flavor."""

import inspect

import vinyl.model._sync as model
import vinyl.query._sync as query
import vinyl.query.asgi as asgi
import vinyl_async
import vinyl_sync


def test_exports_the_names_vinyl_async_exports() -> None:
    # Generated from vinyl_async's __init__: the same list, and the names the README imports.
    assert vinyl_sync.__all__ == vinyl_async.__all__
    assert {"VinylManager", "transaction", "on_commit", "close_pools"} <= set(vinyl_sync.__all__)


def test_every_name_is_the_sync_flavors() -> None:
    # The ASGI lifespan handler serves both flavors: it closes both flavors' pools.
    flavor = {**vars(model), **vars(query), "ASGILifespanHandler": asgi.ASGILifespanHandler}
    assert all(getattr(vinyl_sync, name) is flavor[name] for name in vinyl_sync.__all__)
    assert not inspect.iscoroutinefunction(vinyl_sync.close_pools)
    assert hasattr(vinyl_sync.transaction(using="vinyl_pg"), "__enter__")


def test_testing_modules_are_vinyl_asyncs() -> None:
    # The same TestCase and fixtures: they serve both flavors.
    import vinyl_async.pytest_plugin
    import vinyl_async.testing
    import vinyl_sync.pytest_plugin
    import vinyl_sync.testing

    assert vinyl_sync.testing.__all__ == vinyl_async.testing.__all__
    assert vinyl_sync.testing.TestCase is vinyl_async.testing.TestCase
    assert vinyl_sync.pytest_plugin.__all__ == vinyl_async.pytest_plugin.__all__
    assert all(
        getattr(vinyl_sync.pytest_plugin, name) is getattr(vinyl_async.pytest_plugin, name)
        for name in vinyl_sync.pytest_plugin.__all__
    )

"""vinyl_async exports the names ARCHITECTURE §2 fixes, each from the async flavor."""

import inspect

import vinyl.model._async as model
import vinyl.query._async as query
import vinyl_async
import vinyl_sync


def test_exports_the_names_vinyl_sync_exports() -> None:
    assert vinyl_async.__all__ == vinyl_sync.__all__


def test_every_name_is_the_async_flavors() -> None:
    flavor = {**vars(model), **vars(query)}
    assert all(getattr(vinyl_async, name) is flavor[name] for name in vinyl_async.__all__)
    assert inspect.iscoroutinefunction(vinyl_async.close_pools)
    assert hasattr(vinyl_async.transaction(using="vinyl_pg"), "__aenter__")

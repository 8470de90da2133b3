"""vinyl_async exports the names ARCHITECTURE §2 fixes, each from the async flavor."""

import inspect

import vinyl.model._async as model
import vinyl.query._async as query
import vinyl.query.asgi as asgi
import vinyl_async
import vinyl_sync


def test_exports_the_names_vinyl_sync_exports() -> None:
    assert vinyl_async.__all__ == vinyl_sync.__all__


def test_every_name_is_the_async_flavors() -> None:
    # The ASGI lifespan handler serves both flavors: it closes both flavors' pools.
    flavor = {**vars(model), **vars(query), "ASGILifespanHandler": asgi.ASGILifespanHandler}
    assert all(getattr(vinyl_async, name) is flavor[name] for name in vinyl_async.__all__)
    assert inspect.iscoroutinefunction(vinyl_async.close_pools)
    assert hasattr(vinyl_async.transaction(using="vinyl_pg"), "__aenter__")


def test_testing_modules_export_vinyls_test_case_and_fixtures() -> None:
    import vinyl.query.pytest_plugin
    import vinyl.query.testing
    import vinyl_async.pytest_plugin
    import vinyl_async.testing

    assert vinyl_async.testing.__all__ == ["TestCase"]
    assert vinyl_async.testing.TestCase is vinyl.query.testing.TestCase
    assert vinyl_async.pytest_plugin.__all__ == ["avinyl_db", "vinyl_db", "vinyl_test_databases"]
    plugin = vars(vinyl.query.pytest_plugin)
    assert all(
        getattr(vinyl_async.pytest_plugin, name) is plugin[name]
        for name in vinyl_async.pytest_plugin.__all__
    )

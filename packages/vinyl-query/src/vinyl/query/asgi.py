"""Open and close vinyl's pools with an ASGI server's lifespan.

Django's ``ASGIHandler`` refuses the lifespan protocol, so an ASGI server (uvicorn, Daphne,
Hypercorn) never tells Django it starts or stops, and nothing closes vinyl's pools. Wrap
the application once, in ``asgi.py``::

    application = ASGILifespanHandler(get_asgi_application())

Every scope but ``lifespan`` goes to the wrapped application unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from django.conf import settings
from django.db.utils import load_backend
from vinyl.query import _async
from vinyl.query.backend import VinylDatabaseWrapperMixin
from vinyl.query.databases import get_backend

__all__ = ["ASGILifespanHandler"]

logger = logging.getLogger(__name__)

# The types Django's ASGIHandler is declared with (django-stubs), so that
# ``ASGILifespanHandler(get_asgi_application())`` type-checks: a scope is a dict, and an
# application may send any mapping.
type Scope = dict[str, Any]
type Message = Mapping[str, Any]
type Receive = Callable[[], Awaitable[Message]]
type Send = Callable[[Message], Awaitable[None]]
type ASGIApplication = Callable[[Scope, Receive, Send], Awaitable[None]]


class ASGILifespanHandler:
    """Wrap an ASGI *application*: answer the lifespan protocol, pass every other scope on.

    ``lifespan.startup``: with *open_pools*, open vinyl_async's pool of every vinyl alias
    on the server's event loop (the loop async views run on), so the first requests find
    ``pool_min_size`` connections ready; a failure (a server down) is reported as
    ``lifespan.startup.failed`` and the server does not start. vinyl_sync's pools open on
    first use, in the thread Django runs sync views in.

    ``lifespan.shutdown``: close every pool, vinyl_async's of the server's loop and
    vinyl_sync's, then report ``lifespan.shutdown.complete`` (``lifespan.shutdown.failed``
    with the first error, after trying them all). Connections a request still holds are
    closed when it gives them back.
    """

    def __init__(self, application: ASGIApplication, *, open_pools: bool = False) -> None:
        self.application = application
        self.open_pools = open_pools

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve *scope*: the lifespan here, anything else by the wrapped application."""
        if scope["type"] != "lifespan":
            await self.application(scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:
                    logger.exception("Opening vinyl's pools at startup failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                try:
                    await self.shutdown()
                except Exception as exc:
                    await send({"type": "lifespan.shutdown.failed", "message": str(exc)})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                return

    async def startup(self) -> None:
        """Open vinyl_async's pool of every vinyl alias when asked to (``open_pools``)."""
        if not self.open_pools:
            return
        for alias, database in settings.DATABASES.items():
            if issubclass(
                load_backend(database["ENGINE"]).DatabaseWrapper, VinylDatabaseWrapperMixin
            ):
                await _async.get_pool(get_backend(alias))

    async def shutdown(self) -> None:
        """Close vinyl_async's pools of the running loop and vinyl_sync's pools.

        Raise the first error, after trying to close both flavors' pools.
        """
        error: Exception | None = None
        try:
            await _async.close_pools()
        except Exception as exc:
            error = exc
        try:
            # Imported here: an async process that never used vinyl_sync has not loaded it.
            from vinyl.query import _sync

            # Closing sockets of idle connections: the server is stopping, nothing else waits.
            _sync.close_pools()
        except Exception as exc:
            error = error or exc
        if error is not None:
            raise error

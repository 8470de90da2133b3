"""The site under ASGI: Django's application in vinyl's lifespan handler, as a project writes it.

``paused`` is the same application for the test: once vinyl's pools are closed, and before
the server hears that shutdown is complete, it prints ``shut down`` and waits for a line on
stdin, so the test can count the connections the process still holds.
"""

import asyncio
import sys

from django.core.asgi import get_asgi_application
from vinyl.query.asgi import ASGILifespanHandler, Message, Receive, Scope, Send

application = ASGILifespanHandler(get_asgi_application(), open_pools=True)


async def paused(scope: Scope, receive: Receive, send: Send) -> None:
    """Serve *scope* with ``application``; pause before reporting the shutdown complete."""

    async def send_after_pause(message: Message) -> None:
        if message["type"] == "lifespan.shutdown.complete":
            # One turn of the loop, as the server takes after this message: a closed
            # transport lets its socket go in a callback (aiomysql's close() is one).
            await asyncio.sleep(0)
            print("shut down", flush=True)
            # Blocks the loop on purpose: nothing may run until the test has looked.
            sys.stdin.readline()
        await send(message)

    await application(scope, receive, send_after_pause)

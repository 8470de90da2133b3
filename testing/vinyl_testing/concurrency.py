"""Concurrency for tests written once as async code: tasks in ``_async/``, threads in ``_sync/``.

``tools/unasync.py`` renames each ``a``/``A``-prefixed name to its twin here.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

__all__ = ["AEvent", "Event", "agather", "gather"]

AEvent = asyncio.Event
Event = threading.Event


async def agather(*funcs: Callable[[], Awaitable[Any]]) -> list[Any]:
    """Run every ``func()`` as a task at once; return their results in order."""
    return list(await asyncio.gather(*(func() for func in funcs)))


def gather(*funcs: Callable[[], Any]) -> list[Any]:
    """Run every ``func()`` in a thread of its own (at most 64 at once); return their results.

    Each runs in a copy of the caller's context, as ``asyncio.gather`` runs each task: inside
    a vinyl ``transaction()`` block, the threads join the block as the tasks do.
    """
    with ThreadPoolExecutor(max_workers=min(len(funcs), 64)) as executor:
        futures = [executor.submit(contextvars.copy_context().run, func) for func in funcs]
        return [future.result() for future in futures]

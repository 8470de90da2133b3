"""Concurrency for tests written once as async code: tasks in ``_async/``, threads in ``_sync/``.

``tools/unasync.py`` renames each ``a``/``A``-prefixed name to its twin here.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

__all__ = [
    "AEvent",
    "AWRITERS",
    "Event",
    "WRITERS",
    "ablocking",
    "agather",
    "asleep",
    "blocking",
    "gather",
    "sleep",
]

#: How many writers the concurrent-write tests run at once: tasks are cheap, threads are not
#: (100 tasks through vinyl_async, 10 threads through vinyl_sync: issue 18).
AWRITERS = 100
WRITERS = 10

AEvent = asyncio.Event
Event = threading.Event

#: Wait a while: the task lets the others run; the thread just waits.
asleep = asyncio.sleep
sleep = time.sleep


# A timeout parameter, not asyncio.timeout() around the call: the sync twin has the same
# signature, so that a test written once calls both alike.
async def agather(
    *funcs: Callable[[], Awaitable[Any]],
    timeout: float | None = None,  # noqa: ASYNC109
) -> list[Any]:
    """Run every ``func()`` as a task at once; return their results in order.

    The first error raised ends the call, as ``asyncio.gather``'s; with *timeout*, a hang
    guard: ``TimeoutError`` if they have not all ended by then. Either way the tasks still
    running are cancelled, and waited for: ``gather`` returns when the first cancelled task
    ends, while another may still be rolling back its block, and the caller's next step
    (a test's teardown: Django's flush, which blocks the loop) may need that block's locks.
    """
    if not funcs:
        return []
    tasks = [asyncio.ensure_future(func()) for func in funcs]
    done, running = await asyncio.wait(tasks, timeout=timeout, return_when=asyncio.FIRST_EXCEPTION)
    for task in running:
        task.cancel()
    if running:
        await asyncio.wait(running)
    # The first error in order of the tasks that ended by themselves, as gather raises it.
    for task in tasks:
        if task in done and (task.cancelled() or task.exception() is not None):
            task.result()
    if running:
        raise TimeoutError(f"{len(running)} of {len(funcs)} tasks still ran after {timeout}s")
    return [task.result() for task in tasks]


def gather(*funcs: Callable[[], Any], timeout: float | None = None) -> list[Any]:
    """Run every ``func()`` in a thread of its own (at most 64 at once); return their results.

    Each runs in a copy of the caller's context, as ``asyncio.gather`` runs each task: inside
    a vinyl ``transaction()`` block, the threads join the block as the tasks do. With
    *timeout*, a hang guard: ``TimeoutError`` if they have not all ended by then (a thread
    cannot be stopped: the ones still running are left behind).
    """
    executor = ThreadPoolExecutor(max_workers=min(len(funcs), 64))
    futures = [executor.submit(contextvars.copy_context().run, func) for func in funcs]
    _, running = concurrent.futures.wait(futures, timeout)
    executor.shutdown(wait=not running, cancel_futures=True)
    if running:
        raise TimeoutError(f"{len(running)} of {len(funcs)} threads still ran after {timeout}s")
    return [future.result() for future in futures]


async def ablocking[T](func: Callable[..., T], /, *args: Any) -> T:
    """Return ``func(*args)``, a blocking call, run in a thread while the other tasks go on."""
    return await asyncio.to_thread(func, *args)


def blocking[T](func: Callable[..., T], /, *args: Any) -> T:
    """Return ``func(*args)``: the other threads go on meanwhile anyway."""
    return func(*args)

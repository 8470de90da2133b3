"""The few primitives that differ between the async and the sync flavor, in pairs.

Code in ``_async/`` uses the ``a``-prefixed (or ``A``-prefixed) name; ``tools/unasync.py``
renames it to its twin when it writes ``_sync/``.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import inspect
import os
import threading
from collections.abc import AsyncGenerator, Awaitable, Callable, Coroutine
from typing import Any

from django.core.exceptions import SynchronousOnlyOperation

__all__ = [
    "AGuard",
    "AResult",
    "ALock",
    "ASemaphore",
    "Guard",
    "Lock",
    "Result",
    "Semaphore",
    "acall_callback",
    "acheck_callback",
    "acheck_context",
    "acurrent_owner",
    "arunning_loop",
    "ashield",
    "aon_loop_shutdown",
    "call_callback",
    "check_callback",
    "check_context",
    "current_owner",
    "forget_closed_loops",
    "on_loop_shutdown",
    "running_loop",
    "shield",
]

#: What calling a flavor's function gives: something to await, or the value itself.
type AResult[T] = Awaitable[T]
type Result[T] = T

#: Serializes the statements of one transaction block.
ALock = asyncio.Lock
Lock = threading.Lock

#: Guards a pool's idle list and state. Nothing to guard on an event loop, where the code
#: between two awaits runs alone; a lock between threads.
AGuard = contextlib.nullcontext
Guard = threading.Lock


class ASemaphore:
    """The slots of an async pool: a bounded semaphore that serves its waiters in turn.

    ``acquire`` takes a timeout, as ``threading``'s. Not ``asyncio.BoundedSemaphore``
    wrapped: a free slot cost two of its ``locked()`` scans and a second coroutine, on
    every statement. A release hands its slot to the longest waiter directly, as
    :class:`Semaphore` does; while anyone waits no slot is free, so a newcomer queues.
    """

    __slots__ = ("_size", "_value", "_waiters")

    def __init__(self, value: int) -> None:
        self._size = value
        self._value = value
        #: One future per waiting task, oldest first: ``True`` hands the slot over,
        #: ``False`` ends the wait (timed out).
        self._waiters: collections.deque[asyncio.Future[bool]] = collections.deque()

    # A timeout parameter, not asyncio.timeout() around the call: the signature is
    # threading's, so that code written once calls both flavors alike.
    async def acquire(self, timeout: float | None = None) -> bool:  # noqa: ASYNC109
        """Take a slot, waiting at most *timeout* seconds; return whether one was taken."""
        if self._value and not self._waiters:
            self._value -= 1
            return True
        loop = asyncio.get_running_loop()
        waiter = loop.create_future()
        self._waiters.append(waiter)
        # A timer that answers the waiter, not asyncio.timeout(): one handle, where a
        # Timeout cost a context manager, a reschedule and an uncancel on every wait.
        timer = None if timeout is None else loop.call_later(timeout, _time_out, waiter)
        try:
            taken: bool = await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled() and waiter.result():
                # A release handed the slot over before the cancellation reached this
                # task: passed on to the next waiter.
                self.release()
            else:
                with contextlib.suppress(ValueError):  # a release dropped it already
                    self._waiters.remove(waiter)
            raise
        finally:
            if timer is not None:
                timer.cancel()
        if not taken:
            # Timed out first: a release handed nothing over (it skips a done waiter).
            with contextlib.suppress(ValueError):
                self._waiters.remove(waiter)
        return taken

    def release(self) -> None:
        """Give a slot back, to the longest waiter if there is one (never suspends)."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(True)
                return
        if self._value >= self._size:
            raise ValueError("Semaphore released too many times")
        self._value += 1


def _time_out(waiter: asyncio.Future[bool]) -> None:
    """End *waiter*'s wait for a slot, unless a release answered it first."""
    if not waiter.done():
        waiter.set_result(False)


class Semaphore:
    """The slots of a sync pool: a bounded semaphore that serves its waiters in turn.

    ``threading``'s semaphore lets a thread that just released a slot take it back before
    the waiter it woke runs (a release and the next acquire hold the GIL in between): under
    load a few threads kept a pool's slots while the others waited until ``pool_timeout``.
    Here a release hands its slot to the longest waiter directly, as ``asyncio``'s does.
    """

    __slots__ = ("_lock", "_size", "_value", "_waiters")

    def __init__(self, value: int) -> None:
        self._lock = threading.Lock()
        self._size = value
        self._value = value
        #: One locked lock per waiting thread, oldest first; releasing it hands the slot over.
        self._waiters: collections.deque[threading.Lock] = collections.deque()

    def acquire(self, timeout: float | None = None) -> bool:
        """Take a slot, waiting at most *timeout* seconds; return whether one was taken."""
        with self._lock:
            if self._value and not self._waiters:
                self._value -= 1
                return True
            waiter = threading.Lock()
            waiter.acquire()
            self._waiters.append(waiter)
        if waiter.acquire(timeout=-1 if timeout is None else timeout):
            return True
        with self._lock:
            try:
                self._waiters.remove(waiter)
            except ValueError:
                # A release handed the slot over between the timeout and now: it is ours.
                return True
        return False

    def release(self) -> None:
        """Give a slot back, to the longest waiter if there is one (never blocks long)."""
        with self._lock:
            if self._waiters:
                self._waiters.popleft().release()
                return
            if self._value >= self._size:
                raise ValueError("Semaphore released too many times")
            self._value += 1


async def ashield[T](
    func: Callable[..., Coroutine[Any, Any, T]], /, *args: Any, **kwargs: Any
) -> T:
    """Run ``func(*args, **kwargs)`` to its end even if the calling task is cancelled."""
    # Started eagerly: a call that finishes without waiting (a pool release, mostly) costs
    # no extra turn of the event loop.
    task = asyncio.eager_task_factory(asyncio.get_running_loop(), func(*args, **kwargs))
    return await asyncio.shield(task)


def shield[T](func: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Return ``func(*args, **kwargs)``: a thread is never cancelled mid-call."""
    return func(*args, **kwargs)


def acurrent_owner() -> object:
    """Return what owns a connection taken now: the running task."""
    return asyncio.current_task()


def current_owner() -> object:
    """Return what owns a connection taken now: the running thread."""
    return threading.current_thread()


def arunning_loop() -> asyncio.AbstractEventLoop | None:
    """Return the event loop pools are bound to: the running one."""
    return asyncio.get_running_loop()


def running_loop() -> asyncio.AbstractEventLoop | None:
    """Return ``None``: sync pools belong to no event loop."""
    return None


def acheck_context(alias: str) -> None:
    """Do nothing: the async flavor runs on the event loop."""


def check_context(alias: str) -> None:
    """Raise ``SynchronousOnlyOperation`` when an event loop runs in this thread.

    A sync query there would block the loop (every task waits for it). Django's
    ``async_unsafe`` refuses its own ORM there, and ``DJANGO_ALLOW_ASYNC_UNSAFE`` allows
    both. Costs one C call when no loop runs.
    """
    if asyncio._get_running_loop() is not None and not os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE"):
        raise SynchronousOnlyOperation(
            f"You cannot use vinyl_sync on database alias {alias!r} from an async context "
            f"(an event loop runs in this thread, and a blocking query would stop it). Use "
            f"vinyl_async there and await the same call, or run the sync code in a thread "
            f"(asgiref's sync_to_async). Setting DJANGO_ALLOW_ASYNC_UNSAFE allows it, as "
            f"for Django's ORM."
        )


#: Per event loop: the suspended async generator whose end runs the loop's shutdown hook.
#: A strong reference: the loop itself keeps only a weak one.
_shutdown_watches: dict[asyncio.AbstractEventLoop, AsyncGenerator[None, None]] = {}


async def aon_loop_shutdown(hook: Callable[[], Awaitable[None]]) -> None:
    """Await *hook* on the running loop when it shuts down (once per loop; later calls no-op).

    asyncio has no close hook, but ``asyncio.run()`` and ``asyncio.Runner`` (and so
    pytest-asyncio, asgiref's ``async_to_sync`` and uvicorn) end a loop with
    ``loop.shutdown_asyncgens()``, after cancelling its tasks and while it still runs: it
    closes every async generator started on the loop. One is started here and left
    suspended; its ``finally`` awaits *hook*. Nothing global is patched, and nothing runs
    until then. A loop closed without that call (``loop.close()`` alone) never runs
    *hook*: :func:`forget_loop` then finishes the generator.
    """
    loop = asyncio.get_running_loop()
    if loop not in _shutdown_watches:
        watch = _shutdown_watch(loop, hook)
        _shutdown_watches[loop] = watch
        # Its first step registers it with the loop (the loop's firstiter hook).
        await anext(watch)


async def _shutdown_watch(
    loop: asyncio.AbstractEventLoop, hook: Callable[[], Awaitable[None]]
) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        _shutdown_watches.pop(loop, None)
        # Closed: forget_loop() finished the generator, outside the loop; the hook needs it.
        if not loop.is_closed():
            await hook()


def on_loop_shutdown(hook: Callable[[], None]) -> None:
    """Do nothing: sync pools belong to no event loop."""


def forget_closed_loops() -> None:
    """Drop the shutdown hooks of the loops closed without shutting their generators down.

    Each generator is finished here, without its hook; left to the garbage collector, it
    would ask its closed loop to finish it ("Event loop is closed").
    """
    # A copy: other threads' loops add and remove theirs meanwhile.
    for loop in list(_shutdown_watches):
        if loop.is_closed() and (watch := _shutdown_watches.pop(loop, None)) is not None:
            # Its finally awaits nothing on a closed loop: one step of aclose() ends it.
            with contextlib.suppress(StopIteration):
                watch.aclose().send(None)


def acheck_callback(func: Callable[[], object]) -> None:
    """Accept any callable as an ``on_commit()`` callback: coroutine functions are awaited."""


def check_callback(func: Callable[[], object]) -> None:
    """Refuse a coroutine function as an ``on_commit()`` callback: nothing would await it."""
    if inspect.iscoroutinefunction(func):
        raise TypeError(
            f"vinyl_sync's on_commit() cannot run the coroutine function "
            f"{getattr(func, '__qualname__', func)}: nothing would await it. Pass a plain "
            f"function, or use vinyl_async's on_commit() and transaction()."
        )


async def acall_callback(func: Callable[[], object]) -> None:
    """Call an ``on_commit()`` callback; await what it returns if that is awaitable."""
    result = func()
    if inspect.isawaitable(result):
        await result


def call_callback(func: Callable[[], object]) -> None:
    """Call an ``on_commit()`` callback; raise ``TypeError`` if it returns an awaitable."""
    result = func()
    if inspect.isawaitable(result):
        if inspect.iscoroutine(result):
            # Closed, so Python does not also warn that it was never awaited.
            result.close()
        raise TypeError(
            f"The on_commit() callback {getattr(func, '__qualname__', func)} returned an "
            f"awaitable, which vinyl_sync cannot await. Pass a plain function, or use "
            f"vinyl_async's on_commit() and transaction()."
        )

"""An asyncio loop on its own thread, where a network engine runs its requests.

Why: a blocking socket read cannot be interrupted from another thread, so a server that stops
sending would hold the line until a socket timeout (20-30 s). On the loop, a request the reader
gives up on (Budget: Stalled) or stops reading is cancelled: its websocket or HTTP stream is closed
at once, so a bridge frees its slot and no socket stays open. Owner: the engine that made it;
started at its first request, stopped and joined by the engine's `close()`.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator
from typing import Any, TypeVar

from plugins.voice.core.budget import Budget, wait_item

T = TypeVar("T")
CANCEL_SECONDS = 5.0  # a cancelled request closes its connection within this (it only runs cleanup)
_END = object()


class NetworkLoop:
    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def _running(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                self._thread = threading.Thread(target=loop.run_forever, name=f"voice-{self.name}-loop", daemon=True)
                self._thread.start()
                self._loop = loop
            return self._loop

    def run(self, work: Coroutine[Any, Any, T], budget: Budget | None) -> T:
        """Runs a request on the loop and returns its result; cancelled, and its cleanup awaited, if
        the reader gives up (Stalled) or leaves."""
        request = _Request(work, self._running())
        try:
            return request.future.result() if budget is None else budget.result(request.future, self.name)
        finally:
            request.cancel()

    def stream(self, items: AsyncIterator[T], budget: Budget | None) -> Iterator[T]:
        """Yields what an async generator yields, as it comes; closing this iterator or a stall cancels it."""
        out: queue.Queue[Any] = queue.Queue()

        async def pump() -> None:
            try:
                async for item in items:
                    out.put(item)
                out.put(_END)
            except Exception as exc:  # noqa: BLE001 - handed to the reader; a cancel (BaseException) passes
                out.put(exc)
            finally:
                await _close(items)

        request = _Request(pump(), self._running())
        try:
            while (item := wait_item(out, budget, self.name)) is not _END:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            request.cancel()

    def close(self) -> None:
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()


class _Request:
    """One coroutine on the loop that the calling thread can cancel, and then wait for until its cleanup
    (closing a socket) is done, even if it had not started yet."""

    def __init__(self, work: Coroutine[Any, Any, Any], loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.stop = threading.Event()
        self.finished = threading.Event()
        self.task: asyncio.Task[Any] | None = None
        self.future = asyncio.run_coroutine_threadsafe(self._guarded(work), loop)

    async def _guarded(self, work: Coroutine[Any, Any, Any]) -> Any:
        self.task = asyncio.current_task()
        try:
            if self.stop.is_set():
                work.close()
                raise asyncio.CancelledError
            return await work
        finally:
            self.finished.set()

    def cancel(self) -> None:
        if self.finished.is_set():
            return
        self.stop.set()
        try:
            self.loop.call_soon_threadsafe(self._cancel_task)
        except RuntimeError:  # the loop was closed (the engine closed): nothing runs there any more
            return
        self.finished.wait(CANCEL_SECONDS)

    def _cancel_task(self) -> None:
        if self.task is not None:
            self.task.cancel()


async def _close(items: AsyncIterator[Any]) -> None:
    close = getattr(items, "aclose", None)
    if close is not None:
        await close()

"""The embedded deployment's queue: an asyncio.Queue and a few worker tasks inside `serve`.

Workers only decide which run to work on; how many judge calls run at once is bounded by the
engine's limiter, shared by every run in the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable

logger = logging.getLogger("sightline.queue")

RunHandler = Callable[[uuid.UUID], Awaitable[None]]


class InProcessQueue:
    def __init__(self, handler: RunHandler, workers: int = 4) -> None:
        self._handler = handler
        self._workers = workers
        self._queue: asyncio.Queue[uuid.UUID] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._waiting: list[uuid.UUID] = []  # enqueued before start()
        # A run already queued or being worked on here is not queued again (the executor
        # would cope, but it would only duplicate effort).
        self._known: set[uuid.UUID] = set()

    def enqueue(self, run_id: uuid.UUID) -> None:
        if self._loop is None or self._queue is None:
            self._waiting.append(run_id)
            return
        self._loop.call_soon_threadsafe(self._put, run_id)

    def _put(self, run_id: uuid.UUID) -> None:
        if run_id in self._known or self._queue is None:
            return
        self._known.add(run_id)
        self._queue.put_nowait(run_id)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue()
        self._tasks = [
            asyncio.create_task(self._work(), name=f"eval-worker-{n}") for n in range(self._workers)
        ]
        for run_id in self._waiting:
            self._put(run_id)
        self._waiting.clear()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        self._loop = None
        self._queue = None
        self._known.clear()

    async def join(self) -> None:
        """Wait until every enqueued run has been handled (tests and benchmarks)."""
        if self._queue is not None:
            await self._queue.join()

    async def _work(self) -> None:
        assert self._queue is not None
        queue = self._queue
        while True:
            run_id = await queue.get()
            try:
                await self._handler(run_id)
            except asyncio.CancelledError:
                raise
            except Exception:
                # The run's rows stay unfinished; the next start-up (or a re-enqueue) resumes it.
                logger.exception("evaluation run %s stopped with an error", run_id)
            finally:
                self._known.discard(run_id)
                queue.task_done()

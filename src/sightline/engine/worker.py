"""The evaluation worker of a server process: executor + queue, started and stopped by the
app's lifespan. Start-up re-enqueues every unfinished run (after a crash, its expired leases
make its pairs claimable again), and warms LiteLLM in a thread so no request waits for it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from sightline.config import Settings
from sightline.db.session import SessionFactory
from sightline.engine.executor import Executor
from sightline.engine.judge import warm_up
from sightline.engine.queue import JobQueue
from sightline.engine.queue.inprocess import InProcessQueue
from sightline.evals.runs import repository

logger = logging.getLogger("sightline.engine")


class EvalWorker:
    def __init__(self, settings: Settings, session_factory: SessionFactory) -> None:
        self.executor = Executor(settings, session_factory)
        self.queue: JobQueue = InProcessQueue(
            self.executor.execute, workers=settings.eval_queue_workers
        )
        self._factory = session_factory
        self._warm: asyncio.Task[bool] | None = None

    async def start(self) -> None:
        self._warm = asyncio.create_task(asyncio.to_thread(_warm_up_quietly))
        await self.queue.start()
        async with self._factory() as db:
            unfinished = await repository.list_unfinished_run_ids(db)
        for run_id in unfinished:
            self.queue.enqueue(run_id)
        if unfinished:
            logger.info("resuming %d unfinished evaluation run(s)", len(unfinished))

    @property
    def judge_ready(self) -> bool:
        """Whether the judge stack (LiteLLM) is imported; runs wait for it, requests never do.
        Also true once the import has failed: it means "no longer loading"."""
        return self._warm is not None and self._warm.done()

    @property
    def judge_loaded(self) -> bool:
        """Whether LiteLLM was imported successfully."""
        warm = self._warm
        return warm is not None and warm.done() and not warm.cancelled() and warm.result()

    def when_judge_ready(self, callback: Callable[[], None]) -> None:
        """Calls `callback` on the event loop once LiteLLM is imported (or failed to be)."""
        if self._warm is not None:
            self._warm.add_done_callback(lambda _: callback())

    async def stop(self) -> None:
        await self.queue.stop()
        if self._warm is not None:
            with contextlib.suppress(Exception):
                await self._warm


def _warm_up_quietly() -> bool:
    try:
        warm_up()
    except Exception:  # the first run will report a broken install; serving must go on
        logger.exception("could not import LiteLLM")
        return False
    return True

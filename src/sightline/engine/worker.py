"""The evaluation worker of a server process: executor + queue, started and stopped by the
app's lifespan. Start-up takes back the tasks a crashed predecessor held (engine/holder.py)
and re-enqueues every unfinished run."""

from __future__ import annotations

import asyncio
import logging
import time

from sightline.config import Settings
from sightline.db.session import SessionFactory
from sightline.engine.executor import Executor
from sightline.engine.judge import warm_up
from sightline.engine.queue import JobQueue
from sightline.engine.queue.inprocess import InProcessQueue
from sightline.engine.run_execution import free_dead_holders
from sightline.evals.runs import repository

logger = logging.getLogger("sightline.engine")


class EvalWorker:
    def __init__(self, settings: Settings, session_factory: SessionFactory) -> None:
        self.executor = Executor(settings, session_factory)
        self.queue: JobQueue = InProcessQueue(
            self.executor.execute, workers=settings.eval_queue_workers
        )
        self._factory = session_factory
        self.judge_loaded = False  # whether LiteLLM was imported successfully
        self.judge_load_seconds: float | None = None

    async def start(self) -> None:
        # LiteLLM is imported before the process serves anything: imported beside live
        # traffic it held the interpreter for seconds and halved the first seconds'
        # throughput (bench/ingest.py measures the first 10 s against the steady rate).
        started = time.perf_counter()
        self.judge_loaded = await asyncio.to_thread(_warm_up_quietly)
        self.judge_load_seconds = time.perf_counter() - started
        await self.queue.start()
        holder = self.executor.holder
        holder.acquire()
        async with self._factory() as db:
            unfinished = await repository.list_unfinished_run_ids(db)
        await free_dead_holders(self._factory, holder, unfinished)
        holder.sweep()
        for run_id in unfinished:
            self.queue.enqueue(run_id)
        if unfinished:
            logger.info("resuming %d unfinished evaluation run(s)", len(unfinished))

    @property
    def judge_ready(self) -> bool:
        """Kept for /health's existing clients: the judge stack is loaded (or failed to
        load) before a worker starts, so a started worker is always ready."""
        return self.judge_load_seconds is not None

    async def stop(self) -> None:
        await self.queue.stop()
        self.executor.holder.release()
        await self.executor.limits.close()


def _warm_up_quietly() -> bool:
    try:
        warm_up()
    except Exception:  # the first run will report a broken install; serving must go on
        logger.exception("could not import LiteLLM")
        return False
    return True

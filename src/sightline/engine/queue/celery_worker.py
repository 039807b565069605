"""`sightline worker`: a Celery worker whose tasks run on one asyncio event loop.

Celery's thread pool gives ``concurrency`` tasks at once; each hands its run to the loop
(a thread of its own, started before the worker consumes) and waits. So the process has one
engine, one database pool, one judge limiter and one judge cache, and every judge call of
every task is concurrent on that loop, bounded by the limiter.

Shutdown: SIGTERM is Celery's warm shutdown. Tasks stop claiming, finish the targets they
hold (their judge calls complete and their scores are committed) and return; anything they
could not finish is released by the engine as the loop stops. SIGKILL loses nothing either:
the message comes back (late ack), and the tasks the process held are claimable once their
lease expires (at once for a process sharing this data directory: engine/holder.py).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import socket
import threading
import uuid
from collections.abc import Coroutine
from typing import Any, TypeVar

from celery import Celery
from celery.signals import worker_shutting_down

from sightline.config import Settings
from sightline.db.engine import create_engine
from sightline.db.schema import prepare_schema
from sightline.db.session import make_session_factory
from sightline.engine.executor import Executor
from sightline.engine.judge import warm_up
from sightline.engine.queue.celery_queue import (
    QUEUE_NAME,
    TASK_NAME,
    TASK_TIME_LIMIT_SECONDS,
    CeleryQueue,
)
from sightline.engine.run_execution import Share

logger = logging.getLogger("sightline.worker")
T = TypeVar("T")


class WorkerRuntime:
    """The event loop, the engine and the executor of one worker process."""

    def __init__(self, settings: Settings, queue: CeleryQueue) -> None:
        self.settings = settings
        self.queue = queue
        self.stopping = False
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="worker-loop")
        self._executor: Executor | None = None
        self._dispose: Any = None

    def start(self) -> None:
        self._thread.start()
        self._call(self._setup())

    def stop(self) -> None:
        self.stopping = True
        if self._thread.is_alive():
            self._call(self._teardown())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=30)

    def evaluate(self, run_id: uuid.UUID) -> None:
        """Work on the run until nothing is claimable (in a Celery pool thread)."""
        assert self._executor is not None
        share = Share(
            stay_until_done=False,
            on_first_claim=lambda: self.queue.enqueue(run_id),
            stopping=lambda: self.stopping,
        )
        self._call(self._executor.execute(run_id, share), timeout=TASK_TIME_LIMIT_SECONDS)

    def _call(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        try:
            return future.result(timeout=timeout)
        except concurrent.futures.TimeoutError:
            # Cancelling hands the run's held pairs back (RunExecution); the sweep publishes
            # the run again.
            future.cancel()
            raise

    async def _setup(self) -> None:
        engine = create_engine(self.settings)
        factory = make_session_factory(engine)
        await prepare_schema(self.settings, factory)
        await asyncio.to_thread(warm_up)  # before the first message, not beside it
        self._executor = Executor(self.settings, factory)
        self._executor.holder.acquire()
        self._dispose = engine.dispose

    async def _teardown(self) -> None:
        if self._executor is not None:
            self._executor.holder.release()
            await self._executor.limits.close()
        if self._dispose is not None:
            await self._dispose()


def register(app: Celery, runtime: WorkerRuntime) -> None:
    """The one task: evaluate a run. Its argument is the run's ID as text (JSON payloads)."""

    @app.task(  # type: ignore[misc]  # Celery is untyped
        name=TASK_NAME, acks_late=True, reject_on_worker_lost=True, ignore_result=True
    )
    def evaluate(run_id: str) -> None:
        runtime.evaluate(uuid.UUID(run_id))

    def on_shutting_down(**_: Any) -> None:
        runtime.stopping = True

    worker_shutting_down.connect(on_shutting_down, weak=False)


def run_worker(settings: Settings, concurrency: int) -> None:
    queue = CeleryQueue(settings)
    runtime = WorkerRuntime(settings, queue)
    register(queue.app, runtime)
    runtime.start()
    logger.info("worker started: %d concurrent runs, broker %s", concurrency, _safe(settings))
    try:
        queue.app.worker_main(
            [
                "worker",
                "--pool=threads",
                f"--concurrency={concurrency}",
                f"--queues={QUEUE_NAME}",
                f"--hostname=sightline-{socket.gethostname()}-{uuid.uuid4().hex[:6]}@%h",
                f"--loglevel={settings.log_level.upper()}",
                "--without-gossip",
                "--without-mingle",
            ]
        )
    finally:
        runtime.stop()


def _safe(settings: Settings) -> str:
    """The broker URL without its password, for the log."""
    url = settings.broker_url
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = "***@" + rest.split("@", 1)[1]
    return f"{scheme}{sep}{rest}"

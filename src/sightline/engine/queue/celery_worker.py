"""`sightline worker`: a Celery worker whose tasks run on one asyncio event loop.

Celery's thread pool gives ``concurrency`` tasks at once; each hands its run to the loop
(a thread of its own, started before the worker consumes) and waits. So the process has one
engine, one database pool, one judge limiter and one judge cache, and every judge call of
every task is concurrent on that loop, bounded by the limiter.

One run spreads over every worker, deterministically. The process works on a run at most
once (a second message for it is a no-op), so a message never lands on a worker already
busy with its run instead of an idle one. And the worker that takes a run's first pairs
invites every live worker by a control broadcast (``JOIN_COMMAND``): each one not yet on the
run, with a free slot, joins it on the loop. A message for a run this process already works
on re-sends the invitation, so a worker started after the run began joins on the scheduler's
next sweep.

Shutdown: SIGTERM is Celery's warm shutdown. Executions stop claiming, finish the targets
they hold (their judge calls complete and their scores are committed) and return; anything
they could not finish is released by the engine as the loop stops. SIGKILL loses nothing
either: the message comes back (late ack), and the tasks the process held are claimable once
their lease expires (at once for a process sharing this data directory: engine/holder.py).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from celery import Celery
from celery.signals import worker_shutting_down
from celery.worker.control import control_command

from sightline.config import Settings
from sightline.db.engine import create_engine
from sightline.db.schema import prepare_schema
from sightline.db.session import make_session_factory
from sightline.engine.executor import Executor
from sightline.engine.judge import warm_up
from sightline.engine.queue.celery_queue import (
    JOIN_COMMAND,
    QUEUE_NAME,
    TASK_NAME,
    TASK_TIME_LIMIT_SECONDS,
    CeleryQueue,
)
from sightline.engine.run_execution import Share

logger = logging.getLogger("sightline.worker")
T = TypeVar("T")


class WorkerRuntime:
    """The event loop, the engine and the executor of one worker process, and the runs it
    is working on (at most ``concurrency``, one execution each)."""

    def __init__(self, settings: Settings, queue: CeleryQueue, concurrency: int) -> None:
        self.settings = settings
        self.queue = queue
        self.concurrency = concurrency
        self.stopping = False
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="worker-loop")
        self._executor: Executor | None = None
        self._dispose: Any = None
        self._active: dict[uuid.UUID, concurrent.futures.Future[None]] = {}
        self._lock = threading.Lock()

    def start(self) -> None:
        self._thread.start()
        self._call(self._setup())

    def stop(self) -> None:
        self.stopping = True
        if self._thread.is_alive():
            self._finish_joined()
            self._call(self._teardown())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=30)

    def evaluate(self, run_id: uuid.UUID) -> None:
        """A message for the run (in a Celery pool thread): work on it until nothing is
        claimable, inviting the other workers at the first claim. If this process works
        on it already, only invite: whoever is idle joins."""
        future = self._begin(run_id, on_first_claim=lambda: self.queue.invite(run_id))
        if future is None:
            self.queue.invite(run_id)
            return
        try:
            future.result(timeout=TASK_TIME_LIMIT_SECONDS)
        except concurrent.futures.TimeoutError:
            # Cancelling hands the run's held pairs back (RunExecution); the sweep publishes
            # the run again.
            future.cancel()
            raise

    def join(self, run_id: uuid.UUID) -> bool:
        """An invitation (in Celery's consumer thread, which must not block): start working
        on the run beside the other workers unless this process is on it already, is full
        or is shutting down. The execution is not waited on: the database holds its work,
        and stop() lets it finish."""
        if self.stopping:
            return False
        with self._lock:
            if len(self._active) >= self.concurrency:
                return False
        joined = self._begin(run_id, on_first_claim=None) is not None
        if joined:
            logger.info("joined run %s", run_id)
        return joined

    def active_runs(self) -> list[uuid.UUID]:
        with self._lock:
            return list(self._active)

    def _begin(
        self, run_id: uuid.UUID, on_first_claim: Callable[[], None] | None
    ) -> concurrent.futures.Future[None] | None:
        assert self._executor is not None
        share = Share(
            stay_until_done=False,
            on_first_claim=on_first_claim,
            stopping=lambda: self.stopping,
        )
        with self._lock:
            if run_id in self._active:
                return None
            future = asyncio.run_coroutine_threadsafe(
                self._executor.execute(run_id, share), self._loop
            )
            self._active[run_id] = future
        future.add_done_callback(lambda done: self._forget(run_id, done))
        return future

    def _forget(self, run_id: uuid.UUID, done: concurrent.futures.Future[None]) -> None:
        with self._lock:
            self._active.pop(run_id, None)
        if not done.cancelled() and (exc := done.exception()) is not None:
            logger.error("working on run %s failed", run_id, exc_info=exc)

    def _finish_joined(self) -> None:
        """Celery waited for its tasks; executions started by an invitation are waited for
        here, as long as a lease (they claim nothing more), then cancelled (which releases
        what they hold)."""
        deadline = time.monotonic() + self.settings.eval_task_lease_seconds
        for future in list(self._active.values()):
            try:
                future.result(timeout=max(0.0, deadline - time.monotonic()))
            except concurrent.futures.TimeoutError:
                future.cancel()
            except Exception:  # logged by the executor; its pairs are claimable again
                pass

    def _call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

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
    """The one task, evaluate a run (its argument: the run's ID as text, JSON payloads),
    and the one control command, an invitation to join a run."""

    @app.task(  # type: ignore[misc]  # Celery is untyped
        name=TASK_NAME, acks_late=True, reject_on_worker_lost=True, ignore_result=True
    )
    def evaluate(run_id: str) -> None:
        runtime.evaluate(uuid.UUID(run_id))

    @control_command(args=[("run_id", str)], signature="<run_id>")  # type: ignore[misc]
    def sightline_join(state: Any, run_id: str) -> dict[str, bool]:
        return {"joined": runtime.join(uuid.UUID(run_id))}

    assert sightline_join.__name__ == JOIN_COMMAND  # the command's name is the function's

    def on_shutting_down(**_: Any) -> None:
        runtime.stopping = True

    worker_shutting_down.connect(on_shutting_down, weak=False)


def run_worker(settings: Settings, concurrency: int) -> None:
    queue = CeleryQueue(settings)
    runtime = WorkerRuntime(settings, queue, concurrency)
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

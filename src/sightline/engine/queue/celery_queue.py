"""The scaled deployment's queue: Celery on Redis (SIGHTLINE_QUEUE=celery).

Transport only, as the in-process queue: a message is a run ID, the database holds the work.
`serve` and `sightline scheduler` publish (`CeleryQueue`); `sightline worker` consumes
(`engine/queue/celery_worker.py`). One run spreads over every worker: a worker claims the
run's (target, metric) pairs a few targets at a time with the engine's conditional UPDATE
and lease, and its first claim invites every live worker to join (`invite`: a control
broadcast, not a message on the queue); a worker leaves when nothing is claimable, and
whoever finishes last completes the run.

Delivery is at least once, and a repeat costs one claim query:
- late acks and reject-on-worker-lost: a message is acknowledged after its task ran, and
  one whose worker died is delivered again; prefetch 1, so a worker holds no message it is
  not working on;
- Redis's visibility timeout is longer than any task may run (TASK_TIME_LIMIT_SECONDS,
  enforced by the worker's runtime: Celery's own time limits do nothing in its thread
  pool), so a message is not redelivered while its task is alive;
- a message lost anyway (Redis restarted without persistence, a run created while Redis was
  down) is made good by the scheduler's sweep, which re-publishes every unfinished run with
  unclaimed or lease-expired work (`monitors/scheduler.py`).
"""

from __future__ import annotations

import logging
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from celery import Celery

from sightline.config import Settings

logger = logging.getLogger("sightline.queue")

TASK_NAME = "sightline.evaluate"
QUEUE_NAME = "sightline"
JOIN_COMMAND = "sightline_join"  # the workers' control command: join a run
# A task works on one run until nothing is claimable; a long run is shared by every worker,
# so one task rarely runs for long. The limit only stops a task that hangs: it is cancelled,
# its pairs are released, and the sweep publishes the run again.
TASK_TIME_LIMIT_SECONDS = 3 * 3600
VISIBILITY_TIMEOUT_SECONDS = TASK_TIME_LIMIT_SECONDS + 900


def celery_app(settings: Settings) -> Celery:
    app = Celery("sightline", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        result_backend=None,
        task_default_queue=QUEUE_NAME,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_transport_options={
            "visibility_timeout": VISIBILITY_TIMEOUT_SECONDS,
            "socket_connect_timeout": 2,
            "socket_timeout": 5,
        },
        broker_connection_timeout=2,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
    )
    return app


class CeleryQueue:
    """The JobQueue of a process that only publishes (serve, the scheduler). Publishing runs
    in a thread of its own: with Redis down it fails after the connect timeout, which must
    not hold the event loop, and the run (committed already) is left to the sweep."""

    def __init__(self, settings: Settings, app: Celery | None = None) -> None:
        self.app = app or celery_app(settings)
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="celery-publish")

    def enqueue(self, run_id: uuid.UUID) -> None:
        self._pool.submit(self.publish, run_id)

    def publish(self, run_id: uuid.UUID) -> bool:
        """Publish now, in the caller's thread; False when the broker did not take it."""
        try:
            self.app.send_task(TASK_NAME, args=[str(run_id)], queue=QUEUE_NAME, retry=False)
        except Exception as exc:  # kombu's OperationalError and socket errors alike
            logger.warning(
                "could not enqueue run %s (%s); it is stored, and the scheduler's sweep "
                "enqueues it once the broker answers",
                run_id,
                exc,
            )
            return False
        return True

    def invite(self, run_id: uuid.UUID) -> None:
        """Ask every live worker to join the run (a worker's first claim calls this from its
        event loop: the broadcast goes out from the publishing thread)."""
        self._pool.submit(self._broadcast_join, run_id)

    def _broadcast_join(self, run_id: uuid.UUID) -> None:
        try:
            self.app.control.broadcast(JOIN_COMMAND, arguments={"run_id": str(run_id)})
        except Exception as exc:  # the run goes on without them; the sweep invites again
            logger.warning("could not invite the workers to run %s (%s)", run_id, exc)

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        self._pool.shutdown(wait=True)
        self.app.close()


def broker_answers(app: Celery, timeout: float = 1.0) -> bool:
    """Whether the broker accepts a connection now (for /health)."""
    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=0, timeout=timeout)
    except Exception:
        return False
    return True


def ping_workers(app: Celery, timeout: float = 2.0) -> list[dict[str, Any]]:
    """The workers that answer a control ping (the liveness check of `sightline worker`)."""
    return list(app.control.ping(timeout=timeout) or [])

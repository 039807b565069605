"""The scheduler: each tick turns due monitors into runs. Safe to run several at once.

A due monitor is claimed with a conditional UPDATE (``SET next_run_at = :new WHERE id = :id
AND next_run_at = :old AND status = 'ACTIVE'``) in the same transaction that spawns its run,
so of several schedulers exactly one fires it, a monitor paused meanwhile never fires, and a
crash before the commit loses nothing (the claim rolls back and the next tick fires it).
``next_run_at`` moves along the cadence from the *scheduled* time (no drift) to the first
due time after now (missed ticks fire once). The clock is injectable for tests.

With the Celery queue each tick also sweeps: every unfinished run with unclaimed or
lease-expired work is published again (a message lost with Redis, a run created while Redis
was down), and the tasks of dead workers that shared this data directory are freed first.
A repeated message costs one claim query, so sweeping a run that is being worked on is safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sightline.config import Settings
from sightline.db.session import SessionFactory, transaction
from sightline.db.types import utcnow
from sightline.engine.holder import LeaseHolder
from sightline.engine.queue import JobQueue
from sightline.engine.run_execution import free_dead_holders
from sightline.evals.runs import repository as runs_repo
from sightline.monitors import repository as repo
from sightline.monitors.cadence import advance
from sightline.monitors.spawn import Skipped, SpawnContext, spawn_run

logger = logging.getLogger("sightline.scheduler")

BATCH_SIZE = 100


@dataclass
class TickReport:
    fired: list[tuple[uuid.UUID, uuid.UUID]] = field(default_factory=list)  # (monitor, run)
    skipped: list[tuple[uuid.UUID, str]] = field(default_factory=list)
    failed: list[tuple[uuid.UUID, str]] = field(default_factory=list)
    swept: list[uuid.UUID] = field(default_factory=list)  # runs published again (Celery)


class Scheduler:
    def __init__(
        self,
        factory: SessionFactory,
        settings: Settings,
        queue: JobQueue,
        *,
        now: Callable[[], datetime] = utcnow,
        batch_size: int = BATCH_SIZE,
    ) -> None:
        self._factory = factory
        self._queue = queue
        self._sweeps = settings.queue == "celery"
        self._holder = LeaseHolder(settings.data_dir)  # only to tell dead holders; never held
        self._context = SpawnContext(settings, queue, now)
        self._now = now
        self._batch_size = batch_size

    async def tick(self) -> TickReport:
        now = self._now()
        report = TickReport()
        async with self._factory() as db:
            due = await repo.list_due(db, now, self._batch_size)
        for monitor_id, due_at, cadence in due:
            try:
                await self._fire(monitor_id, due_at, advance(cadence, due_at, now), report)
            except Exception as exc:
                logger.exception("monitor %s could not be run", monitor_id)
                report.failed.append((monitor_id, str(exc)))
                await self._record_failure(monitor_id, due_at, cadence, now, exc)
        if self._sweeps:
            report.swept = await self.sweep()
        return report

    async def sweep(self) -> list[uuid.UUID]:
        async with self._factory() as db:
            unfinished = await runs_repo.list_unfinished_run_ids(db)
        await free_dead_holders(self._factory, self._holder, unfinished)
        async with self._factory() as db:
            idle = await runs_repo.runs_with_claimable_work(db)
        for run_id in idle:
            self._queue.enqueue(run_id)
        if idle:
            logger.info("sweep: enqueued %d run(s) with unclaimed work", len(idle))
        return idle

    async def _fire(
        self, monitor_id: uuid.UUID, due_at: datetime, next_run_at: datetime, report: TickReport
    ) -> None:
        async with transaction(self._factory) as db:
            if not await repo.claim_due(db, monitor_id, due_at, next_run_at):
                return  # another scheduler claimed this due time first
            monitor = await repo.get_monitor_by_id(db, monitor_id)
            assert monitor is not None  # the claim just matched it
            outcome = await spawn_run(db, monitor, self._context, scheduled=True)
            if isinstance(outcome, Skipped):
                monitor.last_skip_reason = outcome.reason
                monitor.last_skip_at = self._now()
                report.skipped.append((monitor_id, outcome.reason))
                logger.info("monitor %s skipped: %s", monitor_id, outcome.reason)
            else:
                report.fired.append((monitor_id, outcome.id))
                logger.info("monitor %s started run %s", monitor_id, outcome.id)

    async def _record_failure(
        self,
        monitor_id: uuid.UUID,
        due_at: datetime,
        cadence: str,
        now: datetime,
        error: Exception,
    ) -> None:
        """Move the monitor on anyway, so one broken monitor cannot fail every tick."""
        try:
            async with transaction(self._factory) as db:
                if await repo.claim_due(db, monitor_id, due_at, advance(cadence, due_at, now)):
                    monitor = await repo.get_monitor_by_id(db, monitor_id)
                    if monitor is not None:
                        monitor.last_skip_reason = f"Run could not be started: {error}"[:2000]
                        monitor.last_skip_at = now
        except Exception:
            logger.exception("could not record the failure of monitor %s", monitor_id)

    async def run_forever(self, interval_seconds: float) -> None:
        logger.info("scheduler started (every %ss)", interval_seconds)
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:  # the database may be briefly unreachable; try next tick
                logger.exception("scheduler tick failed")
            await asyncio.sleep(interval_seconds)


def start_in_process(
    factory: SessionFactory, settings: Settings, queue: JobQueue
) -> asyncio.Task[None] | None:
    """The `serve` scheduler loop (SIGHTLINE_RUN_SCHEDULER, every
    SIGHTLINE_SCHEDULER_INTERVAL_SECONDS); None when switched off."""
    if not settings.run_scheduler:
        return None
    scheduler = Scheduler(factory, settings, queue)
    return asyncio.create_task(
        scheduler.run_forever(settings.scheduler_interval_seconds), name="monitor-scheduler"
    )


async def stop_task(task: asyncio.Task[None] | None) -> None:
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

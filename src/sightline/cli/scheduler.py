"""`sightline scheduler`: the monitor scheduler as its own process (scaled deployments).

Several may run against one database: each due monitor is claimed by exactly one of them.
With the Celery queue (SIGHTLINE_QUEUE=celery) it only publishes the runs it starts, and
sweeps: runs whose messages were lost are published again. With the in-process queue there
is no shared broker, so this process also executes the runs it starts (and, like every
worker, resumes unfinished runs it finds).
"""

from __future__ import annotations

import asyncio
import logging

import typer

from sightline.config import Settings
from sightline.engine.queue import JobQueue


def scheduler(
    interval: float | None = typer.Option(
        None, help="Seconds between ticks (SIGHTLINE_SCHEDULER_INTERVAL_SECONDS, default 30)."
    ),
    once: bool = typer.Option(False, "--once", help="Run one tick, wait for its runs, exit."),
) -> None:
    """Start runs for due monitors, every INTERVAL seconds."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = Settings()
    asyncio.run(_main(settings, interval or settings.scheduler_interval_seconds, once))


class _Publisher:
    """The scheduler's side of the Celery queue: it publishes, and never evaluates."""

    def __init__(self, queue: JobQueue) -> None:
        self.queue = queue

    async def start(self) -> None:
        await self.queue.start()

    async def stop(self) -> None:
        await self.queue.stop()


def _publisher(settings: Settings) -> _Publisher:
    from sightline.engine.queue.celery_queue import CeleryQueue  # the `scale` extra

    return _Publisher(CeleryQueue(settings))


async def _main(settings: Settings, interval: float, once: bool) -> None:
    from sightline.db.engine import create_engine
    from sightline.db.schema import prepare_schema
    from sightline.db.session import make_session_factory
    from sightline.engine.worker import EvalWorker
    from sightline.monitors.scheduler import Scheduler

    engine = create_engine(settings)
    factory = make_session_factory(engine)
    try:
        await prepare_schema(settings, factory)
        worker = (
            _publisher(settings) if settings.queue == "celery" else EvalWorker(settings, factory)
        )
        await worker.start()
        try:
            ticker = Scheduler(factory, settings, worker.queue)
            if once:
                report = await ticker.tick()
                typer.echo(
                    f"fired {len(report.fired)}, skipped {len(report.skipped)}, "
                    f"failed {len(report.failed)}"
                )
                join = getattr(worker.queue, "join", None)
                if join is not None:
                    await join()
            else:
                await ticker.run_forever(interval)
        finally:
            await worker.stop()
    finally:
        await engine.dispose()

"""A settable clock for the scheduler, and a quiet database for scheduler tests."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import FastAPI
from sqlalchemy import update

from sightline.db.models import EvalMonitor
from sightline.db.session import transaction
from sightline.db.types import utcnow
from sightline.monitors.scheduler import Scheduler


class Clock:
    def __init__(self, start: datetime | None = None) -> None:
        self.at = start or utcnow()

    def __call__(self) -> datetime:
        return self.at

    def set(self, at: datetime) -> None:
        self.at = at

    def advance(self, **delta: float) -> datetime:
        self.at += timedelta(**delta)
        return self.at


async def pause_other_monitors(app: FastAPI) -> None:
    """Tests share one database: monitors other tests left ACTIVE must not fire when a
    simulated clock runs days ahead."""
    async with transaction(app.state.session_factory) as session:
        await session.execute(
            update(EvalMonitor)
            .where(EvalMonitor.status == "ACTIVE")
            .values(status="PAUSED", next_run_at=None)
        )


def scheduler_for(app: FastAPI, clock: Clock, factory: object | None = None) -> Scheduler:
    return Scheduler(
        factory or app.state.session_factory,  # type: ignore[arg-type]
        app.state.settings,
        app.state.eval_queue,
        now=clock,
    )

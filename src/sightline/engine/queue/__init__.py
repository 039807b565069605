"""The job queue: transport only. A message is a run ID; the database holds the work.

A message can be lost, repeated or delivered twice and nothing breaks: the executor claims
(target, metric) tasks with a conditional UPDATE and writes scores by upsert, and on start-up
every unfinished run is enqueued again. Adapters: ``inprocess.InProcessQueue`` (asyncio, inside
``serve``) and, later, a Celery one implementing the same three methods.
"""

from __future__ import annotations

import uuid
from typing import Protocol

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session


class JobQueue(Protocol):
    def enqueue(self, run_id: uuid.UUID) -> None:
        """Hand a run to the workers. Call only after the run's rows are committed."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def enqueue_after_commit(db: AsyncSession, queue: JobQueue, run_id: uuid.UUID) -> None:
    """Enqueue ``run_id`` once the session's transaction commits (never if it rolls back),
    so a worker can never look for a run that is not stored yet."""

    def after_commit(_session: Session) -> None:
        queue.enqueue(run_id)

    event.listen(db.sync_session, "after_commit", after_commit, once=True)

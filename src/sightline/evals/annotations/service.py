"""Annotation queues: human review of traces, one reviewer per item at a time.

- ``create_queue``: the metrics, each with its score type now, and the traces, by ID or by
  a trace-run filter with an optional sample size (chosen in ``selection.py``).
- ``next_item``: the reviewer's held item again (its lease renewed), else the first pending
  item nobody holds, leased for ``lease_seconds``; None when nothing is left for them.
- ``annotate``: one ANNOTATION trace score per metric given (no run: the judge's upsert key
  ``(eval_run_id, trace_id, name)`` never matches it, so neither overwrites the other), the
  item DONE. A DONE item is a 409: a correction is a PATCH of the score itself.
- ``skip``: the item SKIPPED (again: a no-op); a skipped item may still be annotated.
Reviewers are API keys, named by the key's name (the scores' ``author_user_id``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from sightline.db.models import AnnotationQueue, AnnotationQueueItem, TraceScore
from sightline.db.types import utcnow
from sightline.errors import Conflict, NotFound, Unauthorized
from sightline.evals.annotations import repository as repo
from sightline.evals.annotations import selection
from sightline.evals.annotations.schemas import (
    QUEUE_METRICS,
    AnnotationCreate,
    AnnotationQueueCreate,
    QueueMetric,
    QueueProgress,
)
from sightline.evals.scores import repository as scores_repo
from sightline.identity import repository as identity_repo
from sightline.identity.schemas import Scope
from sightline.kit.statuses import AnnotationItemStatus, ScoreSource, ScoreStatus

DONE, SKIPPED, PENDING = (
    AnnotationItemStatus.DONE,
    AnnotationItemStatus.SKIPPED,
    AnnotationItemStatus.PENDING,
)
DEFAULT_LEASE_SECONDS = 600
MAX_LEASE_SECONDS = 3600
# A claim that loses a race on PostgreSQL comes back empty; a few more tries find the next.
_CLAIM_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class QueueView:
    queue: AnnotationQueue
    progress: QueueProgress


def queue_not_found(queue_id: uuid.UUID) -> NotFound:
    return NotFound(f"Annotation queue {queue_id} not found.")


async def reviewer_of(db: AsyncSession, scope: Scope) -> str:
    """The caller's API key name: who holds a lease and who wrote an annotation."""
    key = None
    if scope.key_id is not None:
        key = await identity_repo.get_org_key(db, scope.org_id, scope.key_id)
    if key is None:
        raise Unauthorized("Reviewing needs an API key: the key's name is the reviewer's.")
    return key.name


# -- queues ----------------------------------------------------------------------------


async def create_queue(
    db: AsyncSession, project_id: uuid.UUID, body: AnnotationQueueCreate, *, creator: str
) -> QueueView:
    metrics = await selection.queue_metrics(db, project_id, body.metrics)
    trace_ids = await selection.select_traces(db, project_id, body)
    queue = AnnotationQueue(
        id=uuid.uuid4(),
        project_id=project_id,
        name=body.name,
        metrics=[m.model_dump(mode="json") for m in metrics],
        filters=body.filters.stored() if body.filters is not None else None,
        sample_size=body.sample_size,
        created_by=creator,
        created_at=utcnow(),
    )
    await repo.add_queue(db, queue)
    await repo.add_items(db, queue.id, project_id, trace_ids)
    return QueueView(queue, _progress({PENDING: len(trace_ids)}))


def _progress(counts: dict[str, int]) -> QueueProgress:
    done, skipped = counts.get(DONE, 0), counts.get(SKIPPED, 0)
    total = done + skipped + counts.get(PENDING, 0)
    return QueueProgress(total=total, done=done, skipped=skipped, remaining=total - done - skipped)


async def get_queue(db: AsyncSession, project_id: uuid.UUID, queue_id: uuid.UUID) -> QueueView:
    queue = await repo.get_queue(db, project_id, queue_id)
    if queue is None:
        raise queue_not_found(queue_id)
    counts = await repo.count_by_status(db, [queue.id])
    return QueueView(queue, _progress(counts[queue.id]))


async def list_queues(
    db: AsyncSession, project_id: uuid.UUID, limit: int, offset: int
) -> tuple[list[QueueView], int]:
    queues, total = await repo.list_queues(db, project_id, limit, offset)
    counts = await repo.count_by_status(db, [q.id for q in queues])
    return [QueueView(q, _progress(counts[q.id])) for q in queues], total


# -- reviewing -------------------------------------------------------------------------


def metrics_of(queue: AnnotationQueue) -> list[QueueMetric]:
    return [QueueMetric.model_validate(m) for m in queue.metrics]


async def next_item(
    db: AsyncSession,
    project_id: uuid.UUID,
    queue_id: uuid.UUID,
    reviewer: str,
    lease_seconds: int = DEFAULT_LEASE_SECONDS,
) -> tuple[AnnotationQueueItem, list[QueueMetric]] | None:
    queue = await repo.get_queue(db, project_id, queue_id)
    if queue is None:
        raise queue_not_found(queue_id)
    now = utcnow()
    until = now + timedelta(seconds=lease_seconds)
    item = await repo.renew_held(db, queue.id, reviewer, now, until)
    for _ in range(_CLAIM_ATTEMPTS):
        if item is not None or not await repo.has_claimable(db, queue.id, now):
            break
        item = await repo.claim_next(db, queue.id, reviewer, now, until)
    return None if item is None else (item, metrics_of(queue))


async def _queue_and_item(
    db: AsyncSession, project_id: uuid.UUID, queue_id: uuid.UUID, item_id: uuid.UUID
) -> tuple[AnnotationQueue, AnnotationQueueItem]:
    queue = await repo.get_queue(db, project_id, queue_id)
    if queue is None:
        raise queue_not_found(queue_id)
    item = await repo.get_item(db, project_id, queue.id, item_id)
    if item is None:
        raise NotFound(f"Item {item_id} not found in annotation queue {queue_id}.")
    return queue, item


def _refusal(item: AnnotationQueueItem, reviewer: str, now: datetime) -> Conflict:
    if item.status == DONE:
        return Conflict(
            f"Item {item.id} is already annotated (by {item.completed_by}). To correct a "
            "score, PATCH /evaluations/trace-scores/{score_id}."
        )
    expires = item.lease_expires_at
    if item.leased_by not in (None, reviewer) and expires is not None and expires > now:
        return Conflict(
            f"Item {item.id} is being reviewed by {item.leased_by} until "
            f"{expires.isoformat()}; GET .../next hands you another."
        )
    return Conflict(f"Item {item.id} changed meanwhile; try again.")


async def annotate(
    db: AsyncSession,
    project_id: uuid.UUID,
    queue_id: uuid.UUID,
    item_id: uuid.UUID,
    body: AnnotationCreate,
    reviewer: str,
) -> tuple[AnnotationQueueItem, list[TraceScore]]:
    queue, item = await _queue_and_item(db, project_id, queue_id, item_id)
    metrics = {m.name: m for m in metrics_of(queue)}
    # The second pass: names and values against this queue's metrics (a 422 naming the field).
    checked = AnnotationCreate.model_validate(body.model_dump(), context={QUEUE_METRICS: metrics})
    now = utcnow()
    finished = await repo.finish_item(
        db, item.id, DONE, reviewer, now, from_statuses=(PENDING, SKIPPED)
    )
    if finished is None:
        raise _refusal(item, reviewer, now)
    scores = [
        _annotation(finished, metrics[given.name], given.value, given.reason, reviewer, now)
        for given in checked.scores
    ]
    for score in scores:
        await scores_repo.add_score(db, score)
    return finished, scores


def _annotation(
    item: AnnotationQueueItem,
    metric: QueueMetric,
    value: str,
    reason: str | None,
    reviewer: str,
    now: datetime,
) -> TraceScore:
    metadata: dict[str, object] = {
        "annotation_queue_id": str(item.queue_id),
        "annotation_item_id": str(item.id),
    }
    if metric.version > 1:  # the judge's convention (engine/metrics/base.py): absent = 1
        metadata["metric_version"] = metric.version
    return TraceScore(
        id=uuid.uuid4(),
        project_id=item.project_id,
        trace_id=item.trace_id,
        name=metric.name,
        data_type=metric.data_type,
        value=value,
        source=ScoreSource.ANNOTATION,
        status=ScoreStatus.SUCCESS,
        author_user_id=reviewer,
        reason=reason,
        metadata_=metadata,
        eval_run_id=None,
        judge_calls=0,
        prompt_tokens=0,
        completion_tokens=0,
        cost_usd=0.0,
        created_at=now,
        updated_at=now,
    )


async def skip(
    db: AsyncSession,
    project_id: uuid.UUID,
    queue_id: uuid.UUID,
    item_id: uuid.UUID,
    reviewer: str,
) -> AnnotationQueueItem:
    _queue, item = await _queue_and_item(db, project_id, queue_id, item_id)
    if item.status == SKIPPED:
        return item
    now = utcnow()
    finished = await repo.finish_item(db, item.id, SKIPPED, reviewer, now, from_statuses=(PENDING,))
    if finished is None:
        raise _refusal(item, reviewer, now)
    return finished

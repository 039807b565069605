"""All SQL of annotation queues: queues, their items, progress counts and the lease."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sightline.db.models import AnnotationQueue, AnnotationQueueItem
from sightline.kit.statuses import AnnotationItemStatus

Item = AnnotationQueueItem
PENDING = AnnotationItemStatus.PENDING
# Rows per multi-row INSERT: well under SQLite's and asyncpg's bound-parameter limits.
_INSERT_CHUNK = 500


async def add_queue(db: AsyncSession, queue: AnnotationQueue) -> None:
    db.add(queue)
    await db.flush()


async def add_items(
    db: AsyncSession, queue_id: uuid.UUID, project_id: uuid.UUID, trace_ids: Sequence[uuid.UUID]
) -> None:
    rows: list[dict[str, Any]] = [
        {
            "id": uuid.uuid4(),
            "queue_id": queue_id,
            "project_id": project_id,
            "trace_id": trace_id,
            "position": position,
            "status": PENDING,
        }
        for position, trace_id in enumerate(trace_ids)
    ]
    for start in range(0, len(rows), _INSERT_CHUNK):
        await db.execute(insert(Item), rows[start : start + _INSERT_CHUNK])


async def get_queue(
    db: AsyncSession, project_id: uuid.UUID, queue_id: uuid.UUID
) -> AnnotationQueue | None:
    stmt = select(AnnotationQueue).where(
        AnnotationQueue.id == queue_id, AnnotationQueue.project_id == project_id
    )
    return (await db.execute(stmt)).scalar_one_or_none()


async def list_queues(
    db: AsyncSession, project_id: uuid.UUID, limit: int, offset: int
) -> tuple[list[AnnotationQueue], int]:
    where = AnnotationQueue.project_id == project_id
    total = (
        await db.execute(select(func.count()).select_from(AnnotationQueue).where(where))
    ).scalar_one()
    rows = await db.execute(
        select(AnnotationQueue)
        .where(where)
        .order_by(AnnotationQueue.created_at.desc(), AnnotationQueue.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows.scalars()), int(total)


async def count_by_status(
    db: AsyncSession, queue_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, dict[str, int]]:
    """{queue: {status: items}} for the given queues, in one grouped query."""
    counts: dict[uuid.UUID, dict[str, int]] = {q: {} for q in queue_ids}
    if not queue_ids:
        return counts
    stmt = (
        select(Item.queue_id, Item.status, func.count())
        .where(Item.queue_id.in_(list(queue_ids)))
        .group_by(Item.queue_id, Item.status)
    )
    for queue_id, status, count in (await db.execute(stmt)).all():
        counts[queue_id][status] = int(count)
    return counts


async def get_item(
    db: AsyncSession, project_id: uuid.UUID, queue_id: uuid.UUID, item_id: uuid.UUID
) -> AnnotationQueueItem | None:
    stmt = select(Item).where(
        Item.id == item_id, Item.queue_id == queue_id, Item.project_id == project_id
    )
    return (await db.execute(stmt)).scalar_one_or_none()


def _free(now: datetime) -> ColumnElement[bool]:
    return or_(Item.leased_by.is_(None), Item.lease_expires_at <= now)


async def renew_held(
    db: AsyncSession, queue_id: uuid.UUID, reviewer: str, now: datetime, until: datetime
) -> AnnotationQueueItem | None:
    """The pending item the reviewer holds under a live lease, its lease extended."""
    held = and_(
        Item.queue_id == queue_id,
        Item.status == PENDING,
        Item.leased_by == reviewer,
        Item.lease_expires_at > now,
    )
    first = select(Item.id).where(held).order_by(Item.position).limit(1).scalar_subquery()
    return await _lease(db, and_(Item.id == first, held), reviewer, until)


async def claim_next(
    db: AsyncSession, queue_id: uuid.UUID, reviewer: str, now: datetime, until: datetime
) -> AnnotationQueueItem | None:
    """Lease the first pending item that nobody holds. The condition is repeated in the
    UPDATE, so of two reviewers racing for one item only one changes (and gets) it."""
    claimable = and_(Item.queue_id == queue_id, Item.status == PENDING, _free(now))
    first = select(Item.id).where(claimable).order_by(Item.position).limit(1).scalar_subquery()
    return await _lease(db, and_(Item.id == first, claimable), reviewer, until)


async def has_claimable(db: AsyncSession, queue_id: uuid.UUID, now: datetime) -> bool:
    """Whether an empty claim means "nothing left": on PostgreSQL a claim that lost a race
    comes back empty while other items are still free."""
    stmt = (
        select(Item.id)
        .where(Item.queue_id == queue_id, Item.status == PENDING, _free(now))
        .limit(1)
    )
    return (await db.execute(stmt)).first() is not None


async def _lease(
    db: AsyncSession, where: ColumnElement[bool], reviewer: str, until: datetime
) -> AnnotationQueueItem | None:
    stmt = (
        update(Item)
        .where(where)
        .values(leased_by=reviewer, lease_expires_at=until)
        .returning(Item.id)
        .execution_options(synchronize_session=False)
    )
    item_id = (await db.execute(stmt)).scalar_one_or_none()
    if item_id is None:
        return None
    found = select(Item).where(Item.id == item_id).execution_options(populate_existing=True)
    return (await db.execute(found)).scalar_one()


async def finish_item(
    db: AsyncSession,
    item_id: uuid.UUID,
    status: str,
    reviewer: str,
    now: datetime,
    *,
    from_statuses: Sequence[str],
) -> AnnotationQueueItem | None:
    """Mark the item DONE or SKIPPED by the reviewer and release its lease, provided it is
    in one of ``from_statuses`` and not held by another reviewer's live lease; None
    otherwise. Conditional, so two reviewers finishing one item cannot both succeed."""
    stmt = (
        update(Item)
        .where(
            Item.id == item_id,
            Item.status.in_(list(from_statuses)),
            or_(_free(now), Item.leased_by == reviewer),
        )
        .values(
            status=status,
            completed_by=reviewer,
            completed_at=now,
            leased_by=None,
            lease_expires_at=None,
        )
        .returning(Item.id)
        .execution_options(synchronize_session=False)
    )
    if (await db.execute(stmt)).scalar_one_or_none() is None:
        return None
    found = select(Item).where(Item.id == item_id).execution_options(populate_existing=True)
    return (await db.execute(found)).scalar_one()

"""All SQL on eval runs and their (target, metric) tasks."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, case, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sightline.db.models import EvalRun, EvalTask, SessionScore, TraceScore
from sightline.db.types import utcnow
from sightline.kit.statuses import (
    UNFINISHED_RUN_STATUSES,
    UNFINISHED_TASK_STATUSES,
    RunStatus,
    TaskStatus,
)


@dataclass(frozen=True, slots=True)
class ClaimedTask:
    id: int
    target_id: str
    metric: str
    attempts: int


@dataclass(frozen=True, slots=True)
class RunCounters:
    total_pairs: int
    done_pairs: int
    failed_pairs: int
    unfinished_pairs: int
    evaluated_targets: int


# -- runs -------------------------------------------------------------------------------


async def add_run(db: AsyncSession, run: EvalRun) -> None:
    db.add(run)
    await db.flush()


async def get_run(
    db: AsyncSession, project_id: uuid.UUID, run_id: uuid.UUID, target_type: str | None
) -> EvalRun | None:
    stmt = select(EvalRun).where(EvalRun.id == run_id, EvalRun.project_id == project_id)
    if target_type is not None:
        stmt = stmt.where(EvalRun.target_type == target_type)
    return (await db.execute(stmt)).scalar_one_or_none()


async def get_run_by_id(db: AsyncSession, run_id: uuid.UUID) -> EvalRun | None:
    return await db.get(EvalRun, run_id, populate_existing=True)


async def list_runs(
    db: AsyncSession,
    project_id: uuid.UUID,
    target_type: str,
    status: str | None,
    limit: int,
    offset: int,
) -> tuple[Sequence[EvalRun], int]:
    where = [EvalRun.project_id == project_id, EvalRun.target_type == target_type]
    if status is not None:
        where.append(EvalRun.status == status)
    total = (await db.execute(select(func.count()).select_from(EvalRun).where(*where))).scalar_one()
    rows = (
        await db.execute(
            select(EvalRun)
            .where(*where)
            .order_by(EvalRun.created_at.desc(), EvalRun.id.desc())
            .limit(limit)
            .offset(offset)
        )
    ).scalars()
    return list(rows), int(total)


async def delete_run(db: AsyncSession, run_id: uuid.UUID, *, with_scores: bool) -> None:
    """Tasks go with the run; its scores too, or they stay with eval_run_id = NULL. The FKs
    (CASCADE / SET NULL) say the same; doing it here keeps it explicit on both databases."""
    for table in (TraceScore, SessionScore):
        where = table.eval_run_id == run_id
        if with_scores:
            await db.execute(delete(table).where(where))
        else:
            await db.execute(
                update(table).where(where).values(eval_run_id=None)
                .execution_options(synchronize_session=False)
            )  # fmt: skip
    await db.execute(delete(EvalTask).where(EvalTask.run_id == run_id))
    await db.execute(delete(EvalRun).where(EvalRun.id == run_id))


async def list_unfinished_run_ids(db: AsyncSession) -> list[uuid.UUID]:
    stmt = (
        select(EvalRun.id)
        .where(EvalRun.status.in_(UNFINISHED_RUN_STATUSES))
        .order_by(EvalRun.created_at)
    )
    return list((await db.execute(stmt)).scalars())


async def mark_run_running(db: AsyncSession, run_id: uuid.UUID) -> None:
    await db.execute(
        update(EvalRun)
        .where(EvalRun.id == run_id, EvalRun.status == RunStatus.PENDING)
        .values(status=RunStatus.RUNNING, started_at=utcnow(), completed_at=None)
    )


async def finish_run(
    db: AsyncSession, run_id: uuid.UUID, status: str, error_message: str | None
) -> None:
    await db.execute(
        update(EvalRun)
        .where(EvalRun.id == run_id, EvalRun.status.in_(UNFINISHED_RUN_STATUSES))
        .values(status=status, error_message=error_message, completed_at=utcnow())
    )


# -- tasks ------------------------------------------------------------------------------


async def add_tasks(
    db: AsyncSession,
    run_id: uuid.UUID,
    project_id: uuid.UUID,
    pairs: Sequence[tuple[str, str]],
) -> None:
    now = utcnow()
    positions: dict[str, int] = {}
    rows = []
    for target_id, metric in pairs:
        position = positions.setdefault(target_id, len(positions))
        rows.append(
            {
                "run_id": run_id,
                "project_id": project_id,
                "target_id": target_id,
                "metric": metric,
                "position": position,
                "status": TaskStatus.PENDING,
                "attempts": 0,
                "updated_at": now,
            }
        )
    for start in range(0, len(rows), 1000):
        await db.execute(insert(EvalTask), rows[start : start + 1000])


def _claimable(now: datetime) -> ColumnElement[bool]:
    return or_(
        EvalTask.status == TaskStatus.PENDING,
        and_(EvalTask.status == TaskStatus.RUNNING, EvalTask.lease_expires_at < now),
    )


async def claim_targets(
    db: AsyncSession,
    run_id: uuid.UUID,
    max_targets: int,
    lease_until: datetime,
    holder: str | None = None,
) -> list[ClaimedTask]:
    """Claim every claimable task of the next ``max_targets`` targets, in target order.

    The condition is repeated in the UPDATE itself, so when two workers pick the same rows
    only one of them changes (and gets back) each row.
    """
    now = utcnow()
    targets = (
        select(EvalTask.target_id)
        .where(EvalTask.run_id == run_id, _claimable(now))
        .group_by(EvalTask.target_id)
        .order_by(func.min(EvalTask.position))
        .limit(max_targets)
        .scalar_subquery()
    )
    stmt = (
        update(EvalTask)
        .where(EvalTask.run_id == run_id, EvalTask.target_id.in_(targets), _claimable(now))
        .values(
            status=TaskStatus.RUNNING,
            lease_expires_at=lease_until,
            lease_holder=holder,
            attempts=EvalTask.attempts + 1,
            updated_at=now,
        )
        .returning(EvalTask.id, EvalTask.target_id, EvalTask.metric, EvalTask.attempts)
        .execution_options(synchronize_session=False)
    )
    rows = (await db.execute(stmt)).all()
    return [ClaimedTask(r.id, r.target_id, r.metric, r.attempts) for r in rows]


async def has_claimable_tasks(db: AsyncSession, run_id: uuid.UUID) -> bool:
    """Whether the run has pending or lease-expired tasks: an empty claim is "nothing
    claimable" only if this says so, since on PostgreSQL a claim that raced another one for
    the same rows comes back empty while other rows are still free."""
    stmt = select(EvalTask.id).where(EvalTask.run_id == run_id, _claimable(utcnow())).limit(1)
    return (await db.execute(stmt)).first() is not None


async def renew_leases(db: AsyncSession, task_ids: Sequence[int], lease_until: datetime) -> int:
    if not task_ids:
        return 0
    result = await db.execute(
        update(EvalTask)
        .where(EvalTask.id.in_(task_ids), EvalTask.status == TaskStatus.RUNNING)
        .values(lease_expires_at=lease_until)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)


async def _hand_back(db: AsyncSession, which: ColumnElement[bool]) -> int:
    """Running tasks matching ``which`` become claimable at once, with no lease wait."""
    result = await db.execute(
        update(EvalTask)
        .where(which, EvalTask.status == TaskStatus.RUNNING)
        .values(
            status=TaskStatus.PENDING,
            lease_expires_at=None,
            lease_holder=None,
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)


async def release_tasks(db: AsyncSession, task_ids: Sequence[int]) -> None:
    """Give claimed tasks back (a worker shutting down)."""
    if task_ids:
        await _hand_back(db, EvalTask.id.in_(task_ids))


async def count_active_holders(db: AsyncSession, run_id: uuid.UUID) -> int:
    """The processes holding live leases on this run's tasks (the workers on it now)."""
    stmt = select(func.count(func.distinct(EvalTask.lease_holder))).where(
        EvalTask.run_id == run_id,
        EvalTask.status == TaskStatus.RUNNING,
        EvalTask.lease_expires_at >= utcnow(),
    )
    return int((await db.execute(stmt)).scalar_one())


async def runs_with_claimable_work(db: AsyncSession) -> list[uuid.UUID]:
    """Unfinished runs with pending or lease-expired tasks: what a lost message left idle."""
    claimable = (
        select(EvalTask.id)
        .where(EvalTask.run_id == EvalRun.id, _claimable(utcnow()))
        .limit(1)
        .exists()
    )
    stmt = select(EvalRun.id).where(EvalRun.status.in_(UNFINISHED_RUN_STATUSES), claimable)
    return list((await db.execute(stmt)).scalars())


async def running_holders(db: AsyncSession, run_ids: Sequence[uuid.UUID]) -> set[str]:
    """The processes that hold leases on running tasks of these runs."""
    if not run_ids:
        return set()
    stmt = (
        select(EvalTask.lease_holder)
        .where(
            EvalTask.run_id.in_(run_ids),
            EvalTask.status == TaskStatus.RUNNING,
            EvalTask.lease_holder.is_not(None),
        )
        .distinct()
    )
    return {h for h in (await db.execute(stmt)).scalars() if h}


async def free_holders(db: AsyncSession, holders: Sequence[str]) -> int:
    """Hand the running tasks of dead processes back."""
    if not holders:
        return 0
    return await _hand_back(db, EvalTask.lease_holder.in_(holders))


async def finish_tasks(db: AsyncSession, task_ids: Sequence[int], status: str) -> None:
    if task_ids:
        await db.execute(
            update(EvalTask)
            .where(EvalTask.id.in_(task_ids))
            .values(status=status, lease_expires_at=None, lease_holder=None, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )


async def next_lease_expiry(db: AsyncSession, run_id: uuid.UUID) -> datetime | None:
    stmt = select(func.min(EvalTask.lease_expires_at)).where(
        EvalTask.run_id == run_id, EvalTask.status == TaskStatus.RUNNING
    )
    value = (await db.execute(stmt)).scalar_one_or_none()
    return value


async def failed_pairs(db: AsyncSession, run_id: uuid.UUID) -> list[tuple[str, str]]:
    stmt = (
        select(EvalTask.target_id, EvalTask.metric)
        .where(EvalTask.run_id == run_id, EvalTask.status == TaskStatus.FAILED)
        .order_by(EvalTask.position, EvalTask.metric)
    )
    return [(r.target_id, r.metric) for r in (await db.execute(stmt)).all()]


async def compute_counters(db: AsyncSession, run_id: uuid.UUID) -> RunCounters:
    unfinished = EvalTask.status.in_(UNFINISHED_TASK_STATUSES)
    pairs = (
        await db.execute(
            select(
                func.count(),
                func.count(case((EvalTask.status == TaskStatus.DONE, 1))),
                func.count(case((EvalTask.status == TaskStatus.FAILED, 1))),
                func.count(case((unfinished, 1))),
            ).where(EvalTask.run_id == run_id)
        )
    ).one()
    open_targets = (
        select(EvalTask.target_id)
        .where(EvalTask.run_id == run_id)
        .group_by(EvalTask.target_id)
        .having(func.count(case((unfinished, 1))) == 0)
        .subquery()
    )
    evaluated = (await db.execute(select(func.count()).select_from(open_targets))).scalar_one()
    return RunCounters(
        total_pairs=int(pairs[0]),
        done_pairs=int(pairs[1]),
        failed_pairs=int(pairs[2]),
        unfinished_pairs=int(pairs[3]),
        evaluated_targets=int(evaluated),
    )


async def store_counters(db: AsyncSession, run_id: uuid.UUID, counters: RunCounters) -> None:
    await db.execute(
        update(EvalRun)
        .where(EvalRun.id == run_id)
        .values(
            evaluated_count=counters.evaluated_targets,
            failed_count=counters.failed_pairs,
        )
        .execution_options(synchronize_session=False)
    )


async def add_spend(
    db: AsyncSession,
    run_id: uuid.UUID,
    *,
    judge_calls: int,
    prompt_tokens: int,
    completion_tokens: int,
    cost_usd: float,
) -> None:
    """Add judge spend to the run as it happens (increments: any number of workers spend
    on one run), so calls made before a crash stay counted though their scores were lost."""
    await db.execute(
        update(EvalRun)
        .where(EvalRun.id == run_id)
        .values(
            judge_calls=EvalRun.judge_calls + judge_calls,
            prompt_tokens=EvalRun.prompt_tokens + prompt_tokens,
            completion_tokens=EvalRun.completion_tokens + completion_tokens,
            cost_usd=EvalRun.cost_usd + cost_usd,
        )
        .execution_options(synchronize_session=False)
    )


async def run_exists(db: AsyncSession, run_id: uuid.UUID) -> bool:
    found = await db.execute(select(EvalRun.id).where(EvalRun.id == run_id))
    return found.scalar_one_or_none() is not None

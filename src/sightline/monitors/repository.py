"""All SQL of monitors, including the scheduler's conditional claim."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sightline.db.models import EvalMonitor, EvalRun, SessionScore, Trace, TraceScore
from sightline.kit.statuses import MonitorStatus, ScoreSource, ScoreStatus
from sightline.traces.repository import filter_clauses

_CHUNK = 1000


async def add_monitor(db: AsyncSession, monitor: EvalMonitor) -> None:
    db.add(monitor)
    await db.flush()


async def get_monitor(
    db: AsyncSession, project_id: uuid.UUID, monitor_id: uuid.UUID
) -> EvalMonitor | None:
    monitor: EvalMonitor | None = await db.scalar(
        select(EvalMonitor).where(
            EvalMonitor.project_id == project_id, EvalMonitor.id == monitor_id
        )
    )
    return monitor


async def get_monitor_by_id(db: AsyncSession, monitor_id: uuid.UUID) -> EvalMonitor | None:
    return await db.get(EvalMonitor, monitor_id, populate_existing=True)


async def list_monitors(
    db: AsyncSession, project_id: uuid.UUID, status: str | None, limit: int, offset: int
) -> tuple[list[EvalMonitor], int]:
    query = select(EvalMonitor).where(EvalMonitor.project_id == project_id)
    if status is not None:
        query = query.where(EvalMonitor.status == status)
    total = await db.scalar(select(func.count()).select_from(query.subquery()))
    rows = await db.scalars(
        query.order_by(EvalMonitor.created_at.desc(), EvalMonitor.id).limit(limit).offset(offset)
    )
    return list(rows.all()), int(total or 0)


async def delete_monitor(db: AsyncSession, monitor: EvalMonitor) -> None:
    # Spawned runs stay; their monitor_id becomes NULL (FK SET NULL, done explicitly too).
    await db.execute(
        update(EvalRun).where(EvalRun.monitor_id == monitor.id).values(monitor_id=None)
    )
    await db.delete(monitor)
    await db.flush()


async def list_monitor_runs(
    db: AsyncSession, monitor_id: uuid.UUID, limit: int, offset: int
) -> tuple[list[EvalRun], int]:
    query = select(EvalRun).where(EvalRun.monitor_id == monitor_id)
    total = await db.scalar(select(func.count()).select_from(query.subquery()))
    rows = await db.scalars(
        query.order_by(EvalRun.created_at.desc(), EvalRun.id).limit(limit).offset(offset)
    )
    return list(rows.all()), int(total or 0)


async def last_spawned_at(db: AsyncSession, monitor_id: uuid.UUID) -> datetime | None:
    """When the monitor's newest run was created (server time, the same clock as trace
    ingestion), the reference for only_if_changed."""
    created_at: datetime | None = await db.scalar(
        select(func.max(EvalRun.created_at)).where(EvalRun.monitor_id == monitor_id)
    )
    return created_at


# -- the scheduler ------------------------------------------------------------------------
async def list_due(db: AsyncSession, now: datetime, limit: int) -> list[tuple[Any, ...]]:
    rows = await db.execute(
        select(EvalMonitor.id, EvalMonitor.next_run_at, EvalMonitor.cadence)
        .where(
            EvalMonitor.status == MonitorStatus.ACTIVE,
            EvalMonitor.next_run_at.is_not(None),
            EvalMonitor.next_run_at <= now,
        )
        .order_by(EvalMonitor.next_run_at, EvalMonitor.id)
        .limit(limit)
    )
    return [tuple(row) for row in rows.all()]


async def claim_due(
    db: AsyncSession, monitor_id: uuid.UUID, due_at: datetime, next_run_at: datetime
) -> bool:
    """Move a due monitor to its next time; True for exactly one of several schedulers.

    The WHERE repeats what was read (still ACTIVE, still due at ``due_at``), so a concurrent
    claim, pause or cadence change makes this UPDATE match no row."""
    result = await db.execute(
        update(EvalMonitor)
        .where(
            EvalMonitor.id == monitor_id,
            EvalMonitor.next_run_at == due_at,
            EvalMonitor.status == MonitorStatus.ACTIVE,
        )
        .values(next_run_at=next_run_at)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount) == 1


async def any_trace_ingested_since(
    db: AsyncSession, project_id: uuid.UUID, filters: dict[str, Any], since: datetime
) -> bool:
    """Whether a trace in scope was ingested (first or again) after ``since``: ingestion
    time, not started_at, so late-arriving traces count (API.md §6 item 22)."""
    found = await db.scalar(
        select(Trace.trace_id)
        .where(*filter_clauses(project_id, filters), Trace.ingested_at > since)
        .limit(1)
    )
    return found is not None


# -- what is already scored ------------------------------------------------------------------
async def list_scored_trace_pairs(
    db: AsyncSession,
    project_id: uuid.UUID,
    trace_ids: Sequence[uuid.UUID],
    metrics: Sequence[str],
    model: str,
) -> set[tuple[uuid.UUID, str]]:
    """(trace, metric) pairs that already have a SUCCESS automated score from ``model``."""
    found: set[tuple[uuid.UUID, str]] = set()
    for start in range(0, len(trace_ids), _CHUNK):
        rows = await db.execute(
            select(TraceScore.trace_id, TraceScore.name)
            .where(
                TraceScore.project_id == project_id,
                TraceScore.trace_id.in_(list(trace_ids[start : start + _CHUNK])),
                TraceScore.name.in_(list(metrics)),
                TraceScore.model == model,
                TraceScore.status == ScoreStatus.SUCCESS,
                TraceScore.source == ScoreSource.AUTOMATED,
            )
            .distinct()
        )
        found.update((tid, name) for tid, name in rows.tuples().all())
    return found


async def list_session_scored_at(
    db: AsyncSession, project_id: uuid.UUID, metrics: Sequence[str], model: str
) -> dict[tuple[str, str], datetime]:
    """When each (session, metric) last got a SUCCESS automated score from ``model``."""
    rows = await db.execute(
        select(SessionScore.session_id, SessionScore.name, func.max(SessionScore.created_at))
        .where(
            SessionScore.project_id == project_id,
            SessionScore.name.in_(list(metrics)),
            SessionScore.model == model,
            SessionScore.status == ScoreStatus.SUCCESS,
            SessionScore.source == ScoreSource.AUTOMATED,
        )
        .group_by(SessionScore.session_id, SessionScore.name)
    )
    return {(sid, name): at for sid, name, at in rows.tuples().all()}


# -- what is already scored by a custom metric's version ------------------------------------
# A custom metric's pair is scored only by a score of its current version (an edited metric
# is scored again), from its judge model (a check's scores have no model: any will do).
CustomWanted = Mapping[str, tuple[int, str | None]]  # name -> (version, model or None)


def _version_text() -> Any:
    # As text: a score posted with odd metadata must not break the query.
    return TraceScore.metadata_["metric_version"].as_string()


def _matches(wanted: CustomWanted, name: str, model: str | None, version: Any) -> bool:
    want_version, want_model = wanted[name]
    return str(version) == str(want_version) and (want_model is None or model == want_model)


async def list_scored_custom_trace_pairs(
    db: AsyncSession,
    project_id: uuid.UUID,
    trace_ids: Sequence[uuid.UUID],
    wanted: CustomWanted,
) -> set[tuple[uuid.UUID, str]]:
    found: set[tuple[uuid.UUID, str]] = set()
    if not wanted:
        return found
    for start in range(0, len(trace_ids), _CHUNK):
        rows = await db.execute(
            select(TraceScore.trace_id, TraceScore.name, TraceScore.model, _version_text())
            .where(
                TraceScore.project_id == project_id,
                TraceScore.trace_id.in_(list(trace_ids[start : start + _CHUNK])),
                TraceScore.name.in_(list(wanted)),
                TraceScore.status == ScoreStatus.SUCCESS,
                TraceScore.source == ScoreSource.AUTOMATED,
            )
            .distinct()
        )
        found.update(
            (tid, name)
            for tid, name, model, version in rows.tuples().all()
            if _matches(wanted, name, model, version)
        )
    return found


async def list_custom_session_scored_at(
    db: AsyncSession, project_id: uuid.UUID, wanted: CustomWanted
) -> dict[tuple[str, str], datetime]:
    if not wanted:
        return {}
    version = SessionScore.metadata_["metric_version"].as_string()
    rows = await db.execute(
        select(
            SessionScore.session_id,
            SessionScore.name,
            SessionScore.model,
            version,
            func.max(SessionScore.created_at),
        )
        .where(
            SessionScore.project_id == project_id,
            SessionScore.name.in_(list(wanted)),
            SessionScore.status == ScoreStatus.SUCCESS,
            SessionScore.source == ScoreSource.AUTOMATED,
        )
        .group_by(SessionScore.session_id, SessionScore.name, SessionScore.model, version)
    )
    scored: dict[tuple[str, str], datetime] = {}
    for sid, name, model, found_version, at in rows.tuples().all():
        if _matches(wanted, name, model, found_version):
            key = (sid, name)
            scored[key] = max(at, scored.get(key, at))
    return scored

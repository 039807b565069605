"""All SQL on scores outside analytics: trace scores (the executor's upsert, the score API,
signals a session run may reuse) and session scores."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, Table, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from sightline.db.models import SessionScore, TraceScore
from sightline.db.upsert import upsert, upsert_many
from sightline.kit.statuses import ScoreDataType, ScoreSource, ScoreStatus

_TRACE_UPSERT_KEY = ("eval_run_id", "trace_id", "name")
_TRACE_UPSERT_UPDATED = (
    "value", "status", "reason", "metadata", "model", "judge_calls", "prompt_tokens",
    "completion_tokens", "cost_usd", "environment", "updated_at",
)  # fmt: skip

_TRACE_SCORE = cast(Table, TraceScore.__table__)


async def upsert_trace_scores(db: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """One automated score per (run, trace, metric): a repeat replaces, never duplicates.
    Many rows (a batch of a judge-free run) go as one statement with many parameter sets."""
    write = upsert_many if len(rows) > 1 else upsert
    await write(db, _TRACE_SCORE, rows, key=_TRACE_UPSERT_KEY, update=_TRACE_UPSERT_UPDATED)


async def add_score(db: AsyncSession, score: TraceScore) -> None:
    db.add(score)
    await db.flush()


async def get_score(
    db: AsyncSession, project_id: uuid.UUID, score_id: uuid.UUID
) -> TraceScore | None:
    stmt = select(TraceScore).where(TraceScore.id == score_id, TraceScore.project_id == project_id)
    return (await db.execute(stmt)).scalar_one_or_none()


async def delete_score(db: AsyncSession, score: TraceScore) -> None:
    await db.execute(delete(TraceScore).where(TraceScore.id == score.id))


@dataclass(frozen=True, slots=True)
class ScoreFilter:
    trace_id: uuid.UUID | None = None
    name: str | None = None
    source: str | None = None
    status: str | None = None
    data_type: str | None = None
    eval_run_id: uuid.UUID | None = None
    environment: str | None = None
    date_from: datetime | None = None
    date_to: datetime | None = None

    def clauses(self, project_id: uuid.UUID) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = [TraceScore.project_id == project_id]
        for column, value in (
            (TraceScore.trace_id, self.trace_id),
            (TraceScore.name, self.name),
            (TraceScore.source, self.source),
            (TraceScore.status, self.status),
            (TraceScore.data_type, self.data_type),
            (TraceScore.eval_run_id, self.eval_run_id),
            (TraceScore.environment, self.environment),
        ):
            if value is not None:
                where.append(column == value)
        if self.date_from is not None:
            where.append(TraceScore.created_at >= self.date_from)
        if self.date_to is not None:
            where.append(TraceScore.created_at < self.date_to)
        return where


async def list_scores(
    db: AsyncSession, project_id: uuid.UUID, where: ScoreFilter, limit: int, offset: int
) -> tuple[list[TraceScore], int]:
    clauses = where.clauses(project_id)
    total = (
        await db.execute(select(func.count()).select_from(TraceScore).where(*clauses))
    ).scalar_one()
    rows = await db.execute(
        select(TraceScore)
        .where(*clauses)
        .order_by(TraceScore.created_at.desc(), TraceScore.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows.scalars()), int(total)


async def score_page(
    db: AsyncSession,
    project_id: uuid.UUID,
    where: ScoreFilter,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[TraceScore]:
    """A keyset page for the export, ordered by the unique (created_at, id), so pages never
    repeat or skip a score; created_at leads as in the (project_id, created_at) index, and
    the `>=` bound keeps that range usable while the OR skips tied rows already sent."""
    clauses = where.clauses(project_id)
    if after is not None:
        created_at, score_id = after
        clauses.append(TraceScore.created_at >= created_at)
        clauses.append(or_(TraceScore.created_at > created_at, TraceScore.id > score_id))
    rows = await db.execute(
        select(TraceScore)
        .where(*clauses)
        .order_by(TraceScore.created_at, TraceScore.id)
        .limit(limit)
    )
    return list(rows.scalars())


async def list_run_scores(db: AsyncSession, run_id: uuid.UUID) -> list[TraceScore]:
    rows = await db.execute(
        select(TraceScore)
        .where(TraceScore.eval_run_id == run_id)
        .order_by(TraceScore.created_at.desc(), TraceScore.id.desc())
    )
    return list(rows.scalars())


async def latest_scores_per_name(
    db: AsyncSession, project_id: uuid.UUID, trace_id: uuid.UUID
) -> list[TraceScore]:
    ranked = (
        select(
            TraceScore.id,
            func.row_number()
            .over(
                partition_by=TraceScore.name,
                order_by=(TraceScore.created_at.desc(), TraceScore.id.desc()),
            )
            .label("rank"),
        )
        .where(TraceScore.project_id == project_id, TraceScore.trace_id == trace_id)
        .subquery()
    )
    rows = await db.execute(
        select(TraceScore)
        .join(ranked, ranked.c.id == TraceScore.id)
        .where(ranked.c.rank == 1)
        .order_by(TraceScore.name)
    )
    return list(rows.scalars())


async def latest_scores_for_traces(
    db: AsyncSession, project_id: uuid.UUID, trace_ids: Sequence[uuid.UUID]
) -> list[TraceScore]:
    """The newest score of each name on each of ``trace_ids`` (a page of a trace list)."""
    if not trace_ids:
        return []
    ranked = (
        select(
            TraceScore.id,
            func.row_number()
            .over(
                partition_by=(TraceScore.trace_id, TraceScore.name),
                order_by=(TraceScore.created_at.desc(), TraceScore.id.desc()),
            )
            .label("rank"),
        )
        .where(TraceScore.project_id == project_id, TraceScore.trace_id.in_(list(trace_ids)))
        .subquery()
    )
    rows = await db.execute(
        select(TraceScore)
        .join(ranked, ranked.c.id == TraceScore.id)
        .where(ranked.c.rank == 1)
        .order_by(TraceScore.name)
    )
    return list(rows.scalars())


async def most_common_failure(db: AsyncSession, run_id: uuid.UUID) -> str | None:
    for table in (TraceScore, SessionScore):
        stmt = (
            select(table.reason, func.count().label("n"))
            .where(table.eval_run_id == run_id, table.status == ScoreStatus.FAILED)
            .group_by(table.reason)
            .order_by(func.count().desc())
            .limit(1)
        )
        row = (await db.execute(stmt)).first()
        if row is not None and row.reason:
            return str(row.reason)
    return None


async def list_reusable_signals(
    db: AsyncSession,
    project_id: uuid.UUID,
    trace_ids: Sequence[uuid.UUID],
    names: Sequence[str],
    model: str,
) -> dict[tuple[uuid.UUID, str], TraceScore]:
    """The newest score per (trace, signal) that may stand in for a fresh computation:
    AUTOMATED, SUCCESS, NUMERIC, same judge model, in this project (API.md §6 item 13),
    with a value or marked not applicable (a null value with ``metadata.not_applicable``)."""
    if not trace_ids:
        return {}
    rows = await db.scalars(
        select(TraceScore)
        .where(
            TraceScore.project_id == project_id,
            TraceScore.trace_id.in_(list(trace_ids)),
            TraceScore.name.in_(list(names)),
            TraceScore.source == ScoreSource.AUTOMATED,
            TraceScore.status == ScoreStatus.SUCCESS,
            TraceScore.data_type == ScoreDataType.NUMERIC,
            TraceScore.model == model,
        )
        .order_by(TraceScore.created_at)
    )
    newest: dict[tuple[uuid.UUID, str], TraceScore] = {}
    for score in rows.all():
        if score.value is None and not (score.metadata_ or {}).get("not_applicable"):
            continue
        newest[(score.trace_id, score.name)] = score  # ascending: the last one wins
    return newest


# -- session scores ---------------------------------------------------------------------


def session_score_query(project_id: uuid.UUID, **filters: Any) -> Select[tuple[SessionScore]]:
    query = select(SessionScore).where(SessionScore.project_id == project_id)
    for column in ("session_id", "name", "source", "status", "eval_run_id"):
        if filters.get(column) is not None:
            query = query.where(getattr(SessionScore, column) == filters[column])
    if filters.get("date_from") is not None:
        query = query.where(SessionScore.created_at >= filters["date_from"])
    if filters.get("date_to") is not None:
        query = query.where(SessionScore.created_at < filters["date_to"])
    return query


async def list_session_scores(
    db: AsyncSession, project_id: uuid.UUID, *, limit: int, offset: int, **filters: Any
) -> tuple[list[SessionScore], int]:
    query = session_score_query(project_id, **filters)
    total = await db.scalar(select(func.count()).select_from(query.subquery()))
    page = await db.scalars(
        query.order_by(SessionScore.created_at.desc(), SessionScore.id).limit(limit).offset(offset)
    )
    return list(page.all()), int(total or 0)


async def list_all_session_scores(
    db: AsyncSession, project_id: uuid.UUID, **filters: Any
) -> list[SessionScore]:
    query = session_score_query(project_id, **filters)
    rows = await db.scalars(query.order_by(SessionScore.created_at.desc(), SessionScore.id))
    return list(rows.all())


async def get_session_score(
    db: AsyncSession, project_id: uuid.UUID, score_id: uuid.UUID
) -> SessionScore | None:
    score: SessionScore | None = await db.scalar(
        select(SessionScore).where(
            SessionScore.project_id == project_id, SessionScore.id == score_id
        )
    )
    return score


async def delete_session_score(db: AsyncSession, score: SessionScore) -> None:
    await db.execute(delete(SessionScore).where(SessionScore.id == score.id))


_SESSION_SCORE = cast(Table, SessionScore.__table__)
_SESSION_UPSERT_KEY = ("eval_run_id", "session_id", "name")
_SESSION_UPSERT_UPDATED = ("value", "status", "reason", "metadata", "model", "updated_at")


async def upsert_session_scores(db: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """One automated score per (run, session, metric): a repeat replaces, never duplicates."""
    await upsert(db, _SESSION_SCORE, rows, key=_SESSION_UPSERT_KEY, update=_SESSION_UPSERT_UPDATED)

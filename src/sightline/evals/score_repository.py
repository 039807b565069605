"""All SQL on trace scores: the executor's upsert, the score API and its analytics."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Float, Table, delete, func, select
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from sightline.db.models import SessionScore, TraceScore

_UPSERT_KEY = ["eval_run_id", "trace_id", "name"]
_UPSERT_UPDATED = (
    "value", "status", "reason", "metadata", "model", "judge_calls", "prompt_tokens",
    "completion_tokens", "cost_usd", "environment", "updated_at",
)  # fmt: skip

_TRACE_SCORE = cast(Table, TraceScore.__table__)


def _dialect(session: AsyncSession) -> str:
    bind = session.bind
    assert bind is not None
    return bind.dialect.name


async def upsert_trace_scores(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """One automated score per (run, trace, metric): a repeat replaces, never duplicates."""
    if not rows:
        return
    dialect_insert = postgresql.insert if _dialect(session) == "postgresql" else sqlite.insert
    stmt = dialect_insert(_TRACE_SCORE).values(list(rows))
    stmt = stmt.on_conflict_do_update(
        index_elements=_UPSERT_KEY,
        set_={name: stmt.excluded[name] for name in _UPSERT_UPDATED},
    )
    await session.execute(stmt)


async def add_score(session: AsyncSession, score: TraceScore) -> None:
    session.add(score)
    await session.flush()


async def get_score(
    session: AsyncSession, project_id: uuid.UUID, score_id: uuid.UUID
) -> TraceScore | None:
    stmt = select(TraceScore).where(TraceScore.id == score_id, TraceScore.project_id == project_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def delete_score(session: AsyncSession, score: TraceScore) -> None:
    await session.execute(delete(TraceScore).where(TraceScore.id == score.id))


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
    session: AsyncSession, project_id: uuid.UUID, where: ScoreFilter, limit: int, offset: int
) -> tuple[list[TraceScore], int]:
    clauses = where.clauses(project_id)
    total = (
        await session.execute(select(func.count()).select_from(TraceScore).where(*clauses))
    ).scalar_one()
    rows = await session.execute(
        select(TraceScore)
        .where(*clauses)
        .order_by(TraceScore.created_at.desc(), TraceScore.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows.scalars()), int(total)


async def list_run_scores(session: AsyncSession, run_id: uuid.UUID) -> list[TraceScore]:
    rows = await session.execute(
        select(TraceScore)
        .where(TraceScore.eval_run_id == run_id)
        .order_by(TraceScore.created_at.desc(), TraceScore.id.desc())
    )
    return list(rows.scalars())


async def latest_scores_per_name(
    session: AsyncSession, project_id: uuid.UUID, trace_id: uuid.UUID
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
    rows = await session.execute(
        select(TraceScore)
        .join(ranked, ranked.c.id == TraceScore.id)
        .where(ranked.c.rank == 1)
        .order_by(TraceScore.name)
    )
    return list(rows.scalars())


async def most_common_failure(session: AsyncSession, run_id: uuid.UUID) -> str | None:
    for table in (TraceScore, SessionScore):
        stmt = (
            select(table.reason, func.count().label("n"))
            .where(table.eval_run_id == run_id, table.status == "FAILED")
            .group_by(table.reason)
            .order_by(func.count().desc())
            .limit(1)
        )
        row = (await session.execute(stmt)).first()
        if row is not None and row.reason:
            return str(row.reason)
    return None


# -- analytics --------------------------------------------------------------------------


def _numeric_value() -> ColumnElement[float]:
    return sql_cast(TraceScore.value, Float)


async def summary_counts(
    session: AsyncSession, project_id: uuid.UUID, where: ScoreFilter
) -> list[Any]:
    """Per name: SUCCESS and FAILED counts and the newest created_at (any status)."""
    stmt = (
        select(
            TraceScore.name,
            func.count().filter(TraceScore.status == "SUCCESS").label("success_count"),
            func.count().filter(TraceScore.status == "FAILED").label("failed_count"),
            func.max(TraceScore.created_at).label("latest_score_at"),
        )
        .where(*where.clauses(project_id))
        .group_by(TraceScore.name)
        .order_by(TraceScore.name)
    )
    return list((await session.execute(stmt)).all())


async def numeric_histogram(
    session: AsyncSession, project_id: uuid.UUID, where: ScoreFilter
) -> list[tuple[str, float, int]]:
    """(name, value, count) over NUMERIC SUCCESS scores, grouped by distinct value: automated
    values are rounded to 4 places, so this stays small while giving exact medians and
    histograms on both databases (SQLite has neither percentile_cont nor width_bucket)."""
    clauses = [
        *where.clauses(project_id),
        TraceScore.data_type == "NUMERIC",
        TraceScore.status == "SUCCESS",
        TraceScore.value.is_not(None),
    ]
    stmt = (
        select(TraceScore.name, _numeric_value().label("v"), func.count().label("n"))
        .where(*clauses)
        .group_by(TraceScore.name, _numeric_value())
    )
    return [(r.name, float(r.v), int(r.n)) for r in (await session.execute(stmt)).all()]


async def trend_rows(
    session: AsyncSession,
    project_id: uuid.UUID,
    where: ScoreFilter,
    bucket: ColumnElement[Any],
) -> list[Any]:
    clauses = [
        *where.clauses(project_id),
        TraceScore.data_type == "NUMERIC",
        TraceScore.status == "SUCCESS",
        TraceScore.value.is_not(None),
    ]
    stmt = (
        select(
            bucket.label("bucket"),
            func.avg(_numeric_value()).label("avg_score"),
            func.count().label("count"),
        )
        .where(*clauses)
        .group_by(bucket)
        .order_by(bucket)
    )
    return list((await session.execute(stmt)).all())


def time_bucket(session: AsyncSession, granularity: str) -> ColumnElement[Any]:
    column = TraceScore.created_at
    if _dialect(session) == "postgresql":
        # Truncate in UTC whatever the server's TimeZone setting is.
        return func.date_trunc(granularity, func.timezone("UTC", column))
    if granularity == "hour":
        return func.strftime("%Y-%m-%d %H:00:00", column)
    if granularity == "week":  # the Monday of the week, like date_trunc('week')
        return func.strftime("%Y-%m-%d 00:00:00", column, "weekday 0", "-6 days")
    return func.strftime("%Y-%m-%d 00:00:00", column)

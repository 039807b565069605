"""All SQL of score analytics. Trace-score statistics are computed in SQL (grouped by
distinct value); session-score analytics read the rows and compute in Python."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Float, case, func, literal_column, select
from sqlalchemy import cast as sql_cast
from sqlalchemy.ext.asyncio import AsyncSession

from sightline.db.models import SessionScore, TraceScore
from sightline.db.session import dialect_of
from sightline.evals.scores.repository import ScoreFilter, session_score_query
from sightline.kit.statuses import ScoreDataType, ScoreSource, ScoreStatus


def _numeric_value() -> ColumnElement[float]:
    """NUMERIC values as numbers, and an automated BOOLEAN one (a custom check or judge) as
    1 for "true", 0 for "false", so a check's average is its pass rate. Literals rather than
    bound parameters: the expression is grouped by, and PostgreSQL matches the GROUP BY to
    the select list by its text."""
    boolean: ColumnElement[str] = literal_column(f"'{ScoreDataType.BOOLEAN.value}'")
    as_number = case(
        (TraceScore.value == literal_column("'true'"), literal_column("1.0")),
        else_=literal_column("0.0"),
    )
    return case(
        (TraceScore.data_type == boolean, sql_cast(as_number, Float)),
        else_=sql_cast(TraceScore.value, Float),
    )


def _in_statistics() -> ColumnElement[bool]:
    """NUMERIC scores, and BOOLEAN ones of automated metrics (which did not exist before
    custom metrics: a BOOLEAN annotation or SDK score stays out, as it always has)."""
    return (TraceScore.data_type == ScoreDataType.NUMERIC) | (
        (TraceScore.data_type == ScoreDataType.BOOLEAN)
        & (TraceScore.source == ScoreSource.AUTOMATED)
    )


async def summary_counts(db: AsyncSession, project_id: uuid.UUID, where: ScoreFilter) -> list[Any]:
    """Per name: SUCCESS, FAILED and not-applicable counts (automated SUCCESS without a
    value) and the newest created_at (any status)."""
    not_applicable = (
        (TraceScore.status == ScoreStatus.SUCCESS)
        & (TraceScore.source == ScoreSource.AUTOMATED)
        & TraceScore.value.is_(None)
    )
    stmt = (
        select(
            TraceScore.name,
            func.count().filter(TraceScore.status == ScoreStatus.SUCCESS).label("success_count"),
            func.count().filter(TraceScore.status == ScoreStatus.FAILED).label("failed_count"),
            func.count().filter(not_applicable).label("not_applicable_count"),
            func.max(TraceScore.created_at).label("latest_score_at"),
        )
        .where(*where.clauses(project_id))
        .group_by(TraceScore.name)
        .order_by(TraceScore.name)
    )
    return list((await db.execute(stmt)).all())


async def numeric_histogram(
    db: AsyncSession, project_id: uuid.UUID, where: ScoreFilter
) -> list[tuple[str, float, int]]:
    """(name, value, count) over NUMERIC SUCCESS scores, grouped by distinct value: automated
    values are rounded to 4 places, so this stays small while giving exact medians and
    histograms on both databases (SQLite has neither percentile_cont nor width_bucket)."""
    clauses = [
        *where.clauses(project_id),
        _in_statistics(),
        TraceScore.status == ScoreStatus.SUCCESS,
        TraceScore.value.is_not(None),
    ]
    stmt = (
        select(TraceScore.name, _numeric_value().label("v"), func.count().label("n"))
        .where(*clauses)
        .group_by(TraceScore.name, _numeric_value())
    )
    return [(r.name, float(r.v), int(r.n)) for r in (await db.execute(stmt)).all()]


async def trend_rows(
    db: AsyncSession,
    project_id: uuid.UUID,
    where: ScoreFilter,
    bucket: ColumnElement[Any],
) -> list[Any]:
    clauses = [
        *where.clauses(project_id),
        _in_statistics(),
        TraceScore.status == ScoreStatus.SUCCESS,
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
    return list((await db.execute(stmt)).all())


def time_bucket(db: AsyncSession, granularity: str) -> ColumnElement[Any]:
    column = TraceScore.created_at
    if dialect_of(db) == "postgresql":
        # Truncate in UTC whatever the server's TimeZone setting is.
        return func.date_trunc(granularity, func.timezone("UTC", column))
    if granularity == "hour":
        return func.strftime("%Y-%m-%d %H:00:00", column)
    if granularity == "week":  # the Monday of the week, like date_trunc('week')
        return func.strftime("%Y-%m-%d 00:00:00", column, "weekday 0", "-6 days")
    return func.strftime("%Y-%m-%d 00:00:00", column)


async def list_session_score_rows(
    db: AsyncSession,
    project_id: uuid.UUID,
    *,
    name: str | None = None,
    session_id: str | None = None,
    date_from: datetime | None = None,
    date_to: datetime | None = None,
    eval_run_id: uuid.UUID | None = None,
) -> list[SessionScore]:
    """Scores for analytics, oldest first; the maths is done in Python so that both
    databases give identical answers (medians, buckets)."""
    query = session_score_query(
        project_id,
        name=name,
        session_id=session_id,
        date_from=date_from,
        date_to=date_to,
        eval_run_id=eval_run_id,
    )
    rows = await db.scalars(query.order_by(SessionScore.created_at, SessionScore.id))
    return list(rows.all())

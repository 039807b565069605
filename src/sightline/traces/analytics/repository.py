"""All SQL of trace analytics. Sums are bucketed in SQL with each dialect's own date
function (both in UTC, weeks starting Monday); percentiles are computed by the service."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, case, func, literal_column, select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from sightline.kit.statuses import TraceStatus
from sightline.traces.filters import Granularity, Page, Window
from sightline.traces.repository import S, T

_SQLITE_BUCKETS = {
    Granularity.hour: ("%Y-%m-%d %H:00:00",),
    Granularity.day: ("%Y-%m-%d 00:00:00",),
    # back 6 days, then forward to the next Monday: the Monday on or before the day
    Granularity.week: ("%Y-%m-%d 00:00:00", "-6 days", "weekday 1"),
}


def _literal(text: str) -> ColumnElement[Any]:
    # Inlined (values come from an enum): GROUP BY must repeat the very same expression,
    # which bound parameters would make differ on PostgreSQL.
    return literal_column(f"'{text}'")


def _bucket(db: AsyncSession, column: Any, granularity: Granularity) -> ColumnElement[Any]:
    if db.get_bind().dialect.name == "postgresql":
        # In UTC whatever the connection's TimeZone; date_trunc's weeks start on Monday.
        return func.date_trunc(_literal(granularity.value), func.timezone(_literal("UTC"), column))
    fmt, *modifiers = _SQLITE_BUCKETS[granularity]
    return func.strftime(_literal(fmt), column, *(_literal(m) for m in modifiers))


def as_utc(value: datetime | str) -> datetime:
    parsed = datetime.fromisoformat(value) if isinstance(value, str) else value
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


async def trace_points(
    db: AsyncSession, project_id: uuid.UUID, window: Window
) -> list[Row[tuple[datetime, str, float | None]]]:
    stmt = select(T.started_at, T.status, T.latency_ms).where(
        T.project_id == project_id,
        T.started_at >= window.started_after,
        T.started_at < window.started_before,
    )
    return list((await db.execute(stmt)).tuples())


def _span_window(project_id: uuid.UUID, window: Window) -> list[ColumnElement[bool]]:
    return [
        S.project_id == project_id,
        S.started_at >= window.started_after,
        S.started_at < window.started_before,
    ]


async def usage_buckets(
    db: AsyncSession, project_id: uuid.UUID, window: Window
) -> list[tuple[datetime, int, int, float]]:
    """(bucket, prompt_tokens, completion_tokens, cost) over spans, by span start."""
    bucket = _bucket(db, S.started_at, window.granularity).label("bucket")
    stmt = (
        select(
            bucket,
            func.coalesce(func.sum(S.prompt_tokens), 0),
            func.coalesce(func.sum(S.completion_tokens), 0),
            func.coalesce(func.sum(S.cost_total), 0.0),
        )
        .where(*_span_window(project_id, window))
        .group_by(bucket)
        .order_by(bucket)
    )
    return [
        (as_utc(row[0]), int(row[1]), int(row[2]), float(row[3])) for row in await db.execute(stmt)
    ]


async def top_models(
    db: AsyncSession, project_id: uuid.UUID, window: Window, limit: int = 10
) -> list[Row[tuple[str, int, int, float]]]:
    calls = func.count()
    stmt = (
        select(
            S.model,
            calls,
            func.coalesce(func.sum(S.prompt_tokens + S.completion_tokens), 0),
            func.coalesce(func.sum(S.cost_total), 0.0),
        )
        .where(*_span_window(project_id, window), S.model.is_not(None))
        .group_by(S.model)
        .order_by(calls.desc(), S.model)
        .limit(limit)
    )
    return list((await db.execute(stmt)).tuples())


async def list_users(
    db: AsyncSession, project_id: uuid.UUID, page: Page
) -> tuple[list[Row[tuple[str, int, datetime, datetime, int]]], int]:
    conditions = [T.project_id == project_id, T.user_id.is_not(None)]
    last_seen = func.max(T.started_at)
    stmt = (
        select(
            T.user_id,
            func.count(),
            func.min(T.started_at),
            last_seen,
            func.sum(case((T.status == TraceStatus.ERROR, 1), else_=0)),
        )
        .where(*conditions)
        .group_by(T.user_id)
        .order_by(last_seen.desc(), T.user_id)
        .limit(page.limit)
        .offset(page.offset)
    )
    rows = list((await db.execute(stmt)).tuples())
    total = await db.execute(select(func.count(func.distinct(T.user_id))).where(*conditions))
    return rows, int(total.scalar_one())

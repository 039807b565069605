"""All SQL of sessions. A session has no table: it is the GROUP BY session_id of the
project's traces, aggregated from the traces' denormalised span columns."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, Table, case, delete, func, select
from sqlalchemy.engine import Row, RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from sightline.db.models import SessionScore
from sightline.kit.statuses import TraceStatus
from sightline.traces.filters import Page, SessionFilters, SessionSortBy, SortOrder
from sightline.traces.repository import T, tag_filter, trace_table

_score_table = cast(Table, SessionScore.__table__)

_has_error = func.max(case((T.status == TraceStatus.ERROR, 1), else_=0))
_trace_count = func.count()
_latency = func.sum(T.latency_ms)
_cost = func.coalesce(func.sum(T.total_cost), 0.0)
_recent = func.max(T.created_at)

SUMMARY_COLUMNS = [
    T.session_id,
    _trace_count.label("trace_count"),
    func.min(T.started_at).label("first_trace_at"),
    func.max(T.ended_at).label("last_trace_at"),
    _latency.label("total_latency_ms"),
    _has_error.label("has_error"),
    func.coalesce(func.sum(T.span_count), 0).label("total_span_count"),
    func.coalesce(func.sum(T.prompt_tokens + T.completion_tokens), 0).label("total_tokens"),
    _cost.label("total_cost"),
]

_SORTS: dict[SessionSortBy, ColumnElement[Any]] = {
    SessionSortBy.recent: _recent,
    SessionSortBy.trace_count: _trace_count,
    SessionSortBy.latency: _latency,
    SessionSortBy.cost: _cost,
}


def session_conditions(project_id: uuid.UUID, filters: SessionFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [
        T.project_id == project_id,
        T.session_id.is_not(None),
    ]
    if filters.user_id is not None:
        conditions.append(T.user_id == filters.user_id)
    if filters.started_after is not None:
        conditions.append(T.started_at >= filters.started_after)
    if filters.started_before is not None:
        conditions.append(T.started_at < filters.started_before)
    if filters.tags:
        conditions.append(tag_filter(project_id, filters.tags))
    if filters.query:
        conditions.append(T.session_id.icontains(filters.query, autoescape=True))
    return conditions


def _grouped(conditions: Sequence[ColumnElement[bool]], has_error: bool | None) -> Select[Any]:
    stmt = select(*SUMMARY_COLUMNS).where(*conditions).group_by(T.session_id)
    if has_error is not None:
        stmt = stmt.having(_has_error == (1 if has_error else 0))
    return stmt


async def list_sessions(
    db: AsyncSession,
    conditions: Sequence[ColumnElement[bool]],
    has_error: bool | None,
    sort_by: SessionSortBy,
    order: SortOrder,
    page: Page,
) -> tuple[list[RowMapping], int]:
    grouped = _grouped(conditions, has_error)
    column = _SORTS[sort_by]
    # PostgreSQL's default NULL placement, made explicit so SQLite agrees
    asc = order is SortOrder.asc
    ordering = column.asc().nulls_last() if asc else column.desc().nulls_first()
    stmt = grouped.order_by(ordering, T.session_id).limit(page.limit).offset(page.offset)
    rows = list((await db.execute(stmt)).mappings())
    total = await db.execute(select(func.count()).select_from(grouped.subquery()))
    return rows, int(total.scalar_one())


async def get_summary(
    db: AsyncSession, project_id: uuid.UUID, session_id: str
) -> RowMapping | None:
    conditions = [T.project_id == project_id, T.session_id == session_id]
    return (await db.execute(_grouped(conditions, None))).mappings().one_or_none()


async def list_members(
    db: AsyncSession, conditions: Sequence[ColumnElement[bool]], session_ids: Sequence[str]
) -> list[Row[tuple[str, str | None, list[str]]]]:
    """(session_id, user_id, tags) of the matching traces, oldest first, for the
    per-session user_id (earliest trace that has one) and tag union."""
    stmt = (
        select(T.session_id, T.user_id, T.tags)
        .where(*conditions, T.session_id.in_(session_ids))
        .order_by(T.session_id, T.started_at, T.trace_id)
    )
    return list((await db.execute(stmt)).tuples())


async def list_session_traces(
    db: AsyncSession, project_id: uuid.UUID, session_id: str, page: Page
) -> list[RowMapping]:
    stmt = (
        select(trace_table)
        .where(T.project_id == project_id, T.session_id == session_id)
        .order_by(T.started_at, T.trace_id)
        .limit(page.limit)
        .offset(page.offset)
    )
    return list((await db.execute(stmt)).mappings())


async def delete_session(db: AsyncSession, project_id: uuid.UUID, session_id: str) -> int:
    """Deletes the traces (cascading to spans, tags, trace scores) and the session's scores,
    which PandaProbe leaves behind as orphans."""
    result = await db.execute(
        delete(trace_table).where(T.project_id == project_id, T.session_id == session_id)
    )
    await db.execute(
        delete(_score_table).where(
            _score_table.c.project_id == project_id, _score_table.c.session_id == session_id
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def sessions_in_window(
    db: AsyncSession, project_id: uuid.UUID, after: datetime, before: datetime
) -> list[Row[tuple[datetime, int, float | None]]]:
    """(first trace time, trace count, summed latency) per session, from the window's traces."""
    stmt = (
        select(func.min(T.started_at), func.count(), func.sum(T.latency_ms))
        .where(
            T.project_id == project_id,
            T.session_id.is_not(None),
            T.started_at >= after,
            T.started_at < before,
        )
        .group_by(T.session_id)
    )
    return list((await db.execute(stmt)).tuples())

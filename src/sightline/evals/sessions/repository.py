"""All SQL of session runs and session scores."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sightline.db.models import Span, Trace, TraceTag
from sightline.kit.statuses import TraceStatus
from sightline.traces.repository import as_datetime


# -- sessions (derived from traces) ------------------------------------------------------
def _trace_conditions(project_id: uuid.UUID, filters: dict[str, Any]) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [
        Trace.project_id == project_id,
        Trace.session_id.is_not(None),
    ]
    if filters.get("date_from") is not None:
        conditions.append(Trace.started_at >= as_datetime(filters["date_from"]))
    if filters.get("date_to") is not None:
        conditions.append(Trace.started_at < as_datetime(filters["date_to"]))
    if filters.get("user_id") is not None:
        conditions.append(Trace.user_id == filters["user_id"])
    if filters.get("tags"):
        tagged = select(TraceTag.trace_id).where(
            TraceTag.project_id == project_id, TraceTag.tag.in_(filters["tags"])
        )
        conditions.append(Trace.trace_id.in_(tagged))
    return conditions


def _matching_sessions(project_id: uuid.UUID, filters: dict[str, Any]) -> Select[Any]:
    """Session IDs with at least one matching trace; has_error and min_trace_count are
    judged over the matching traces (API.md §3.7)."""
    errors = func.sum(case((Trace.status == TraceStatus.ERROR, 1), else_=0))
    query = (
        select(Trace.session_id)
        .where(*_trace_conditions(project_id, filters))
        .group_by(Trace.session_id)
    )
    if filters.get("min_trace_count") is not None:
        query = query.having(func.count() >= filters["min_trace_count"])
    if filters.get("has_error") is True:
        query = query.having(errors > 0)
    elif filters.get("has_error") is False:
        query = query.having(errors == 0)
    return query


async def list_session_ids(
    db: AsyncSession, project_id: uuid.UUID, filters: dict[str, Any]
) -> list[str]:
    query = _matching_sessions(project_id, filters).order_by(Trace.session_id)
    return [row for row in (await db.scalars(query)).all() if row is not None]


async def list_existing_session_ids(
    db: AsyncSession, project_id: uuid.UUID, session_ids: Sequence[str]
) -> set[str]:
    query = (
        select(Trace.session_id)
        .where(Trace.project_id == project_id, Trace.session_id.in_(list(session_ids)))
        .distinct()
    )
    return {row for row in (await db.scalars(query)).all() if row is not None}


async def list_changed_session_ids(
    db: AsyncSession, project_id: uuid.UUID, filters: dict[str, Any], since: datetime
) -> list[str]:
    """Sessions in scope that received a trace (ingested) after ``since``."""
    scoped = _matching_sessions(project_id, filters).subquery()
    query = (
        select(Trace.session_id)
        .where(
            Trace.project_id == project_id,
            Trace.ingested_at > since,
            Trace.session_id.in_(select(scoped.c.session_id)),
        )
        .distinct()
    )
    return [row for row in (await db.scalars(query)).all() if row is not None]


async def list_session_traces(
    db: AsyncSession, project_id: uuid.UUID, session_id: str
) -> tuple[list[Trace], dict[uuid.UUID, list[Span]]]:
    """A session's traces in order (started_at, then id) and their spans."""
    traces = list(
        (
            await db.scalars(
                select(Trace)
                .where(Trace.project_id == project_id, Trace.session_id == session_id)
                .order_by(Trace.started_at, Trace.trace_id)
            )
        ).all()
    )
    spans: dict[uuid.UUID, list[Span]] = {t.trace_id: [] for t in traces}
    if traces:
        rows = await db.scalars(
            select(Span)
            .where(Span.trace_id.in_(list(spans)))
            .order_by(Span.started_at, Span.span_id)
        )
        for span in rows.all():
            spans[span.trace_id].append(span)
    return traces, spans


async def last_ingested_by_session(
    db: AsyncSession, project_id: uuid.UUID, session_ids: Sequence[str]
) -> dict[str, datetime]:
    query = (
        select(Trace.session_id, func.max(Trace.ingested_at))
        .where(Trace.project_id == project_id, Trace.session_id.in_(list(session_ids)))
        .group_by(Trace.session_id)
    )
    return {sid: at for sid, at in (await db.execute(query)).all() if sid is not None}


# -- scores --------------------------------------------------------------------------------

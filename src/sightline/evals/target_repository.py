"""The trace queries evaluation needs: which traces a filter selects, which IDs exist in a
project, and loading traces with their spans for the judge. Filter semantics are GET /traces'."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from sightline.db.models import Span, Trace, TraceTag

_CHUNK = 500


def _chunks(items: Sequence[uuid.UUID]) -> Iterable[Sequence[uuid.UUID]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _as_datetime(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def filter_clauses(project_id: uuid.UUID, filters: dict[str, Any]) -> list[ColumnElement[bool]]:
    """Clauses for stored run/monitor filters (already validated; dates as ISO strings)."""
    where: list[ColumnElement[bool]] = [Trace.project_id == project_id]
    if filters.get("date_from") is not None:
        where.append(Trace.started_at >= _as_datetime(filters["date_from"]))
    if filters.get("date_to") is not None:
        where.append(Trace.started_at < _as_datetime(filters["date_to"]))
    for key, column in (
        ("status", Trace.status),
        ("session_id", Trace.session_id),
        ("user_id", Trace.user_id),
    ):
        if filters.get(key) is not None:
            where.append(column == filters[key])
    if filters.get("name"):
        where.append(Trace.name.ilike(f"%{_escape_like(filters['name'])}%", escape="\\"))
    if filters.get("tags"):
        tagged = select(TraceTag.trace_id).where(
            TraceTag.project_id == project_id, TraceTag.tag.in_(list(filters["tags"]))
        )
        where.append(Trace.trace_id.in_(tagged))
    return where


async def match_trace_ids(
    session: AsyncSession, project_id: uuid.UUID, filters: dict[str, Any]
) -> list[uuid.UUID]:
    stmt = (
        select(Trace.trace_id)
        .where(*filter_clauses(project_id, filters))
        .order_by(Trace.started_at, Trace.trace_id)
    )
    return list((await session.execute(stmt)).scalars())


async def existing_trace_ids(
    session: AsyncSession, project_id: uuid.UUID, trace_ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    found: set[uuid.UUID] = set()
    for chunk in _chunks(trace_ids):
        stmt = select(Trace.trace_id).where(
            Trace.project_id == project_id, Trace.trace_id.in_(list(chunk))
        )
        found.update((await session.execute(stmt)).scalars())
    return found


async def load_traces(
    session: AsyncSession, project_id: uuid.UUID, trace_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, tuple[Trace, list[Span]]]:
    """Traces of the project with their spans (two queries per chunk, never one per trace)."""
    loaded: dict[uuid.UUID, tuple[Trace, list[Span]]] = {}
    for chunk in _chunks(trace_ids):
        traces = await session.execute(
            select(Trace).where(Trace.project_id == project_id, Trace.trace_id.in_(list(chunk)))
        )
        for trace in traces.scalars():
            loaded[trace.trace_id] = (trace, [])
        if not loaded:
            continue
        spans = await session.execute(
            select(Span)
            .where(Span.trace_id.in_([t for t in chunk if t in loaded]))
            .order_by(Span.started_at, Span.span_id)
        )
        for span in spans.scalars():
            loaded[span.trace_id][1].append(span)
    return loaded

"""All SQL of traces and spans outside ingestion (ingest/repository.py): reads, the list
query, deletes, and the trace queries evaluation needs. Rows travel as dicts keyed by column
name (Core, not ORM entities), so no identity map goes stale.

The list never touches spans: it reads the trace row's denormalised aggregates, and every
filter and sort has an index on (project_id, ...). The tag filter needs care on SQLite: the
trace table's secondary indexes do not carry trace_id (it is not the rowid), so testing tag
membership costs a row lookup per trace. When tags are the only filter, the count is read
from trace_tag alone, and a page of a rare tag is driven from the tag index (a join)
instead of scanning the sort index for matches that may never come.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Delete,
    FromClause,
    Select,
    Table,
    delete,
    func,
    literal_column,
    select,
    type_coerce,
)
from sqlalchemy.engine import Row, RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from sightline.db.models import Span, Trace, TraceTag
from sightline.db.types import UuidText
from sightline.traces.filters import Page, SortOrder, TraceFilters, TraceSortBy

trace_table = cast(Table, Trace.__table__)
span_table = cast(Table, Span.__table__)
tag_table = cast(Table, TraceTag.__table__)
T, S, TT = trace_table.c, span_table.c, tag_table.c

# IN lists are chunked to stay below both drivers' bind-parameter limits.
_IN_CHUNK = 5000


def chunks(ids: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(ids), _IN_CHUNK):
        yield ids[start : start + _IN_CHUNK]


# ---------------------------------------------------------------- ingestion


async def remove_tags(
    db: AsyncSession, trace_ids: Sequence[uuid.UUID], tags: Sequence[str]
) -> None:
    if trace_ids and tags:
        await db.execute(delete(tag_table).where(TT.trace_id.in_(trace_ids), TT.tag.in_(tags)))


# ---------------------------------------------------------------- reads


async def get_trace(
    db: AsyncSession, project_id: uuid.UUID, trace_id: uuid.UUID
) -> RowMapping | None:
    stmt = select(trace_table).where(T.trace_id == trace_id, T.project_id == project_id)
    return (await db.execute(stmt)).mappings().one_or_none()


async def list_traces_by_id(
    db: AsyncSession, project_id: uuid.UUID, trace_ids: Sequence[uuid.UUID]
) -> list[RowMapping]:
    stmt = select(trace_table).where(T.project_id == project_id, T.trace_id.in_(trace_ids))
    return list((await db.execute(stmt)).mappings())


async def list_spans(
    db: AsyncSession, trace_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[RowMapping]]:
    """Spans of these traces in one query, each list ordered by (started_at, span_id)."""
    by_trace: dict[uuid.UUID, list[RowMapping]] = {t: [] for t in trace_ids}
    for chunk in chunks(list(trace_ids)):
        stmt = (
            select(span_table)
            .where(S.trace_id.in_(chunk))
            .order_by(S.trace_id, S.started_at, S.span_id)
        )
        for row in (await db.execute(stmt)).mappings():
            by_trace[row["trace_id"]].append(row)
    return by_trace


async def get_span(db: AsyncSession, trace_id: uuid.UUID, span_id: uuid.UUID) -> RowMapping | None:
    stmt = select(span_table).where(S.span_id == span_id, S.trace_id == trace_id)
    return (await db.execute(stmt)).mappings().one_or_none()


# ---------------------------------------------------------------- deletes


async def delete_traces(
    db: AsyncSession, project_id: uuid.UUID, trace_ids: Sequence[uuid.UUID]
) -> int:
    """Spans, tags and trace scores go with them (ON DELETE CASCADE)."""
    stmt: Delete = delete(trace_table).where(T.project_id == project_id, T.trace_id.in_(trace_ids))
    result = await db.execute(stmt)
    return int(getattr(result, "rowcount", 0) or 0)


# ---------------------------------------------------------------- the list

# Below this many matches a tag-only page is read through the tag index and sorted.
_RARE_TAG_MATCHES = 2000

LIST_COLUMNS = [
    T.trace_id,
    T.name,
    T.status,
    T.started_at,
    T.ended_at,
    T.session_id,
    T.user_id,
    T.tags,
    T.environment,
    T.release,
    T.latency_ms,
    T.span_count,
    T.prompt_tokens,
    T.completion_tokens,
    T.total_cost,
]

_SORT_COLUMNS = {
    TraceSortBy.started_at: T.started_at,
    TraceSortBy.ended_at: T.ended_at,
    TraceSortBy.name: T.name,
    TraceSortBy.latency: T.latency_ms,
    TraceSortBy.status: T.status,
}
_NULLABLE_SORTS = {TraceSortBy.ended_at, TraceSortBy.latency}


def _tagged(project_id: uuid.UUID, tags: list[str]) -> Select[Any]:
    return select(TT.trace_id).where(TT.project_id == project_id, TT.tag.in_(tags))


def tag_filter(project_id: uuid.UUID, tags: list[str]) -> ColumnElement[bool]:
    """ANY of the tags, as an IN subquery built once from the (project_id, tag) index."""
    return T.trace_id.in_(_tagged(project_id, tags))


def trace_conditions(project_id: uuid.UUID, filters: TraceFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [T.project_id == project_id]
    if filters.session_id is not None:
        conditions.append(T.session_id == filters.session_id)
    if filters.status is not None:
        conditions.append(T.status == filters.status.value)
    if filters.user_id is not None:
        conditions.append(T.user_id == filters.user_id)
    if filters.tags:
        conditions.append(tag_filter(project_id, filters.tags))
    if filters.name:
        conditions.append(T.name.icontains(filters.name, autoescape=True))
    if filters.started_after is not None:
        conditions.append(T.started_at >= filters.started_after)
    if filters.started_before is not None:
        conditions.append(T.started_at < filters.started_before)
    return conditions


def _only_tags(filters: TraceFilters) -> bool:
    return bool(filters.tags) and replace(filters, tags=[]) == TraceFilters()


async def _count(
    db: AsyncSession, project_id: uuid.UUID, filters: TraceFilters, limit: int | None = None
) -> int:
    """The matching traces, or (with ``limit``) at most ``limit``: the scan stops there."""
    stmt: Select[Any]
    if limit is not None:
        matches: Select[Any] = (
            _tagged(project_id, filters.tags).distinct()
            if _only_tags(filters)
            else select(literal_column("1"))
            .select_from(trace_table)
            .where(*trace_conditions(project_id, filters))
        )
        stmt = select(func.count()).select_from(matches.limit(limit).subquery())
    elif _only_tags(filters):
        tagged = _tagged(project_id, filters.tags).subquery()
        stmt = select(func.count(func.distinct(tagged.c.trace_id)))
    else:
        stmt = select(func.count()).where(*trace_conditions(project_id, filters))
    return int((await db.execute(stmt)).scalar_one())


async def list_traces(
    db: AsyncSession,
    project_id: uuid.UUID,
    filters: TraceFilters,
    sort_by: TraceSortBy,
    order: SortOrder,
    page: Page,
    count_limit: int | None = None,
) -> tuple[list[RowMapping], int]:
    """A page and the total; with ``count_limit`` the total is counted up to
    ``count_limit + 1`` only (more than ``count_limit`` matching: the dashboard's "1,000+"),
    which keeps a broad filter over a large project fast."""
    total = await _count(db, project_id, filters, None if count_limit is None else count_limit + 1)
    capped = count_limit is not None and total > count_limit
    column = _SORT_COLUMNS[sort_by]
    ordering = column.asc() if order is SortOrder.asc else column.desc()
    if sort_by in _NULLABLE_SORTS:  # PostgreSQL's default on both databases
        ordering = ordering.nulls_last() if order is SortOrder.asc else ordering.nulls_first()
    source: FromClause = trace_table
    conditions = trace_conditions(project_id, filters)
    if _only_tags(filters) and not capped and total <= _RARE_TAG_MATCHES:
        tagged = _tagged(project_id, filters.tags).distinct().subquery()
        source = trace_table.join(tagged, tagged.c.trace_id == T.trace_id)
        conditions = [T.project_id == project_id]
    stmt = (
        select(*LIST_COLUMNS)
        .select_from(source)
        .where(*conditions)
        .order_by(ordering)
        .limit(page.limit)
        .offset(page.offset)
    )
    return list((await db.execute(stmt)).mappings()), total


# ---------------------------------------------------------------- what evaluation reads


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def as_datetime(value: Any) -> datetime:
    """Stored filters hold ISO strings; validated request filters hold datetimes."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def filter_clauses(project_id: uuid.UUID, filters: dict[str, Any]) -> list[ColumnElement[bool]]:
    """Clauses for stored run/monitor filters (already validated; dates as ISO strings)."""
    where: list[ColumnElement[bool]] = [Trace.project_id == project_id]
    if filters.get("date_from") is not None:
        where.append(Trace.started_at >= as_datetime(filters["date_from"]))
    if filters.get("date_to") is not None:
        where.append(Trace.started_at < as_datetime(filters["date_to"]))
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
    db: AsyncSession, project_id: uuid.UUID, filters: dict[str, Any]
) -> list[uuid.UUID]:
    stmt = (
        select(Trace.trace_id)
        .where(*filter_clauses(project_id, filters))
        .order_by(Trace.started_at, Trace.trace_id)
    )
    return list((await db.execute(stmt)).scalars())


async def existing_trace_ids(
    db: AsyncSession, project_id: uuid.UUID, trace_ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    found: set[uuid.UUID] = set()
    for chunk in chunks(list(trace_ids)):
        stmt = select(Trace.trace_id).where(
            Trace.project_id == project_id, Trace.trace_id.in_(list(chunk))
        )
        found.update((await db.execute(stmt)).scalars())
    return found


_VIEW_TRACE_COLUMNS = (
    T.trace_id, T.name, T.status, T.started_at, T.ended_at, T.input, T.output, T.metadata,
    T.session_id, T.user_id, T.tags, T.environment, T.latency_ms, T.total_cost,
    T.prompt_tokens, T.completion_tokens,
)  # fmt: skip
_VIEW_SPAN_COLUMNS = (
    type_coerce(S.span_id, UuidText).label("span_id"),
    type_coerce(S.trace_id, UuidText).label("trace_id"),
    type_coerce(S.parent_span_id, UuidText).label("parent_span_id"), S.name, S.kind, S.status,
    S.started_at,
    S.ended_at, S.input, S.output, S.model, S.token_usage, S.metadata, S.error,
)  # fmt: skip
# The order of the columns in load_trace_rows' rows (engine/trace/rows.py unpacks by it).
VIEW_TRACE_FIELDS = tuple(c.name for c in _VIEW_TRACE_COLUMNS)
VIEW_SPAN_FIELDS = tuple(c.name for c in _VIEW_SPAN_COLUMNS)


async def load_trace_rows(
    db: AsyncSession, project_id: uuid.UUID, trace_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, tuple[Row[Any], list[Row[Any]]]]:
    """``load_traces`` as plain rows of the columns an evaluation reads (no ORM objects):
    what a judge-free evaluation run loads by the hundred, where building ORM objects and
    decoding unread JSON columns was most of its work."""
    loaded: dict[uuid.UUID, tuple[Row[Any], list[Row[Any]]]] = {}
    for chunk in chunks(list(trace_ids)):
        traces = await db.execute(
            select(*_VIEW_TRACE_COLUMNS).where(
                T.project_id == project_id, T.trace_id.in_(list(chunk))
            )
        )
        by_text: dict[str, uuid.UUID] = {}
        for trace in traces:
            loaded[trace.trace_id] = (trace, [])
            by_text[str(trace.trace_id)] = trace.trace_id
        wanted = [t for t in chunk if t in loaded]
        if not wanted:
            continue
        spans = await db.execute(
            select(*_VIEW_SPAN_COLUMNS)
            .where(S.trace_id.in_(wanted))
            .order_by(S.started_at, S.span_id)
        )
        for span in spans:  # trace_id as text, as span_id (no uuid.UUID per span)
            loaded[by_text[span.trace_id]][1].append(span)
    return loaded


async def load_traces(
    db: AsyncSession, project_id: uuid.UUID, trace_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, tuple[Trace, list[Span]]]:
    """Traces of the project with their spans (two queries per chunk, never one per trace)."""
    loaded: dict[uuid.UUID, tuple[Trace, list[Span]]] = {}
    for chunk in chunks(list(trace_ids)):
        traces = await db.execute(
            select(Trace).where(Trace.project_id == project_id, Trace.trace_id.in_(list(chunk)))
        )
        for trace in traces.scalars():
            loaded[trace.trace_id] = (trace, [])
        if not loaded:
            continue
        spans = await db.execute(
            select(Span)
            .where(Span.trace_id.in_([t for t in chunk if t in loaded]))
            .order_by(Span.started_at, Span.span_id)
        )
        for span in spans.scalars():
            loaded[span.trace_id][1].append(span)
    return loaded

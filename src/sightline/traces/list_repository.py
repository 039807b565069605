"""SQL of GET /traces. The list never touches spans: it reads the trace row's denormalised
aggregates, and every filter and sort has an index on (project_id, ...).

The tag filter needs care on SQLite: the trace table's secondary indexes do not carry
trace_id (it is not the rowid), so testing tag membership costs a row lookup per trace.
When tags are the only filter, the count is read from trace_tag alone, and a page of a
rare tag is driven from the tag index (a join) instead of scanning the sort index for
matches that may never come.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from sqlalchemy import ColumnElement, FromClause, Select, func, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from sightline.traces.filters import Page, SortOrder, TraceFilters, TraceSortBy
from sightline.traces.repository import TT, T, trace_table

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


async def _count(session: AsyncSession, project_id: uuid.UUID, filters: TraceFilters) -> int:
    if _only_tags(filters):
        tagged = _tagged(project_id, filters.tags).subquery()
        stmt = select(func.count(func.distinct(tagged.c.trace_id)))
    else:
        stmt = select(func.count()).where(*trace_conditions(project_id, filters))
    return int((await session.execute(stmt)).scalar_one())


async def list_traces(
    session: AsyncSession,
    project_id: uuid.UUID,
    filters: TraceFilters,
    sort_by: TraceSortBy,
    order: SortOrder,
    page: Page,
) -> tuple[list[RowMapping], int]:
    total = await _count(session, project_id, filters)
    column = _SORT_COLUMNS[sort_by]
    ordering = column.asc() if order is SortOrder.asc else column.desc()
    if sort_by in _NULLABLE_SORTS:  # PostgreSQL's default on both databases
        ordering = ordering.nulls_last() if order is SortOrder.asc else ordering.nulls_first()
    source: FromClause = trace_table
    conditions = trace_conditions(project_id, filters)
    if _only_tags(filters) and total <= _RARE_TAG_MATCHES:
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
    return list((await session.execute(stmt)).mappings()), total

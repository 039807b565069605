"""All SQL of traces and spans but the list query (list_repository.py). Rows travel as dicts
keyed by column name (Core, not ORM entities): ingestion is bulk `INSERT ... ON CONFLICT`
and no identity map goes stale."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

from sqlalchemy import (
    Delete,
    Insert,
    Table,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from sightline.db.models import Span, Trace, TraceTag

trace_table = cast(Table, Trace.__table__)
span_table = cast(Table, Span.__table__)
tag_table = cast(Table, TraceTag.__table__)
T, S, TT = trace_table.c, span_table.c, tag_table.c

# IN lists are chunked to stay below both drivers' bind-parameter limits.
_IN_CHUNK = 5000


def _chunks(ids: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(ids), _IN_CHUNK):
        yield ids[start : start + _IN_CHUNK]


def insert_ignoring(session: AsyncSession, table: Table) -> Insert:
    """INSERT that skips rows whose key exists. On SQLite it is `INSERT OR IGNORE`, which
    SQLAlchemy can cache (its `on_conflict_do_nothing` construct is compiled on every call);
    every column we insert is filled, so only key conflicts can make it skip a row."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return insert(table).prefix_with("OR IGNORE", dialect="sqlite")


# ---------------------------------------------------------------- ingestion


async def lock_traces(
    session: AsyncSession, trace_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, RowMapping]:
    """Existing rows for these IDs in any project, locked until commit on PostgreSQL
    (SQLite has a single writer, so the lock is implicit there)."""
    found: dict[uuid.UUID, RowMapping] = {}
    for chunk in _chunks(sorted(trace_ids)):  # no IDs, no query
        stmt = (
            select(trace_table).where(T.trace_id.in_(chunk)).order_by(T.trace_id).with_for_update()
        )
        found.update((row["trace_id"], row) for row in (await session.execute(stmt)).mappings())
    return found


async def lock_spans(
    session: AsyncSession, span_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, RowMapping]:
    found: dict[uuid.UUID, RowMapping] = {}
    for chunk in _chunks(sorted(span_ids)):
        stmt = select(span_table).where(S.span_id.in_(chunk)).order_by(S.span_id).with_for_update()
        found.update((row["span_id"], row) for row in (await session.execute(stmt)).mappings())
    return found


async def owners_of_spans(
    session: AsyncSession, span_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, uuid.UUID]:
    """span_id -> trace_id for the spans that exist (any project)."""
    owners: dict[uuid.UUID, uuid.UUID] = {}
    for chunk in _chunks(list(span_ids)):
        stmt = select(S.span_id, S.trace_id).where(S.span_id.in_(chunk))
        owners.update((r.span_id, r.trace_id) for r in await session.execute(stmt))
    return owners


async def owners_and_tags(
    session: AsyncSession, trace_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, tuple[uuid.UUID, list[str]]]:
    """trace_id -> (project_id, tags) for the traces that exist (any project)."""
    found: dict[uuid.UUID, tuple[uuid.UUID, list[str]]] = {}
    for chunk in _chunks(list(trace_ids)):
        stmt = select(T.trace_id, T.project_id, T.tags).where(T.trace_id.in_(chunk))
        found.update(
            (r.trace_id, (r.project_id, r.tags or [])) for r in await session.execute(stmt)
        )
    return found


async def _insert_if_absent(
    session: AsyncSession, table: Table, key: str, rows: Sequence[Mapping[str, Any]]
) -> set[uuid.UUID]:
    if not rows:
        return set()
    stmt = insert_ignoring(session, table).returning(table.c[key])
    result = await session.execute(stmt, list(rows))
    return set(result.scalars().all())


async def insert_traces_if_absent(
    session: AsyncSession, rows: Sequence[Mapping[str, Any]]
) -> set[uuid.UUID]:
    """Returns the IDs actually inserted; the others already existed."""
    return await _insert_if_absent(session, trace_table, "trace_id", rows)


async def insert_spans_if_absent(
    session: AsyncSession, rows: Sequence[Mapping[str, Any]]
) -> set[uuid.UUID]:
    return await _insert_if_absent(session, span_table, "span_id", rows)


async def _update_by_key(
    session: AsyncSession, table: Table, key: str, rows: Sequence[Mapping[str, Any]]
) -> None:
    if not rows:
        return
    stmt = update(table).where(table.c[key] == bindparam("_key"))
    params = [{**{k: v for k, v in row.items() if k != key}, "_key": row[key]} for row in rows]
    await session.execute(stmt, params)


async def update_traces(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    await _update_by_key(session, trace_table, "trace_id", rows)


async def update_spans(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    await _update_by_key(session, span_table, "span_id", rows)


async def span_totals(
    session: AsyncSession, trace_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, tuple[int, int, int, float]]:
    """trace_id -> (span_count, prompt_tokens, completion_tokens, cost) from the span rows."""
    totals: dict[uuid.UUID, tuple[int, int, int, float]] = {}
    for chunk in _chunks(list(trace_ids)):
        stmt = (
            select(
                S.trace_id,
                func.count(),
                func.coalesce(func.sum(S.prompt_tokens), 0),
                func.coalesce(func.sum(S.completion_tokens), 0),
                func.coalesce(func.sum(S.cost_total), 0.0),
            )
            .where(S.trace_id.in_(chunk))
            .group_by(S.trace_id)
        )
        for row in await session.execute(stmt):
            totals[row[0]] = (int(row[1]), int(row[2]), int(row[3]), float(row[4]))
    return totals


async def add_tags(
    session: AsyncSession, project_id: uuid.UUID, tags: Iterable[tuple[uuid.UUID, str]]
) -> None:
    rows = [{"trace_id": t, "tag": tag, "project_id": project_id} for t, tag in tags]
    if rows:
        await session.execute(insert_ignoring(session, tag_table), rows)


async def remove_tags(
    session: AsyncSession, trace_ids: Sequence[uuid.UUID], tags: Sequence[str]
) -> None:
    if trace_ids and tags:
        await session.execute(delete(tag_table).where(TT.trace_id.in_(trace_ids), TT.tag.in_(tags)))


# ---------------------------------------------------------------- reads


async def get_trace(
    session: AsyncSession, project_id: uuid.UUID, trace_id: uuid.UUID
) -> RowMapping | None:
    stmt = select(trace_table).where(T.trace_id == trace_id, T.project_id == project_id)
    return (await session.execute(stmt)).mappings().one_or_none()


async def list_traces_by_id(
    session: AsyncSession, project_id: uuid.UUID, trace_ids: Sequence[uuid.UUID]
) -> list[RowMapping]:
    stmt = select(trace_table).where(T.project_id == project_id, T.trace_id.in_(trace_ids))
    return list((await session.execute(stmt)).mappings())


async def list_spans(
    session: AsyncSession, trace_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[RowMapping]]:
    """Spans of these traces in one query, each list ordered by (started_at, span_id)."""
    by_trace: dict[uuid.UUID, list[RowMapping]] = {t: [] for t in trace_ids}
    for chunk in _chunks(list(trace_ids)):
        stmt = (
            select(span_table)
            .where(S.trace_id.in_(chunk))
            .order_by(S.trace_id, S.started_at, S.span_id)
        )
        for row in (await session.execute(stmt)).mappings():
            by_trace[row["trace_id"]].append(row)
    return by_trace


async def get_span(
    session: AsyncSession, trace_id: uuid.UUID, span_id: uuid.UUID
) -> RowMapping | None:
    stmt = select(span_table).where(S.span_id == span_id, S.trace_id == trace_id)
    return (await session.execute(stmt)).mappings().one_or_none()


# ---------------------------------------------------------------- deletes


async def delete_traces(
    session: AsyncSession, project_id: uuid.UUID, trace_ids: Sequence[uuid.UUID]
) -> int:
    """Spans, tags and trace scores go with them (ON DELETE CASCADE)."""
    stmt: Delete = delete(trace_table).where(T.project_id == project_id, T.trace_id.in_(trace_ids))
    result = await session.execute(stmt)
    return int(getattr(result, "rowcount", 0) or 0)

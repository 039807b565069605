"""All SQL of traces and spans but the list query (list_repository.py). Rows travel as dicts
keyed by column name (Core, not ORM entities): ingestion is bulk `INSERT ... ON CONFLICT`
and no identity map goes stale.

The write functions of ingestion are synchronous and take a Core `Connection`: on SQLite the
trace writer runs a whole transaction in one worker thread (see group_writer.py), elsewhere
they run through `run_sync` on the request's connection."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Concatenate, ParamSpec, TypeVar, cast

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
from sqlalchemy.engine import Connection, RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from sightline.db.models import Span, Trace, TraceTag
from sightline.traces import sqlite_bulk

trace_table = cast(Table, Trace.__table__)
span_table = cast(Table, Span.__table__)
tag_table = cast(Table, TraceTag.__table__)
T, S, TT = trace_table.c, span_table.c, tag_table.c

# IN lists are chunked to stay below both drivers' bind-parameter limits.
_IN_CHUNK = 5000


P = ParamSpec("P")
R = TypeVar("R")


async def run_sync(
    session: AsyncSession,
    fn: Callable[Concatenate[Connection, P], R],
    *args: P.args,
    **kwargs: P.kwargs,
) -> R:
    """Runs a synchronous write function on the session's connection and transaction."""
    connection = await session.connection()
    return await connection.run_sync(fn, *args, **kwargs)


def _chunks(ids: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(ids), _IN_CHUNK):
        yield ids[start : start + _IN_CHUNK]


def insert_ignoring(conn: Connection, table: Table) -> Insert:
    """INSERT that skips rows whose key exists. On SQLite it is `INSERT OR IGNORE`, which
    SQLAlchemy can cache (its `on_conflict_do_nothing` construct is compiled on every call);
    every column we insert is filled, so only key conflicts can make it skip a row."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return insert(table).prefix_with("OR IGNORE", dialect="sqlite")


# ---------------------------------------------------------------- ingestion


def lock_traces(conn: Connection, trace_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, RowMapping]:
    """Existing rows for these IDs in any project, locked until commit on PostgreSQL
    (SQLite has a single writer, so the lock is implicit there)."""
    found: dict[uuid.UUID, RowMapping] = {}
    for chunk in _chunks(sorted(trace_ids)):  # no IDs, no query
        stmt = (
            select(trace_table).where(T.trace_id.in_(chunk)).order_by(T.trace_id).with_for_update()
        )
        found.update((row["trace_id"], row) for row in (conn.execute(stmt)).mappings())
    return found


def lock_spans(conn: Connection, span_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, RowMapping]:
    found: dict[uuid.UUID, RowMapping] = {}
    for chunk in _chunks(sorted(span_ids)):
        stmt = select(span_table).where(S.span_id.in_(chunk)).order_by(S.span_id).with_for_update()
        found.update((row["span_id"], row) for row in (conn.execute(stmt)).mappings())
    return found


def owners_of_spans(conn: Connection, span_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    """span_id -> trace_id for the spans that exist (any project)."""
    owners: dict[uuid.UUID, uuid.UUID] = {}
    for chunk in _chunks(list(span_ids)):
        stmt = select(S.span_id, S.trace_id).where(S.span_id.in_(chunk))
        owners.update((r.span_id, r.trace_id) for r in conn.execute(stmt))
    return owners


def owners_and_tags(
    conn: Connection, trace_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, tuple[uuid.UUID, list[str]]]:
    """trace_id -> (project_id, tags) for the traces that exist (any project)."""
    found: dict[uuid.UUID, tuple[uuid.UUID, list[str]]] = {}
    for chunk in _chunks(list(trace_ids)):
        stmt = select(T.trace_id, T.project_id, T.tags).where(T.trace_id.in_(chunk))
        found.update((r.trace_id, (r.project_id, r.tags or [])) for r in conn.execute(stmt))
    return found


def _insert_if_absent(
    conn: Connection,
    table: Table,
    key: str,
    rows: Sequence[Mapping[str, Any]],
    params: Sequence[sqlite_bulk.Params] | None,
) -> set[uuid.UUID]:
    """`params`: the rows already encoded by sqlite_bulk (only used on SQLite)."""
    if not rows:
        return set()
    if conn.dialect.name == "sqlite":
        return sqlite_bulk.insert_or_ignore(conn, table, key, rows, params)
    stmt = insert_ignoring(conn, table).returning(table.c[key])
    result = conn.execute(stmt, list(rows))
    return set(result.scalars().all())


def insert_traces_if_absent(
    conn: Connection,
    rows: Sequence[Mapping[str, Any]],
    params: Sequence[sqlite_bulk.Params] | None = None,
) -> set[uuid.UUID]:
    """Returns the IDs actually inserted; the others already existed."""
    return _insert_if_absent(conn, trace_table, "trace_id", rows, params)


def insert_spans_if_absent(
    conn: Connection,
    rows: Sequence[Mapping[str, Any]],
    params: Sequence[sqlite_bulk.Params] | None = None,
) -> set[uuid.UUID]:
    return _insert_if_absent(conn, span_table, "span_id", rows, params)


def _update_by_key(
    conn: Connection, table: Table, key: str, rows: Sequence[Mapping[str, Any]]
) -> None:
    if not rows:
        return
    stmt = update(table).where(table.c[key] == bindparam("_key"))
    params = [{**{k: v for k, v in row.items() if k != key}, "_key": row[key]} for row in rows]
    conn.execute(stmt, params)


def update_traces(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    _update_by_key(conn, trace_table, "trace_id", rows)


def update_spans(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    _update_by_key(conn, span_table, "span_id", rows)


def span_totals(
    conn: Connection, trace_ids: Sequence[uuid.UUID]
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
        for row in conn.execute(stmt):
            totals[row[0]] = (int(row[1]), int(row[2]), int(row[3]), float(row[4]))
    return totals


def add_tags(
    conn: Connection, project_id: uuid.UUID, tags: Iterable[tuple[uuid.UUID, str]]
) -> None:
    rows = [{"trace_id": t, "tag": tag, "project_id": project_id} for t, tag in tags]
    if not rows:
        return
    if conn.dialect.name == "sqlite":
        sqlite_bulk.insert_all(conn, tag_table, sqlite_bulk.encode_all(tag_table, rows))
    else:
        conn.execute(insert_ignoring(conn, tag_table), rows)


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

"""The statements of ingestion: synchronous, on a Core `Connection`. On SQLite the trace
writer runs a whole transaction in one worker thread (see writer.py); elsewhere they run
through `run_sync` on the request's connection. Rows travel as dicts keyed by column name."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import Insert, Table, bindparam, case, func, insert, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection, RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from sightline.db import sqlite_bulk
from sightline.traces.repository import S, T, chunks, span_table, tag_table, trace_table

P = ParamSpec("P")
R = TypeVar("R")


async def run_sync(
    db: AsyncSession,
    fn: Callable[Concatenate[Connection, P], R],
    *args: P.args,
    **kwargs: P.kwargs,
) -> R:
    """Runs a synchronous write function on the session's connection and transaction."""
    connection = await db.connection()
    return await connection.run_sync(fn, *args, **kwargs)


def insert_ignoring(conn: Connection, table: Table) -> Insert:
    """INSERT that skips rows whose key exists. On SQLite it is `INSERT OR IGNORE`, which
    SQLAlchemy can cache (its `on_conflict_do_nothing` construct is compiled on every call);
    every column we insert is filled, so only key conflicts can make it skip a row."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return insert(table).prefix_with("OR IGNORE", dialect="sqlite")


def lock_traces(conn: Connection, trace_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, RowMapping]:
    """Existing rows for these IDs in any project, locked until commit on PostgreSQL
    (SQLite has a single writer, so the lock is implicit there)."""
    found: dict[uuid.UUID, RowMapping] = {}
    for chunk in chunks(sorted(trace_ids)):  # no IDs, no query
        stmt = (
            select(trace_table).where(T.trace_id.in_(chunk)).order_by(T.trace_id).with_for_update()
        )
        found.update((row["trace_id"], row) for row in (conn.execute(stmt)).mappings())
    return found


def lock_spans(conn: Connection, span_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, RowMapping]:
    found: dict[uuid.UUID, RowMapping] = {}
    for chunk in chunks(sorted(span_ids)):
        stmt = select(span_table).where(S.span_id.in_(chunk)).order_by(S.span_id).with_for_update()
        found.update((row["span_id"], row) for row in (conn.execute(stmt)).mappings())
    return found


def owners_of_spans(conn: Connection, span_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    """span_id -> trace_id for the spans that exist (any project)."""
    owners: dict[uuid.UUID, uuid.UUID] = {}
    for chunk in chunks(list(span_ids)):
        stmt = select(S.span_id, S.trace_id).where(S.span_id.in_(chunk))
        owners.update((r.span_id, r.trace_id) for r in conn.execute(stmt))
    return owners


def owners_and_tags(
    conn: Connection, trace_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, tuple[uuid.UUID, list[str]]]:
    """trace_id -> (project_id, tags) for the traces that exist (any project)."""
    found: dict[uuid.UUID, tuple[uuid.UUID, list[str]]] = {}
    for chunk in chunks(list(trace_ids)):
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
    for chunk in chunks(list(trace_ids)):
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


@dataclass(frozen=True, slots=True)
class TraceSource:
    """The span a trace built from its spans takes its fields from: its root, else its
    earliest span; and the time its stored spans cover."""

    span_id: uuid.UUID
    is_root: bool
    first_start: datetime
    last_end: datetime | None


def trace_sources(conn: Connection, trace_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, TraceSource]:
    """trace_id -> its source span, among the spans stored so far (this transaction's too)."""
    found: dict[uuid.UUID, TraceSource] = {}
    root_first = case((S.parent_span_id.is_(None), 0), else_=1)
    for chunk in chunks(list(trace_ids)):
        ranked = (
            select(
                S.trace_id,
                S.span_id,
                S.parent_span_id.is_(None).label("is_root"),
                func.min(S.started_at).over(partition_by=S.trace_id).label("first_start"),
                func.max(S.ended_at).over(partition_by=S.trace_id).label("last_end"),
                func.row_number()
                .over(partition_by=S.trace_id, order_by=(root_first, S.started_at, S.span_id))
                .label("rank"),
            )
            .where(S.trace_id.in_(chunk))
            .subquery()
        )
        stmt = select(
            ranked.c.trace_id,
            ranked.c.span_id,
            ranked.c.is_root,
            ranked.c.first_start,
            ranked.c.last_end,
        ).where(ranked.c.rank == 1)
        for row in conn.execute(stmt):
            found[row.trace_id] = TraceSource(
                row.span_id, bool(row.is_root), row.first_start, row.last_end
            )
    return found


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

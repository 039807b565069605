"""Trace ingestion: synchronous upserts in the request transaction.

A re-posted trace merges into the stored one (rows.merged_trace_row); its spans upsert by
span_id and spans left out are kept. IDs are global, so an ID owned by another project (a
trace) or by another trace (a span) is refused with 409 and nothing of it is written.

Writes are bulk statements: traces and spans go in first with `INSERT ... ON CONFLICT DO
NOTHING RETURNING`, so the common case (a new trace) costs one statement per table and no
read. What was not inserted already existed and takes the merge path. On PostgreSQL the merge path
locks the rows it reads, so concurrent re-posts of one trace serialise instead of losing
updates; SQLite has a single writer anyway.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from sightline.errors import Conflict, DomainValidationError, SightlineError
from sightline.traces import repository as repo
from sightline.traces.rows import (
    Row,
    clamp_tokens,
    merged_span_row,
    merged_trace_row,
    new_span_row,
    new_trace_row,
)
from sightline.traces.schemas import SpanCreate, TraceCreate
from sightline.traces.validation import MAX_TAGS

_MAX_ATTEMPTS = 3


class TraceRejected(Exception):
    """One trace cannot be written; status_code is 409 (ID conflict) or 422."""

    def __init__(self, trace_id: uuid.UUID, status_code: int, detail: str) -> None:
        super().__init__(detail)
        self.trace_id = trace_id
        self.status_code = status_code
        self.detail = detail


class _Raced(Exception):
    """A concurrent transaction inserted one of our IDs between our read and our write."""


def foreign_trace(trace_id: uuid.UUID) -> TraceRejected:
    return TraceRejected(
        trace_id, 409, f"Trace {trace_id} already exists in another project; use a new trace_id."
    )


def foreign_span(trace_id: uuid.UUID, span_id: uuid.UUID) -> TraceRejected:
    return TraceRejected(
        trace_id, 409, f"Span {span_id} already belongs to another trace; use a new span_id."
    )


def http_error(exc: TraceRejected) -> SightlineError:
    if exc.status_code == 409:
        return Conflict(exc.detail)
    return DomainValidationError(exc.detail)


def _gave_up(trace_id: uuid.UUID) -> TraceRejected:
    return TraceRejected(trace_id, 409, "Concurrent writes to the same IDs; retry the request.")


def too_many_tags(trace_id: uuid.UUID) -> TraceRejected:
    return TraceRejected(trace_id, 422, f"tags: a trace can have at most {MAX_TAGS} tags.")


async def upsert_traces(
    session: AsyncSession, project_id: uuid.UUID, traces: Sequence[TraceCreate], now: datetime
) -> None:
    """Writes traces whose trace_ids and span_ids are distinct; raises TraceRejected for the
    first trace that cannot be written (the caller rolls back)."""
    for attempt in range(_MAX_ATTEMPTS):
        try:
            await _write_traces(session, project_id, traces, now)
            return
        except _Raced:
            # Everything written so far is ours and every step is idempotent, so running
            # again simply takes the merge path for the IDs that appeared meanwhile.
            if attempt == _MAX_ATTEMPTS - 1:
                raise _gave_up(traces[0].trace_id) from None


async def _write_traces(
    session: AsyncSession, project_id: uuid.UUID, traces: Sequence[TraceCreate], now: datetime
) -> None:
    span_rows = {
        t.trace_id: [new_span_row(s, t.trace_id, project_id) for s in t.spans] for t in traces
    }
    # Insert first: a new trace (the common case) then needs no read at all.
    inserted = await repo.insert_traces_if_absent(
        session, [new_trace_row(t, project_id, span_rows[t.trace_id], now) for t in traces]
    )
    existing = await repo.lock_traces(
        session, [t.trace_id for t in traces if t.trace_id not in inserted]
    )
    merged = []
    for trace in traces:
        if trace.trace_id in inserted:
            continue
        old = existing.get(trace.trace_id)
        if old is None:  # deleted since our insert found it
            raise _Raced
        if old["project_id"] != project_id:
            raise foreign_trace(trace.trace_id)
        row = merged_trace_row(old, trace)
        if len(row["tags"]) > MAX_TAGS:
            raise too_many_tags(trace.trace_id)
        merged.append(row)

    all_spans = [row for rows in span_rows.values() for row in rows]
    await _upsert_spans(session, all_spans, [s for t in traces for s in t.spans])
    tags = [(t.trace_id, tag) for t in traces for tag in t.tags or []]
    await repo.add_tags(session, project_id, tags)
    await refresh_traces(session, merged, now)


async def _upsert_spans(
    session: AsyncSession, rows: Sequence[Row], incoming: Sequence[SpanCreate]
) -> None:
    inserted = await repo.insert_spans_if_absent(session, rows)
    if len(inserted) == len(rows):
        return
    by_id = {s.span_id: s for s in incoming}
    leftover = [(r["trace_id"], r["span_id"]) for r in rows if r["span_id"] not in inserted]
    stored = await repo.lock_spans(session, [span_id for _, span_id in leftover])
    merged = []
    for trace_id, span_id in leftover:
        old = stored.get(span_id)
        if old is None:
            raise _Raced
        if old["trace_id"] != trace_id:
            raise foreign_span(trace_id, span_id)
        merged.append(merged_span_row(old, by_id[span_id]))
    await repo.update_spans(session, merged)


async def refresh_traces(
    session: AsyncSession, rows: Sequence[Mapping[Any, Any]], now: datetime
) -> None:
    """Writes trace rows with their span aggregates recomputed from the span table."""
    if not rows:
        return
    totals = await repo.span_totals(session, [r["trace_id"] for r in rows])
    updated = []
    for row in rows:
        count, prompt, completion, cost = totals.get(row["trace_id"], (0, 0, 0, 0.0))
        updated.append(
            {
                **row,
                "span_count": count,
                "prompt_tokens": clamp_tokens(prompt),
                "completion_tokens": clamp_tokens(completion),
                "total_cost": cost,
                "ingested_at": now,
            }
        )
    await repo.update_traces(session, updated)


async def upsert_spans(
    session: AsyncSession,
    project_id: uuid.UUID,
    trace: Mapping[Any, Any],
    spans: Sequence[SpanCreate],
    now: datetime,
) -> None:
    """POST /traces/{trace_id}/spans: `trace` is the stored row, already checked to be ours."""
    trace_id = trace["trace_id"]
    rows = [new_span_row(s, trace_id, project_id) for s in spans]
    for attempt in range(_MAX_ATTEMPTS):
        try:
            await _upsert_spans(session, rows, spans)
            break
        except _Raced:
            if attempt == _MAX_ATTEMPTS - 1:
                raise _gave_up(trace_id) from None
    await refresh_traces(session, [trace], now)

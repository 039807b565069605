"""Trace ingestion: synchronous upserts in the caller's transaction.

The functions are plain synchronous code on a Core `Connection` (see repository.py): the
trace writer runs them in its own thread on SQLite, other callers through `run_sync`.

A re-posted trace merges into the stored one (rows.merged_trace_row); its spans upsert by
span_id and spans left out are kept. IDs are global, so an ID owned by another project (a
trace) or by another trace (a span) is refused with 409 and nothing of it is written.

Writes are bulk statements: traces and spans go in first with `INSERT ... ON CONFLICT DO
NOTHING RETURNING` (on SQLite: one indexed read of the existing keys, then a multi-row
`INSERT OR IGNORE`; see sqlite_bulk.py), so the common case (a new trace) costs one or two
statements per table. What was not inserted already existed and takes the merge path.
On PostgreSQL the merge path locks the rows it reads, so concurrent re-posts of one trace
serialise instead of losing updates; SQLite has a single writer anyway.

A *derived* trace (OTLP: a trace that arrives in pieces, children before their root) has no
fields of its own: each piece carries the fields of its best span, and once the piece's
spans are stored the trace takes them only if that span is the trace's source (its root,
else its earliest span); see rows.derived_trace_row.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection, RowMapping

from sightline.db import sqlite_bulk
from sightline.db.sqlite_bulk import Params
from sightline.errors import Conflict, DomainValidationError, SightlineError
from sightline.traces import repository as repo
from sightline.traces.ingest import repository as ingest_repo
from sightline.traces.rows import (
    Row,
    clamp_tokens,
    derived_trace_row,
    merged_span_row,
    merged_trace_row,
    new_span_row,
    new_trace_row,
    union_tags,
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


@dataclass
class NewTrace:
    """A trace with its rows as if it were new, built before the write transaction so the
    single writer only writes. `params` holds the same rows as SQLite parameters when the
    writer asked for them (see sqlite_bulk.py). `derived`: the trace's fields come from its
    spans (see the module's docstring)."""

    trace: TraceCreate
    row: Row
    spans: list[Row]
    params: tuple[Params, list[Params]] | None = None
    derived: bool = False


def new_trace(
    trace: TraceCreate,
    project_id: uuid.UUID,
    now: datetime,
    *,
    sqlite: bool = False,
    derived: bool = False,
) -> NewTrace:
    spans = [new_span_row(s, trace.trace_id, project_id) for s in trace.spans]
    row = new_trace_row(trace, project_id, spans, now)
    if not sqlite:
        return NewTrace(trace, row, spans, derived=derived)
    params = (
        sqlite_bulk.encode(repo.trace_table, row),
        sqlite_bulk.encode_all(repo.span_table, spans),
    )
    return NewTrace(trace, row, spans, params, derived)


def upsert_traces(
    conn: Connection, project_id: uuid.UUID, traces: Sequence[NewTrace], now: datetime
) -> None:
    """Writes traces whose trace_ids and span_ids are distinct; raises TraceRejected for the
    first trace that cannot be written (the caller rolls back)."""
    for attempt in range(_MAX_ATTEMPTS):
        try:
            _write_traces(conn, project_id, traces, now)
            return
        except (_Raced, sqlite_bulk.RowsAppeared):
            # Everything written so far is ours and every step is idempotent, so running
            # again simply takes the merge path for the IDs that appeared meanwhile.
            if attempt == _MAX_ATTEMPTS - 1:
                raise _gave_up(traces[0].trace.trace_id) from None


def _write_traces(
    conn: Connection, project_id: uuid.UUID, traces: Sequence[NewTrace], now: datetime
) -> None:
    encoded = all(t.params is not None for t in traces)
    # Insert first: a new trace (the common case) then needs no read at all.
    inserted = ingest_repo.insert_traces_if_absent(
        conn,
        [t.row for t in traces],
        [t.params[0] for t in traces if t.params is not None] if encoded else None,
    )
    existing = ingest_repo.lock_traces(
        conn, [t.trace.trace_id for t in traces if t.trace.trace_id not in inserted]
    )
    merged = []
    derived: list[tuple[RowMapping, TraceCreate]] = []
    for new in traces:
        trace = new.trace
        if trace.trace_id in inserted:
            continue
        old = existing.get(trace.trace_id)
        if old is None:  # deleted since our insert found it
            raise _Raced
        if old["project_id"] != project_id:
            raise foreign_trace(trace.trace_id)
        if new.derived:  # merged once its spans are stored
            derived.append((old, trace))
            continue
        merged.append(_within_tag_limit(merged_trace_row(old, trace)))

    span_params = [p for t in traces if t.params is not None for p in t.params[1]]
    _upsert_spans(
        conn,
        [row for t in traces for row in t.spans],
        [s for t in traces for s in t.trace.spans],
        span_params if encoded else None,
    )
    merged.extend(_derived_rows(conn, derived))
    tags = [(t.trace.trace_id, tag) for t in traces for tag in t.trace.tags or []]
    ingest_repo.add_tags(conn, project_id, tags)
    refresh_traces(conn, merged, now)


def _within_tag_limit(row: Row) -> Row:
    if len(row["tags"]) > MAX_TAGS:
        raise too_many_tags(row["trace_id"])
    return row


def _derived_rows(conn: Connection, pieces: Sequence[tuple[RowMapping, TraceCreate]]) -> list[Row]:
    sources = ingest_repo.trace_sources(conn, [trace.trace_id for _, trace in pieces])
    rows = []
    for old, trace in pieces:
        source = sources[trace.trace_id]  # the piece's own spans are stored by now
        row = derived_trace_row(
            old,
            trace,
            ours=any(span.span_id == source.span_id for span in trace.spans),
            root=source.is_root,
            first_start=source.first_start,
            last_end=source.last_end,
        )
        rows.append(_within_tag_limit(row))
    return rows


def _upsert_spans(
    conn: Connection,
    rows: Sequence[Row],
    incoming: Sequence[SpanCreate],
    params: list[Params] | None = None,
) -> None:
    inserted = ingest_repo.insert_spans_if_absent(conn, rows, params)
    if len(inserted) == len(rows):
        return
    by_id = {s.span_id: s for s in incoming}
    leftover = [(r["trace_id"], r["span_id"]) for r in rows if r["span_id"] not in inserted]
    stored = ingest_repo.lock_spans(conn, [span_id for _, span_id in leftover])
    merged = []
    for trace_id, span_id in leftover:
        old = stored.get(span_id)
        if old is None:
            raise _Raced
        if old["trace_id"] != trace_id:
            raise foreign_span(trace_id, span_id)
        merged.append(merged_span_row(old, by_id[span_id]))
    ingest_repo.update_spans(conn, merged)


def refresh_traces(conn: Connection, rows: Sequence[Mapping[Any, Any]], now: datetime) -> None:
    """Writes trace rows with their span aggregates recomputed from the span table."""
    if not rows:
        return
    totals = ingest_repo.span_totals(conn, [r["trace_id"] for r in rows])
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
    ingest_repo.update_traces(conn, updated)


def upsert_spans(
    conn: Connection,
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
            _upsert_spans(conn, rows, spans)
            break
        except (_Raced, sqlite_bulk.RowsAppeared):
            if attempt == _MAX_ATTEMPTS - 1:
                raise _gave_up(trace_id) from None
    refresh_traces(conn, [trace], now)


Item = tuple[int, TraceCreate]


NewItem = tuple[int, NewTrace]


def _rounds(items: Sequence[NewItem]) -> list[list[NewItem]]:
    """Splits items so no round holds the same trace_id or span_id twice; a later round
    then sees an earlier one as stored data (a repeated trace merges, a span claimed by
    another trace of the batch conflicts), exactly as separate POSTs would."""
    last_round: dict[uuid.UUID, int] = {}
    rounds: list[list[NewItem]] = []
    for index, new in items:
        keys = [new.trace.trace_id, *(s.span_id for s in new.trace.spans)]
        number = max((last_round[k] + 1 for k in keys if k in last_round), default=0)
        for key in keys:
            last_round[key] = number
        if number == len(rounds):
            rounds.append([])
        rounds[number].append((index, new))
    return rounds


def _rejection(
    trace: TraceCreate,
    project_id: uuid.UUID,
    stored: dict[uuid.UUID, tuple[uuid.UUID, list[str]]],
    owners: dict[uuid.UUID, uuid.UUID],
) -> TraceRejected | None:
    project, tags = stored.get(trace.trace_id, (project_id, []))
    if project != project_id:
        return foreign_trace(trace.trace_id)
    if len(union_tags(tags, trace.tags or [])) > MAX_TAGS:
        return too_many_tags(trace.trace_id)
    for span in trace.spans:
        owner = owners.get(span.span_id, trace.trace_id)
        if owner != trace.trace_id:
            return foreign_span(trace.trace_id, span.span_id)
    return None


def _precheck(
    conn: Connection, project_id: uuid.UUID, items: list[NewItem]
) -> dict[int, TraceRejected]:
    """Finds every conflict before anything is written, in two queries: with stored rows,
    and with earlier traces of the same batch (in order, as if posted one by one)."""
    stored = ingest_repo.owners_and_tags(conn, [t.trace.trace_id for _, t in items])
    owners = ingest_repo.owners_of_spans(conn, [s.span_id for _, t in items for s in t.trace.spans])
    rejected: dict[int, TraceRejected] = {}
    for index, trace in ((i, t.trace) for i, t in items):
        rejection = _rejection(trace, project_id, stored, owners)
        if rejection is not None:
            rejected[index] = rejection
            continue
        _, tags = stored.get(trace.trace_id, (project_id, []))
        stored[trace.trace_id] = (project_id, union_tags(tags, trace.tags or []))
        for span in trace.spans:
            owners.setdefault(span.span_id, trace.trace_id)
    return rejected


def precheck_and_write(
    conn: Connection, project_id: uuid.UUID, items: list[NewItem], now: datetime
) -> dict[int, TraceRejected]:
    """Writes every item that has no conflict; returns the rejected ones by index.
    Raises TraceRejected only when a concurrent write raced past the precheck."""
    rejected = _precheck(conn, project_id, items)
    for round_items in _rounds([item for item in items if item[0] not in rejected]):
        upsert_traces(conn, project_id, [t for _, t in round_items], now)
    return rejected


def write_unchecked(
    conn: Connection, project_id: uuid.UUID, items: list[NewItem], now: datetime
) -> None:
    """The common case without the precheck's reads: no item in conflict. Items whose IDs
    repeat (two pieces of one OTLP trace, a re-posted trace) are written in later rounds,
    as precheck_and_write does, so a later one merges into an earlier one. Raises
    TraceRejected at the first conflict, which the precheck would have refused: every
    check it makes, the write makes too (foreign trace or span, tag overflow), so the
    caller rolls back and runs precheck_and_write instead, and the outcome is the same."""
    for round_items in _rounds(items):
        upsert_traces(conn, project_id, [t for _, t in round_items], now)

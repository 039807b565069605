"""POST /traces/batch: many traces in one request, each accepted or rejected on its own.

Every item is validated separately and its IDs are checked before anything is written, so
a malformed trace, an ID owned by someone else or a tag overflow rejects that trace alone
(with the message a single POST would give) while the others are stored. The response is
200 with a per-trace outcome. The write itself goes through the trace writer
(group_writer.py), in one transaction shared with whatever single POSTs are waiting.

No savepoints: on SQLite a SAVEPOINT opens the transaction with a read snapshot, and the
first write after a concurrent commit then fails at once with "database is locked".
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy.engine import Connection

from sightline.errors import DomainValidationError, validation_envelope
from sightline.traces import repository as repo
from sightline.traces.ingest import (
    NewTrace,
    TraceRejected,
    foreign_span,
    foreign_trace,
    too_many_tags,
    upsert_traces,
)
from sightline.traces.rows import union_tags
from sightline.traces.schemas import TraceBatchItem, TraceBatchResult, TraceCreate
from sightline.traces.validation import MAX_TAGS, STORABLE_BODY

if TYPE_CHECKING:
    from sightline.traces.group_writer import GroupWriter

_TRACE = TypeAdapter(TraceCreate)

Item = tuple[int, TraceCreate]
NewItem = tuple[int, NewTrace]


def _raw_trace_id(raw: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(raw["trace_id"]))
    except (TypeError, KeyError, ValueError, AttributeError):
        return None


def _describe(exc: ValidationError) -> str:
    errors = validation_envelope(exc.errors())["errors"]
    return "; ".join(f"{e['field'] or 'trace'}: {e['message']}" for e in errors)


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
    stored = repo.owners_and_tags(conn, [t.trace.trace_id for _, t in items])
    owners = repo.owners_of_spans(conn, [s.span_id for _, t in items for s in t.trace.spans])
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
) -> bool:
    """The common case without the precheck's reads: all IDs distinct, none in conflict.
    Returns False, having written nothing, when IDs repeat. Raises TraceRejected when an
    item conflicts: the caller then rolls back and runs precheck_and_write instead."""
    if len(_rounds(items)) > 1:
        return False
    upsert_traces(conn, project_id, [t for _, t in items], now)
    return True


async def ingest_batch(
    writer: GroupWriter,
    project_id: uuid.UUID,
    raw_traces: list[Any],
    max_traces: int,
    *,
    storable: bool = False,
) -> TraceBatchResult:
    """`storable`: the traces were parsed from a body that validation.storable_body passed."""
    if len(raw_traces) > max_traces:
        raise DomainValidationError(f"traces: at most {max_traces} traces per request.")
    context = {STORABLE_BODY: storable}
    results: list[TraceBatchItem] = []
    valid: list[Item] = []
    for index, raw in enumerate(raw_traces):
        try:
            trace = _TRACE.validate_python(raw, context=context)
        except ValidationError as exc:
            results.append(
                TraceBatchItem(trace_id=_raw_trace_id(raw), status="rejected", error=_describe(exc))
            )
            continue
        results.append(TraceBatchItem(trace_id=trace.trace_id, status="accepted"))
        valid.append((index, trace))

    # Only a write racing this request gets past the precheck; the writer then fails the
    # whole request (nothing stored) so the client can retry, when the precheck sees it.
    rejected = await writer.write(project_id, valid)
    for index, rejection in rejected.items():
        results[index] = TraceBatchItem(
            trace_id=rejection.trace_id, status="rejected", error=rejection.detail
        )
    accepted = sum(1 for r in results if r.status == "accepted")
    return TraceBatchResult(results=results, accepted=accepted, rejected=len(results) - accepted)

"""POST /traces/batch: many traces in one request, each accepted or rejected on its own.

Every item is validated separately and its IDs are checked before anything is written, so
a malformed trace, an ID owned by someone else or a tag overflow rejects that trace alone
(with the message a single POST would give) while the others are stored. The response is
200 with a per-trace outcome. The write itself goes through the trace writer
(writer.py), in one transaction shared with whatever single POSTs are waiting.

No savepoints: on SQLite a SAVEPOINT opens the transaction with a read snapshot, and the
first write after a concurrent commit then fails at once with "database is locked".
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import TypeAdapter, ValidationError

from sightline.errors import DomainValidationError, validation_envelope
from sightline.kit.types import STORABLE_BODY
from sightline.traces.ingest.service import Item
from sightline.traces.ingest.writer import GroupWriter
from sightline.traces.schemas import TraceBatchItem, TraceBatchResult, TraceCreate

_TRACE = TypeAdapter(TraceCreate)


def _raw_trace_id(raw: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(raw["trace_id"]))
    except (TypeError, KeyError, ValueError, AttributeError):
        return None


def describe(exc: ValidationError) -> str:
    """A validation error as one line naming each field (a batch item's rejection)."""
    errors = validation_envelope(exc.errors())["errors"]
    return "; ".join(f"{e['field'] or 'trace'}: {e['message']}" for e in errors)


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
                TraceBatchItem(trace_id=_raw_trace_id(raw), status="rejected", error=describe(exc))
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

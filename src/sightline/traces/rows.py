"""Pure conversions between request models, stored rows (dicts keyed by column name)
and response models. The merge rules of re-posted traces and spans live here."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from sightline.traces.ingest import pricing
from sightline.traces.schemas import (
    SpanCreate,
    SpanRead,
    TraceCreate,
    TraceListItem,
    TraceRead,
)
from sightline.traces.validation import MAX_TOKEN_COUNT

Row = dict[str, Any]
# A stored row as read back (SQLAlchemy RowMapping) or as built here.
Stored = Mapping[Any, Any]

# Absent or null in a re-post keeps the stored value (PandaProbe's intended semantics;
# its bug 6 wiped the JSON columns).
TRACE_KEEP_IF_NULL = (
    "input",
    "output",
    "ended_at",
    "session_id",
    "user_id",
    "environment",
    "release",
)
SPAN_KEEP_IF_NULL = (
    "parent_span_id",
    "input",
    "output",
    "model",
    "token_usage",
    "ended_at",
    "error",
    "completion_start_time",
    "model_parameters",
    "cost",
)


def fields_of(model: BaseModel, names: Iterable[str]) -> Row:
    """Attribute values as they are (model_dump would turn Timestamps into strings)."""
    return {name: getattr(model, name) for name in names}


def latency_ms(started_at: datetime, ended_at: datetime | None) -> float | None:
    if ended_at is None:
        return None
    return (ended_at - started_at).total_seconds() * 1000


def clamp_tokens(value: int) -> int:
    return min(int(value), MAX_TOKEN_COUNT)


def union_tags(old: Iterable[str], new: Iterable[str]) -> list[str]:
    return list(dict.fromkeys([*old, *new]))


CLIENT_COST = "client"


def with_client_cost(row: Row, cost: Any) -> Row:
    """A cost the client sent (or cleared, with None): it always wins over a derived one."""
    row["cost"] = cost
    row["cost_source"] = None if cost is None else CLIENT_COST
    return row


def with_span_derived(row: Row) -> Row:
    """Token and cost numbers are copied out of the JSON so aggregates never parse JSON.

    A span without a cost of its own is priced from the model price map, again on every
    change, so a derived cost always matches the span's current model and tokens. A cost
    stored without a source predates cost_source and came from the client."""
    usage = row["token_usage"] or {}
    row["prompt_tokens"] = int(usage.get("prompt_tokens", 0))
    row["completion_tokens"] = int(usage.get("completion_tokens", 0))
    if row["cost"] is None or row["cost_source"] == pricing.PRICE_MAP:
        cost = pricing.span_cost(row["kind"], row["model"], usage, row["metadata"])
        row["cost"] = cost
        row["cost_source"] = None if cost is None else pricing.PRICE_MAP
    row["cost_total"] = float((row["cost"] or {}).get("total", 0.0))
    return row


def new_span_row(span: SpanCreate, trace_id: uuid.UUID, project_id: uuid.UUID) -> Row:
    row = dict(span.__dict__)  # the field values, as fields_of(span, every field) gives them
    row.update(trace_id=trace_id, project_id=project_id, metadata=span.metadata or {})
    return with_span_derived(with_client_cost(row, span.cost))


def merged_span_row(old: Stored, span: SpanCreate) -> Row:
    row = dict(old)
    row["name"] = span.name
    row["started_at"] = span.started_at
    for name in ("kind", "status"):
        if name in span.model_fields_set:
            row[name] = getattr(span, name)
    for name in SPAN_KEEP_IF_NULL:
        value = getattr(span, name)
        if value is not None:
            row[name] = value
    if span.cost is not None:
        with_client_cost(row, span.cost)
    row["metadata"] = {**(old["metadata"] or {}), **(span.metadata or {})}
    return with_span_derived(row)


def new_trace_row(
    trace: TraceCreate, project_id: uuid.UUID, spans: list[Row], now: datetime
) -> Row:
    return {
        "trace_id": trace.trace_id,
        "project_id": project_id,
        "name": trace.name,
        "status": trace.status,
        "input": trace.input,
        "output": trace.output,
        "metadata": trace.metadata or {},
        "started_at": trace.started_at,
        "ended_at": trace.ended_at,
        "latency_ms": latency_ms(trace.started_at, trace.ended_at),
        "session_id": trace.session_id,
        "user_id": trace.user_id,
        "tags": union_tags([], trace.tags or []),
        "environment": trace.environment,
        "release": trace.release,
        "span_count": len(spans),
        "prompt_tokens": clamp_tokens(sum(s["prompt_tokens"] for s in spans)),
        "completion_tokens": clamp_tokens(sum(s["completion_tokens"] for s in spans)),
        "total_cost": sum(s["cost_total"] for s in spans),
        "created_at": now,
        "ingested_at": now,
    }


def merged_trace_row(old: Stored, trace: TraceCreate) -> Row:
    row = dict(old)
    row["name"] = trace.name
    row["started_at"] = trace.started_at
    if "status" in trace.model_fields_set:
        row["status"] = trace.status
    for name in TRACE_KEEP_IF_NULL:
        value = getattr(trace, name)
        if value is not None:
            row[name] = value
    row["metadata"] = {**(old["metadata"] or {}), **(trace.metadata or {})}
    row["tags"] = union_tags(old["tags"] or [], trace.tags or [])
    row["latency_ms"] = latency_ms(row["started_at"], row["ended_at"])
    return row


# A trace built from its spans (OTLP) fills these from any piece that has them.
DERIVED_FILL_IF_NULL = ("session_id", "user_id", "environment", "release")


def derived_trace_row(
    old: Stored,
    trace: TraceCreate,
    *,
    ours: bool,
    root: bool,
    first_start: datetime,
    last_end: datetime | None,
) -> Row:
    """A trace that arrives in pieces takes its fields from its source span (the root, else
    the earliest span: see ingest.repository.trace_sources). `ours`: that span is in this
    piece, whose fields were derived from it, so they replace the stored ones; otherwise
    the stored fields stay. Without a root the trace covers every span stored so far."""
    row = dict(old)
    if ours:
        for name in ("name", "status", "input", "output"):
            row[name] = getattr(trace, name)
        if root:
            row["started_at"], row["ended_at"] = trace.started_at, trace.ended_at
    if not root:
        row["started_at"], row["ended_at"] = first_start, last_end
    for name in DERIVED_FILL_IF_NULL:
        value = getattr(trace, name)
        if value is not None and (ours or row[name] is None):
            row[name] = value
    row["metadata"] = {**(old["metadata"] or {}), **(trace.metadata or {})}
    row["tags"] = union_tags(old["tags"] or [], trace.tags or [])
    row["latency_ms"] = latency_ms(row["started_at"], row["ended_at"])
    return row


def span_read(row: Stored) -> SpanRead:
    started = row["started_at"]
    first_token = row["completion_start_time"]
    return SpanRead(
        span_id=row["span_id"],
        trace_id=row["trace_id"],
        parent_span_id=row["parent_span_id"],
        name=row["name"],
        kind=row["kind"],
        status=row["status"],
        input=row["input"],
        output=row["output"],
        model=row["model"],
        token_usage=row["token_usage"],
        metadata=row["metadata"] or {},
        started_at=started,
        ended_at=row["ended_at"],
        error=row["error"],
        completion_start_time=first_token,
        model_parameters=row["model_parameters"],
        cost=row["cost"],
        cost_source=row["cost_source"] or (CLIENT_COST if row["cost"] is not None else None),
        latency_ms=latency_ms(started, row["ended_at"]),
        time_to_first_token_ms=latency_ms(started, first_token),
    )


def trace_read(row: Stored, spans: Iterable[Stored]) -> TraceRead:
    return TraceRead(
        trace_id=row["trace_id"],
        project_id=row["project_id"],
        name=row["name"],
        status=row["status"],
        input=row["input"],
        output=row["output"],
        metadata=row["metadata"] or {},
        started_at=row["started_at"],
        ended_at=row["ended_at"],
        session_id=row["session_id"],
        user_id=row["user_id"],
        tags=row["tags"] or [],
        environment=row["environment"],
        release=row["release"],
        spans=[span_read(s) for s in spans],
        total_tokens=row["prompt_tokens"] + row["completion_tokens"],
        total_cost=row["total_cost"],
    )


def trace_list_item(row: Stored) -> TraceListItem:
    return TraceListItem(
        trace_id=row["trace_id"],
        name=row["name"],
        status=row["status"],
        started_at=row["started_at"],
        ended_at=row["ended_at"],
        session_id=row["session_id"],
        user_id=row["user_id"],
        tags=row["tags"] or [],
        environment=row["environment"],
        release=row["release"],
        latency_ms=row["latency_ms"],
        span_count=row["span_count"],
        total_tokens=row["prompt_tokens"] + row["completion_tokens"],
        total_cost=row["total_cost"],
    )

"""A request's OTLP spans -> trace pieces: each trace's spans of one request become one
TraceCreate body, written as a *derived* trace (traces/ingest/service.py) whose fields are
those of the piece's best span (the root, else the earliest); the trace keeps them only while
that span is its source."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans

from sightline.traces.otlp import attributes as attr
from sightline.traces.otlp.attributes import Attributes
from sightline.traces.otlp.mapping import Mapped, as_uuid, map_span
from sightline.traces.validation import MAX_SPANS_PER_REQUEST, MAX_TAG_CHARS, MAX_TAGS

_ZERO_TRACE, _ZERO_SPAN = bytes(16), bytes(8)
_MAX_RESOURCE_KEYS = 32


@dataclass
class Refused:
    spans: int
    reason: str


@dataclass
class Pieces:
    """What one request's spans became: TraceCreate bodies, each with its span count."""

    traces: list[tuple[dict[str, Any], int]] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)


def _invalid_ids(trace_id: bytes, span_id: bytes, parent_span_id: bytes) -> str | None:
    if len(trace_id) != 16 or trace_id == _ZERO_TRACE:
        return "trace_id must be 16 bytes and not all zero"
    if len(span_id) != 8 or span_id == _ZERO_SPAN:
        return "span_id must be 8 bytes and not all zero"
    if parent_span_id and len(parent_span_id) != 8:
        return "parent_span_id must be empty or 8 bytes"
    return None


def _start(mapped: Mapped) -> tuple[datetime, uuid.UUID]:
    return mapped.body["started_at"], mapped.body["span_id"]


def _first(values: Iterable[Any]) -> Any:
    return next((v for v in values if v), None)


def _trace_body(trace_id: bytes, spans: list[Mapped], resource: Attributes) -> dict[str, Any]:
    """The piece's fields, from its best span: the same choice as the store's
    (ingest.repository.trace_sources: root first, then start time, then span ID)."""
    spans.sort(key=_start)
    source = min(spans, key=lambda m: (not m.is_root, *_start(m)))
    if source.is_root:
        started, ended = source.body["started_at"], source.body["ended_at"]
    else:
        started = spans[0].body["started_at"]
        ended = max((m.body["ended_at"] for m in spans if m.body["ended_at"]), default=None)
    tags = {
        t: None for m in spans for t in m.tags if isinstance(t, str) and 0 < len(t) <= MAX_TAG_CHARS
    }
    env = _first(resource.get(k) for k in ("deployment.environment.name", "deployment.environment"))
    release = resource.get("service.version")
    return {
        "trace_id": as_uuid(trace_id),
        "name": source.body["name"],
        "status": "ERROR" if source.status == "ERROR" else "COMPLETED",
        "input": source.body["input"],
        "output": source.body["output"],
        "metadata": attr.bounded_metadata(source.trace_metadata),
        "started_at": started,
        "ended_at": ended,
        "session_id": _first([source.session_id, *(m.session_id for m in spans)]),
        "user_id": _first([source.user_id, *(m.user_id for m in spans)]),
        "tags": list(tags)[:MAX_TAGS],
        "environment": env if isinstance(env, str) else None,
        "release": release if isinstance(release, str) else None,
        "spans": [m.body for m in spans],
    }


def _resource_attributes(resource_spans: ResourceSpans) -> Attributes:
    values = attr.attributes(resource_spans.resource.attributes)
    return dict(list(values.items())[:_MAX_RESOURCE_KEYS])


def resource_project(resource_spans: ResourceSpans) -> str | None:
    """The project a resource names when the request's headers name none."""
    values = attr.attributes(resource_spans.resource.attributes)
    for key in ("openinference.project.name", "service.name"):
        value = values.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return None


def _chunks(spans: list[Mapped]) -> Iterator[list[Mapped]]:
    # A TraceCreate holds at most MAX_SPANS_PER_REQUEST spans; the rest are further pieces.
    for start in range(0, len(spans), MAX_SPANS_PER_REQUEST):
        yield spans[start : start + MAX_SPANS_PER_REQUEST]


def pieces(resource_spans: Iterable[ResourceSpans]) -> Pieces:
    result = Pieces()
    # a span sent twice in one request (an exporter's retry) is kept once, as last sent
    by_trace: dict[bytes, tuple[Attributes, dict[uuid.UUID, Mapped]]] = {}
    for resource in resource_spans:
        resource_attrs = _resource_attributes(resource)
        for scope_spans in resource.scope_spans:
            scope_name = attr.text(scope_spans.scope.name)
            for span in scope_spans.spans:
                # each read of a protobuf field makes a new object: read once
                ids = span.trace_id, span.span_id, span.parent_span_id
                reason = _invalid_ids(*ids)
                if reason is not None:
                    result.refused.append(Refused(1, reason))
                    continue
                mapped = map_span(span, ids, scope_name, resource_attrs)
                entry = by_trace.get(ids[0])
                if entry is None:
                    entry = by_trace[ids[0]] = (resource_attrs, {})
                entry[1][mapped.body["span_id"]] = mapped
    for trace_id, (resource_attrs, spans) in by_trace.items():
        for chunk in _chunks(list(spans.values())):
            result.traces.append((_trace_body(trace_id, chunk, resource_attrs), len(chunk)))
    return result

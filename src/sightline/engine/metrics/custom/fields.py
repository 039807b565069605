"""What a deterministic check reads of a trace: a field's text or JSON value, a measure.

A field is ``output`` or ``input`` (the trace's), or ``span_kind:<KIND>`` (the outputs of
the trace's spans of that kind, in start order). Its text is what the payload says: a
conversation's message contents, a string as it is, any other JSON compactly written
(``engine.text.plain_text``). A missing field reads as the empty text.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sightline.engine.metrics.custom.config import Measure
from sightline.engine.text import content_text, message_list, plain_text
from sightline.engine.views import SpanView, TraceView

_MISSING = object()


def _spans_of(trace: TraceView, kind: str) -> list[SpanView]:
    spans = [span for span in trace.spans if span.kind == kind]
    spans.sort(key=lambda s: (s.started_at.timestamp() if s.started_at else 0.0, s.span_id))
    return spans


def field_text(trace: TraceView, field: str) -> str:
    if field == "output":
        return plain_text(trace.output)
    if field == "input":
        return plain_text(trace.input)
    kind = field.partition(":")[2]
    return "\n".join(plain_text(span.output) for span in _spans_of(trace, kind))


def json_value(trace: TraceView, field: str) -> tuple[Any, str | None]:
    """(the value to validate, None) or (None, why there is none). A conversation gives its
    last message's content; a string is parsed as JSON (an agent's JSON answer as text)."""
    value = trace.output if field == "output" else trace.input
    messages = message_list(value)
    if messages is not None:
        value = content_text(messages[-1].get("content"))
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            return None, f"the {field} is not JSON: {exc}"
    return value, None


def resolve_pointer(value: Any, pointer: str) -> Any:
    """RFC 6901; ``_MISSING`` when the pointer leads nowhere."""
    if pointer == "":
        return value
    for raw in pointer[1:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(value, dict):
            if token not in value:
                return _MISSING
            value = value[token]
        elif isinstance(value, list):
            if not token.isdigit() or int(token) >= len(value):
                return _MISSING
            value = value[int(token)]
        else:
            return _MISSING
    return value


def is_missing(value: Any) -> bool:
    return value is _MISSING


def _latency_ms(trace: TraceView) -> float | None:
    if trace.latency_ms is not None:
        return float(trace.latency_ms)
    if trace.started_at is None or trace.ended_at is None:
        return None
    return (trace.ended_at - trace.started_at).total_seconds() * 1000


def _tokens(trace: TraceView) -> int:
    if trace.prompt_tokens is not None or trace.completion_tokens is not None:
        return int(trace.prompt_tokens or 0) + int(trace.completion_tokens or 0)
    total = 0
    for span in trace.spans:
        usage = span.token_usage or {}
        if "total_tokens" in usage:
            total += int(usage.get("total_tokens") or 0)
        else:
            total += int(usage.get("prompt_tokens") or 0) + int(usage.get("completion_tokens") or 0)
    return total


def _errors(trace: TraceView) -> int:
    return sum(1 for span in trace.spans if span.status == "ERROR" or span.error)


def measure(traces: Sequence[TraceView], name: Measure) -> float | None:
    """The measure over the traces (a session adds its traces up); None when a latency
    cannot be known (a trace without an end)."""
    total = 0.0
    for trace in traces:
        if name == Measure.LATENCY_MS:
            latency = _latency_ms(trace)
            if latency is None:
                return None
            total += latency
        elif name == Measure.COST_USD:
            total += float(trace.total_cost or 0.0)
        elif name == Measure.TOTAL_TOKENS:
            total += _tokens(trace)
        elif name == Measure.SPAN_COUNT:
            total += len(trace.spans)
        else:
            total += _errors(trace)
    return total

"""One OTLP span -> a Sightline span (the README's "OpenTelemetry" table is this module;
pieces.py assembles a request's spans into traces).

IDs: a 16-byte trace ID is the trace's UUID as it is; an 8-byte span ID becomes the UUID of
the trace ID's last 8 bytes (W3C's random part) followed by the span ID, so it is stable,
parents map the same way, and the OTel span ID can be read off its UUID.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from sightline.traces.otlp import attributes as attr
from sightline.traces.otlp.attributes import Attributes, json_or_text, parsed_json
from sightline.traces.otlp.messages import (
    INPUT_MESSAGES,
    OUTPUT_MESSAGES,
    TOOLS,
    Groups,
    add_indexed,
    span_messages,
    tool_definitions,
)
from sightline.traces.validation import (
    MAX_NAME_CHARS,
    MAX_SHORT_CHARS,
    MAX_TOKEN_COUNT,
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ZERO_SPAN = bytes(8)

OPENINFERENCE_KINDS = frozenset({"LLM", "TOOL", "AGENT", "RETRIEVER", "CHAIN", "EMBEDDING"})
GENAI_KINDS = {
    "chat": "LLM",
    "text_completion": "LLM",
    "generate_content": "LLM",
    "execute_tool": "TOOL",
    "invoke_agent": "AGENT",
    "create_agent": "AGENT",
    "embeddings": "EMBEDDING",
}
_STATUS = {Status.STATUS_CODE_OK: "OK", Status.STATUS_CODE_ERROR: "ERROR"}
# usage key -> the attributes that may hold it, first found wins
TOKEN_KEYS = {
    "prompt_tokens": (
        "llm.token_count.prompt",
        "gen_ai.usage.input_tokens",
        "gen_ai.usage.prompt_tokens",
    ),
    "completion_tokens": (
        "llm.token_count.completion",
        "gen_ai.usage.output_tokens",
        "gen_ai.usage.completion_tokens",
    ),
    "total_tokens": ("llm.token_count.total",),
    "cache_read_tokens": (
        "llm.token_count.prompt_details.cache_read",
        "gen_ai.usage.cache_read.input_tokens",
    ),
    "cache_creation_tokens": (
        "llm.token_count.prompt_details.cache_write",
        "gen_ai.usage.cache_creation.input_tokens",
    ),
    "reasoning_tokens": ("llm.token_count.completion_details.reasoning",),
}
SESSION_KEYS = ("session.id", "gen_ai.conversation.id")
# Read into span fields, so left out of the span's metadata.
_MAPPED = frozenset(
    {
        "openinference.span.kind",
        "gen_ai.operation.name",
        "input.value",
        "input.mime_type",
        "output.value",
        "output.mime_type",
        "llm.model_name",
        "llm.invocation_parameters",
        "gen_ai.request.model",
        "gen_ai.response.model",
        "gen_ai.input.messages",
        "gen_ai.output.messages",
        "gen_ai.system_instructions",
        "gen_ai.tool.definitions",
        "gen_ai.tool.call.arguments",
        "gen_ai.tool.call.result",
        "metadata",
        "tag.tags",
        "user.id",
        *SESSION_KEYS,
    }
)
_GROUPS = (INPUT_MESSAGES, OUTPUT_MESSAGES, TOOLS)
# attribute -> (usage key, rank): the lowest rank present wins
_TOKEN_ATTRS = {
    key: (name, rank) for name, keys in TOKEN_KEYS.items() for rank, key in enumerate(keys)
}
# (parameter, the attribute that holds it)
_REQUEST_PARAMETERS = tuple(
    (name, f"gen_ai.request.{name}")
    for name in ("temperature", "max_tokens", "top_p", "top_k", "seed", "stop_sequences")
)


@dataclass(slots=True)
class Mapped:
    """One span as Sightline stores it, with what its trace may take from it."""

    body: dict[str, Any]  # a SpanCreate body: every field, in SpanCreate's order
    is_root: bool
    status: str
    session_id: Any
    user_id: Any
    tags: list[Any]
    resource: Attributes  # its resource's attributes, shared by the resource's spans
    own_metadata: Attributes  # its `metadata` attribute, when that is a JSON object

    @property
    def trace_metadata(self) -> Attributes:
        """The trace's metadata, should this span be its source (built only for that one)."""
        return {**self.resource, **self.own_metadata}


def _time(nanos: int) -> datetime:
    return _EPOCH + timedelta(microseconds=nanos // 1000)


def as_uuid(raw: bytes) -> uuid.UUID:
    """uuid.UUID(bytes=raw) for 16 bytes, without its __init__'s argument checks (three
    UUIDs a span make them a tenth of the mapping's cost); the same value and fields."""
    value = object.__new__(uuid.UUID)
    object.__setattr__(value, "int", int.from_bytes(raw))
    object.__setattr__(value, "is_safe", uuid.SafeUUID.unknown)
    return value


def span_uuid(trace_id: bytes, span_id: bytes) -> uuid.UUID:
    return as_uuid(trace_id[8:] + span_id)


def _kind(attrs: Attributes) -> str:
    kind = attrs.get("openinference.span.kind")
    if isinstance(kind, str) and kind.upper() in OPENINFERENCE_KINDS:
        return kind.upper()
    if kind is None:
        return GENAI_KINDS.get(str(attrs.get("gen_ai.operation.name")), "OTHER")
    return "OTHER"  # RERANKER, GUARDRAIL, EVALUATOR, ...


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 0 <= value <= MAX_TOKEN_COUNT else None


def _tokens(found: dict[str, tuple[int, Any]]) -> dict[str, int] | None:
    usage: dict[str, int] = {}
    for name, (_, raw) in found.items():
        value = _count(raw)
        if value is not None:
            usage[name] = value
    if "total_tokens" not in usage and ("prompt_tokens" in usage or "completion_tokens" in usage):
        total = usage.get("prompt_tokens", 0) + usage.get("completion_tokens", 0)
        usage["total_tokens"] = min(total, MAX_TOKEN_COUNT)
    return usage or None


def _model(attrs: Attributes) -> str | None:
    for key in ("llm.model_name", "gen_ai.response.model", "gen_ai.request.model"):
        value = attrs.get(key)
        if isinstance(value, str) and value:
            return value[:MAX_SHORT_CHARS]
    return None


def _parameters(attrs: Attributes, rest: Attributes) -> dict[str, Any] | None:
    invocation = parsed_json(attrs.get("llm.invocation_parameters"))
    if isinstance(invocation, dict):
        return invocation
    found = {name: rest[key] for name, key in _REQUEST_PARAMETERS if key in rest}
    return found or None


def _error(span: Span, events: list[tuple[str, Attributes]]) -> str | None:
    for name, event in events:
        if name == "exception":
            kind, message = event.get("exception.type"), event.get("exception.message")
            return ": ".join(str(p) for p in (kind, message) if p) or "exception"
    if span.status.code == Status.STATUS_CODE_ERROR:
        return attr.text(span.status.message) or None
    return None


@dataclass(slots=True)
class _Split:
    """A span's attributes, read and sorted in one pass (the hot loop of ingestion): those
    the mapping reads by name, the flattened groups, the token counts, and the rest (the
    span's metadata)."""

    mapped: Attributes
    groups: Groups
    tokens: dict[str, tuple[int, Any]]  # usage key -> (rank, value)
    rest: Attributes


def _split(pairs: Iterable[KeyValue]) -> _Split:
    # Plain local dicts, the _Split made at the end: this loop runs for every attribute.
    mapped: Attributes = {}
    groups: Groups = {}
    tokens: dict[str, tuple[int, Any]] = {}
    rest: Attributes = {}
    any_value = attr.any_value
    for pair in pairs:
        key = pair.key
        if "\x00" in key:
            key = attr.text(key)
        value = any_value(pair.value)
        if key in _MAPPED:
            mapped[key] = value
        elif key.startswith(_GROUPS):
            for group in _GROUPS:
                if key.startswith(group):
                    add_indexed(groups.setdefault(group, {}), key[len(group) :], value)
                    break
        elif key in _TOKEN_ATTRS:
            name, rank = _TOKEN_ATTRS[key]
            if rank < tokens.get(name, (rank + 1, None))[0]:
                tokens[name] = (rank, value)
        else:
            rest[key] = value
    return _Split(mapped, groups, tokens, rest)


def _payloads(
    attrs: Attributes, groups: Groups, events: list[tuple[str, Attributes]]
) -> tuple[Any, Any]:
    inputs, outputs = span_messages(attrs, groups, events)
    value_in = json_or_text(attrs.get("input.value"), attrs.get("input.mime_type"))
    value_out = json_or_text(attrs.get("output.value"), attrs.get("output.mime_type"))
    if value_in is None and "gen_ai.tool.call.arguments" in attrs:
        value_in = parsed_json(attrs["gen_ai.tool.call.arguments"])
    if value_out is None and "gen_ai.tool.call.result" in attrs:
        value_out = parsed_json(attrs["gen_ai.tool.call.result"])
    return (
        {"messages": inputs} if inputs else value_in,
        {"messages": outputs} if outputs else value_out,
    )


def _span_metadata(attrs: Attributes, split: _Split, own: Any, scope_name: str) -> Attributes:
    metadata: Attributes = dict(own) if isinstance(own, dict) else {}
    for key, value in split.rest.items():
        metadata.setdefault(key, value)
    tools = tool_definitions(attrs, split.groups)
    if tools:
        metadata["tools"] = tools
    if scope_name:
        metadata["otel.scope.name"] = scope_name
    return attr.bounded_metadata(metadata)


def map_span(span: Span, scope_name: str, resource: Attributes) -> Mapped:
    split = _split(span.attributes)
    attrs = split.mapped
    own_metadata = parsed_json(attrs["metadata"]) if "metadata" in attrs else None
    events = [(e.name, attr.attributes(e.attributes)) for e in span.events] if span.events else []
    parent = span.parent_span_id
    is_root = not parent or parent == _ZERO_SPAN
    started = _time(span.start_time_unix_nano)
    ended = _time(span.end_time_unix_nano) if span.end_time_unix_nano else None
    status = _STATUS.get(span.status.code, "UNSET")
    span_input, span_output = _payloads(attrs, split.groups, events)
    # Every SpanCreate field, in its order: service.py makes this dict the model's own.
    body = {
        "span_id": span_uuid(span.trace_id, span.span_id),
        "parent_span_id": None if is_root else span_uuid(span.trace_id, parent),
        "name": attr.text(span.name[:MAX_NAME_CHARS]) or "span",
        "kind": _kind(attrs),
        "status": status,
        "input": span_input,
        "output": span_output,
        "model": _model(attrs),
        "token_usage": _tokens(split.tokens) if split.tokens else None,
        "metadata": _span_metadata(attrs, split, own_metadata, attr.text(scope_name)),
        "started_at": started,
        # a clock that went backwards must not make the span unstorable
        "ended_at": max(ended, started) if ended is not None else None,
        "error": _error(span, events),
        "completion_start_time": None,
        "model_parameters": _parameters(attrs, split.rest),
        "cost": None,
    }
    tags = attrs.get("tag.tags")
    return Mapped(
        body=body,
        is_root=is_root,
        status=status,
        session_id=next((attrs[k] for k in SESSION_KEYS if attrs.get(k)), None),
        user_id=attrs.get("user.id"),
        tags=tags if isinstance(tags, list) else [],
        resource=resource,
        own_metadata=own_metadata if isinstance(own_metadata, dict) else {},
    )

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
    index_of,
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
    return _EPOCH + timedelta(0, 0, nanos // 1000)  # positional: a keyword costs a third more


# Looked up once: reading an enum member runs Python code (enum's descriptor) every time.
_UUID, _UNKNOWN_SAFETY = uuid.UUID, uuid.SafeUUID.unknown
_new, _set = object.__new__, object.__setattr__


def as_uuid(raw: bytes) -> uuid.UUID:
    """uuid.UUID(bytes=raw) for 16 bytes, without its __init__'s argument checks (three
    UUIDs a span make them a tenth of the mapping's cost); the same value and fields."""
    value = _new(_UUID)
    _set(value, "int", int.from_bytes(raw))
    _set(value, "is_safe", _UNKNOWN_SAFETY)
    return value


def _kind(attrs: Attributes) -> str:
    kind = attrs.get("openinference.span.kind")
    if isinstance(kind, str) and kind.upper() in OPENINFERENCE_KINDS:
        return kind.upper()
    if kind is None:
        return GENAI_KINDS.get(str(attrs.get("gen_ai.operation.name")), "OTHER")
    return "OTHER"  # RERANKER, GUARDRAIL, EVALUATOR, ...


def _tokens(found: dict[str, tuple[int, Any]]) -> dict[str, int] | None:
    usage: dict[str, int] = {}
    for name, (_, raw) in found.items():
        # a count is an int in range; type(), not isinstance: a bool is not a count
        if type(raw) is int and 0 <= raw <= MAX_TOKEN_COUNT:
            usage[name] = raw
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
    if "llm.invocation_parameters" in attrs:
        invocation = parsed_json(attrs["llm.invocation_parameters"])
        if isinstance(invocation, dict):
            return invocation
    if not rest:
        return None
    found = {name: rest[key] for name, key in _REQUEST_PARAMETERS if key in rest}
    return found or None


def _error(span: Span, code: int, events: list[tuple[str, Attributes]]) -> str | None:
    for name, event in events:
        if name == "exception":
            kind, message = event.get("exception.type"), event.get("exception.message")
            return ": ".join(str(p) for p in (kind, message) if p) or "exception"
    if code == Status.STATUS_CODE_ERROR:
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


# Where _split files an attribute, by the first item of the key's filing.
_AS_MAPPED, _IN_GROUP, _GROUP_ONLY, _AS_TOKENS, _AS_REST = range(5)
Filing = tuple[Any, ...]
# key -> its filing, for the keys seen so far: instrumentations send the same few dozen
# keys on every span, and filing one (prefix tests, parsing the index) costs several times
# the lookup. Bounded in count and key length, since the keys are the client's: any other
# key is filed every time, with the same result.
_FILED: dict[str, Filing] = {}
_MAX_FILED, _MAX_FILED_CHARS = 4096, 200


def _filing(key: str) -> Filing:
    clean = attr.text(key)
    filing: Filing
    if clean in _MAPPED:
        filing = (_AS_MAPPED, clean)
    elif clean.startswith(_GROUPS):
        group = next(g for g in _GROUPS if clean.startswith(g))
        position = index_of(clean[len(group) :])
        filing = (_GROUP_ONLY, group) if position is None else (_IN_GROUP, group, *position)
    elif clean in _TOKEN_ATTRS:
        filing = (_AS_TOKENS, *_TOKEN_ATTRS[clean])
    else:
        filing = (_AS_REST, clean)
    if len(_FILED) < _MAX_FILED and len(key) <= _MAX_FILED_CHARS:
        _FILED[key] = filing
    return filing


def _split(pairs: Iterable[KeyValue]) -> _Split:
    # Plain local dicts, the _Split made at the end: this loop runs for every attribute.
    mapped: Attributes = {}
    groups: Groups = {}
    tokens: dict[str, tuple[int, Any]] = {}
    rest: Attributes = {}
    any_value, filed = attr.any_value, _FILED.get
    for pair in pairs:
        key, raw = pair.key, pair.value
        value = raw.string_value  # most values: any_value's first test, without the call
        if not value or "\x00" in value:
            value = any_value(raw)
        filing = filed(key) or _filing(key)
        where = filing[0]
        if where == _AS_MAPPED:
            mapped[filing[1]] = value
        elif where == _AS_REST:
            rest[filing[1]] = value
        elif where == _IN_GROUP:
            groups.setdefault(filing[1], {}).setdefault(filing[2], {})[filing[3]] = value
        elif where == _AS_TOKENS:
            name, rank = filing[1], filing[2]
            if rank < tokens.get(name, (rank + 1, None))[0]:
                tokens[name] = (rank, value)
        else:  # a group's key without an index or a field: dropped
            groups.setdefault(filing[1], {})
    return _Split(mapped, groups, tokens, rest)


def _payloads(
    attrs: Attributes, groups: Groups, events: list[tuple[str, Attributes]]
) -> tuple[Any, Any]:
    inputs, outputs = span_messages(attrs, groups, events)
    value_in = value_out = None
    if "input.value" in attrs:
        value_in = json_or_text(attrs["input.value"], attrs.get("input.mime_type"))
    if "output.value" in attrs:
        value_out = json_or_text(attrs["output.value"], attrs.get("output.mime_type"))
    if value_in is None and "gen_ai.tool.call.arguments" in attrs:
        value_in = parsed_json(attrs["gen_ai.tool.call.arguments"])
    if value_out is None and "gen_ai.tool.call.result" in attrs:
        value_out = parsed_json(attrs["gen_ai.tool.call.result"])
    return (
        {"messages": inputs} if inputs else value_in,
        {"messages": outputs} if outputs else value_out,
    )


def _span_metadata(attrs: Attributes, split: _Split, own: Any, scope_name: str) -> Attributes:
    tools = tool_definitions(attrs, split.groups)
    if not split.rest and not tools and not scope_name and not isinstance(own, dict):
        return {}  # most spans: every attribute was mapped to a field
    metadata: Attributes = dict(own) if isinstance(own, dict) else {}
    for key, value in split.rest.items():
        metadata.setdefault(key, value)
    if tools:
        metadata["tools"] = tools
    if scope_name:
        metadata["otel.scope.name"] = scope_name
    return attr.bounded_metadata(metadata)


def map_span(
    span: Span,
    ids: tuple[bytes, bytes, bytes],
    scope_name: str,
    resource: Attributes,
) -> Mapped:
    """`ids`: the span's trace, span and parent IDs, as read (and checked) by the caller;
    `scope_name`: its instrumentation scope's name, storable."""
    trace_id, span_id, parent = ids
    split = _split(span.attributes)
    attrs = split.mapped
    own_metadata = parsed_json(attrs["metadata"]) if "metadata" in attrs else None
    events = [(e.name, attr.attributes(e.attributes)) for e in span.events] if span.events else []
    is_root = not parent or parent == _ZERO_SPAN
    started = _time(span.start_time_unix_nano)
    end = span.end_time_unix_nano
    ended = _time(end) if end else None
    code = span.status.code
    status = _STATUS.get(code, "UNSET")
    span_input, span_output = _payloads(attrs, split.groups, events)
    tail = trace_id[8:]
    # Every SpanCreate field, in its order: service.py makes this dict the model's own.
    body = {
        "span_id": as_uuid(tail + span_id),
        "parent_span_id": None if is_root else as_uuid(tail + parent),
        "name": attr.text(span.name[:MAX_NAME_CHARS]) or "span",
        "kind": _kind(attrs),
        "status": status,
        "input": span_input,
        "output": span_output,
        "model": _model(attrs),
        "token_usage": _tokens(split.tokens) if split.tokens else None,
        "metadata": _span_metadata(attrs, split, own_metadata, scope_name),
        "started_at": started,
        # a clock that went backwards must not make the span unstorable
        "ended_at": max(ended, started) if ended is not None else None,
        "error": _error(span, code, events),
        "completion_start_time": None,
        "model_parameters": _parameters(attrs, split.rest),
        "cost": None,
    }
    tags = attrs.get("tag.tags")
    return Mapped(
        body,
        is_root,
        status,
        # the first of SESSION_KEYS that is set
        attrs.get("session.id") or attrs.get("gen_ai.conversation.id") or None,
        attrs.get("user.id"),
        tags if isinstance(tags, list) else [],
        resource,
        own_metadata if isinstance(own_metadata, dict) else {},
    )

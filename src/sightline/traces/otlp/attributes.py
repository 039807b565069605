"""OTLP attribute values as plain Python values, and the bounds kept on what is stored.

Every value made here is storable as it is (strings without NUL, finite numbers, JSON
checked as it is parsed), which lets validation skip its per-value checks (service.py)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from itertools import islice
from typing import Any

import orjson
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from sightline.traces.validation import may_hold_huge_integers, storable_body

# What lands in span metadata is bounded: a framework may set hundreds of attributes.
MAX_METADATA_KEYS = 128
MAX_METADATA_STRING = 4096
MAX_METADATA_ITEMS = 128

Attributes = dict[str, Any]


def text(value: str) -> str:
    # PostgreSQL cannot store NUL in text or JSON; protobuf strings may hold it.
    return value.replace("\x00", "\ufffd") if "\x00" in value else value


def any_value(value: AnyValue) -> Any:
    string = value.string_value
    if string:  # most values: one field read instead of WhichOneof, and text() inlined
        return string if "\x00" not in string else string.replace("\x00", "\ufffd")
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return string
    if kind == "bool_value":
        return value.bool_value
    if kind == "int_value":
        return value.int_value
    if kind == "double_value":
        number = value.double_value
        # JSON has no NaN or Infinity: kept as their names instead of refusing the span.
        return number if math.isfinite(number) else str(number)
    if kind == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return attributes(value.kvlist_value.values)
    if kind == "bytes_value":
        return value.bytes_value.hex()
    return None


def attributes(pairs: Iterable[KeyValue]) -> Attributes:
    return {text(pair.key): any_value(pair.value) for pair in pairs}


_NOT_DIGITS = bytes(b for b in range(256) if not 0x30 <= b <= 0x39)


def _has_digit_run(raw: bytes) -> bool:
    """Whether `raw` has the 19 digits that a run of 19 digits needs: a cheap test in C
    (deleting the other bytes) that spares most values the regex's scan of every byte."""
    return len(raw) >= 19 and len(raw.translate(None, _NOT_DIGITS)) >= 19


def _loads(text: str) -> tuple[Any] | None:
    """JSON text as a value that is certainly storable (so validation may skip its checks),
    or None. orjson refuses NaN, Infinity and lone surrogates; what could hold NUL, integers
    beyond 64 bits or too deep a nesting is left as text."""
    raw = text.encode()
    if _has_digit_run(raw) and may_hold_huge_integers(raw):
        return None
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return (value,) if storable_body(raw, value) else None


def json_or_text(value: Any, mime_type: Any = None) -> Any:
    """`input.value` / `output.value`: parsed when the mime type says JSON, else as sent."""
    if not isinstance(value, str) or mime_type != "application/json":
        return value
    parsed = _loads(value)
    return value if parsed is None else parsed[0]


def parsed_json(value: Any) -> Any:
    """An attribute that holds JSON text (GenAI messages, invocation parameters): parsed,
    or None when it is not (storable) JSON."""
    if not isinstance(value, str):
        return value
    parsed = _loads(value)
    return None if parsed is None else parsed[0]


def bounded(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_METADATA_STRING:
        return value[:MAX_METADATA_STRING] + "…"
    if isinstance(value, list):
        return [bounded(v) for v in value[:MAX_METADATA_ITEMS]]
    if isinstance(value, dict):
        return {k: bounded(v) for k, v in list(value.items())[:MAX_METADATA_ITEMS]}
    return value


def bounded_metadata(values: Attributes) -> Attributes:
    # islice, not a list of every item: most spans have far fewer keys than the bound
    return {k: bounded(v) for k, v in islice(values.items(), MAX_METADATA_KEYS)}

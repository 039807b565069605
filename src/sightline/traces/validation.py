"""Field types and limits for trace ingestion.

Everything accepted here must be storable on both databases: PostgreSQL's JSONB rejects
NUL characters and NaN, and neither driver can encode lone UTF-16 surrogates, so all of
those are refused with a 422 that names the field instead of failing later with a 500.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

import orjson
from pydantic import (
    AfterValidator,
    Field,
    Strict,
    StringConstraints,
    ValidationInfo,
)

from sightline.kit.types import CleanStr, Timestamp, check_text, trusted

MAX_NAME_CHARS = 512
MAX_SHORT_CHARS = 255
MAX_TAGS = 100
MAX_TAG_CHARS = 255
MAX_SPANS_PER_REQUEST = 500
MAX_IDS_PER_REQUEST = 500
# Token counts land in 32-bit integer columns.
MAX_TOKEN_COUNT = 2**31 - 1
# JSON payloads: integers must fit a signed 64-bit integer (what every JSON reader and both
# drivers read back exactly), and nesting stops at 200 levels: a read wraps a payload in a
# few levels of its own (a session holds traces that hold spans), and orjson, which writes
# the answers, stops at 254.
MIN_JSON_INT = -(2**63)
MAX_JSON_INT = 2**63 - 1
MAX_JSON_DEPTH = 200
_ORJSON_DEPTH = 254
# One more than the difference: orjson does not count an empty innermost container, so the
# fast paths may send a value at the limit to the exact walk, but never pass one beyond it.
_HEADROOM = _ORJSON_DEPTH - MAX_JSON_DEPTH + 1
# 19 digits or more: an integer that may be outside the signed 64-bit range (or digits
# inside a string, which only costs the slower, exact path).
_LONG_INTEGER = re.compile(rb"\d{19,}")

# In JSON text, NUL and lone surrogates can only be written as these escapes (raw control
# characters and invalid UTF-8 are refused by the parser).
_UNSTORABLE_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")


def storable_body(body: bytes, parsed: Any) -> bool:
    """Whether every value parsed from this JSON body is storable, so that validation can
    skip the per-value checks (a third of its cost on large traces). Conservative: an
    escaped backslash followed by `u0000` also counts as unstorable, and so does a body that
    nests deeper than a payload may (its payloads then get the exact check)."""
    if b"\\u" in body and _UNSTORABLE_ESCAPE.search(body) is not None:
        return False
    if body.count(b"[") + body.count(b"{") <= MAX_JSON_DEPTH:
        return True  # cannot be too deep
    try:
        _dumps_within_depth(parsed)
    except TypeError:
        return False
    return True


def may_hold_huge_integers(body: bytes) -> bool:
    """Whether a JSON body must be parsed exactly (see traces.routes)."""
    return _LONG_INTEGER.search(body) is not None


def _dumps_within_depth(value: Any) -> bytes:
    """orjson's serialisation of ``value``; wrapped in _HEADROOM lists first, so that
    orjson's own depth limit raises TypeError for what nests deeper than MAX_JSON_DEPTH."""
    wrapped = value
    for _ in range(_HEADROOM):
        wrapped = [wrapped]
    return orjson.dumps(wrapped)[_HEADROOM:-_HEADROOM]


def _check_json(value: Any) -> Any:
    """Fast path in C: orjson refuses lone surrogates, integers beyond 64 bits and nesting
    deeper than MAX_JSON_DEPTH (and what is not plain JSON), escapes NUL as \\u0000 and
    writes NaN and Infinity as null, so a value that serialises without any of those signs
    is fine. Anything else gets the exact walk, which names the problem."""
    try:
        dumped = _dumps_within_depth(value)
    except TypeError:
        return _walk_json(value)
    if (
        b"\\u0000" in dumped
        or (b"null" in dumped and orjson.loads(dumped) != value)
        or _LONG_INTEGER.search(dumped) is not None
    ):
        return _walk_json(value)
    return value


def _walk_json(value: Any) -> Any:
    """Walks any JSON value iteratively (deep nesting cannot overflow the stack)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            check_text(item)
        elif isinstance(item, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise ValueError(f"must not be nested more than {MAX_JSON_DEPTH} levels deep")
            if isinstance(item, dict):
                for key, child in item.items():
                    check_text(str(key))
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, float) and not math.isfinite(item):
            raise ValueError("must not contain NaN or Infinity")
        elif isinstance(item, int) and not MIN_JSON_INT <= item <= MAX_JSON_INT:
            raise ValueError(
                "must not contain integers outside the signed 64-bit range "
                "(-2^63 to 2^63-1); send larger numbers as strings"
            )
    return value


def _json(value: Any, info: ValidationInfo) -> Any:
    return value if trusted(info) else _check_json(value)


Instant = Timestamp
Name = Annotated[CleanStr, StringConstraints(min_length=1, max_length=MAX_NAME_CHARS)]
ShortStr = Annotated[CleanStr, StringConstraints(max_length=MAX_SHORT_CHARS)]
Tag = Annotated[CleanStr, StringConstraints(min_length=1, max_length=MAX_TAG_CHARS)]
Tags = Annotated[list[Tag], Field(max_length=MAX_TAGS)]
JsonValue = Annotated[Any, AfterValidator(_json)]
JsonObject = Annotated[dict[str, Any], AfterValidator(_json)]
TokenCount = Annotated[int, Strict(), Field(ge=0, le=MAX_TOKEN_COUNT)]
TokenUsage = dict[CleanStr, TokenCount]
# Costs are amounts spent: negative ones would make totals and analytics lie.
CostValue = Annotated[float, Strict(), Field(ge=0, allow_inf_nan=False)]
Cost = dict[CleanStr, CostValue]

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

# In JSON text, NUL and lone surrogates can only be written as these escapes (raw control
# characters and invalid UTF-8 are refused by the parser).
_UNSTORABLE_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")


def storable_body(body: bytes) -> bool:
    """Whether every string parsed from this JSON body is storable, so that validation can
    skip the per-value checks (a third of its cost on large traces). Conservative: an
    escaped backslash followed by `u0000` also counts as unstorable."""
    return b"\\u" not in body or _UNSTORABLE_ESCAPE.search(body) is None


def _check_json(value: Any) -> Any:
    """Fast path in C: orjson refuses lone surrogates (and what is not plain JSON), escapes
    NUL as \\u0000 and writes NaN and Infinity as null, so a value that serialises without
    either sign is fine. Anything else gets the exact walk, which names the problem."""
    try:
        dumped = orjson.dumps(value)
    except TypeError:
        return _walk_json(value)
    if b"\\u0000" in dumped or (b"null" in dumped and orjson.loads(dumped) != value):
        return _walk_json(value)
    return value


def _walk_json(value: Any) -> Any:
    """Walks any JSON value iteratively (deep nesting cannot overflow the stack)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            check_text(item)
        elif isinstance(item, dict):
            for key, child in item.items():
                check_text(str(key))
                stack.append(child)
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, float) and not math.isfinite(item):
            raise ValueError("must not contain NaN or Infinity")
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
CostValue = Annotated[float, Strict(), Field(allow_inf_nan=False)]
Cost = dict[CleanStr, CostValue]

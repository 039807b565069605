"""Field types shared by every domain's request and response schemas.

Everything accepted must be storable on both databases: PostgreSQL refuses NUL characters
in text and JSON, and neither driver can encode lone UTF-16 surrogates, so `CleanStr`
refuses both with a message naming the problem (a 422 naming the field, never a 500).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, Field, PlainSerializer, ValidationInfo

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# Validation context key: set when the values come from a JSON body known to hold neither
# (see traces.validation.storable_body), so the per-value checks can be skipped.
STORABLE_BODY = "storable_body"


def _as_utc(value: datetime) -> datetime:
    # Naive inputs are read as UTC, never in the server's local zone (PandaProbe bug 32).
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:00-05:00 has no UTC equivalent
        raise ValueError("datetime is out of range once converted to UTC") from None


def _isoformat(value: datetime) -> str:
    return _as_utc(value).isoformat()


# Responses write `+00:00` (Python isoformat), as PandaProbe does, not Pydantic's `Z`.
Timestamp = Annotated[
    datetime, AfterValidator(_as_utc), PlainSerializer(_isoformat, return_type=str)
]


def check_text(value: str) -> str:
    """The storable-text rule: no NUL, no lone surrogates."""
    if value.isascii() and "\x00" not in value:  # the common case, without the regex
        return value
    if _UNSTORABLE.search(value) is not None:
        if "\x00" in value:
            raise ValueError("must not contain NUL (\\u0000) characters")
        raise ValueError("must not contain unpaired UTF-16 surrogates")
    return value


def trusted(info: ValidationInfo) -> bool:
    return bool(info.context and info.context.get(STORABLE_BODY))


def _text(value: str, info: ValidationInfo) -> str:
    return value if trusted(info) else check_text(value)


# The check comes before any length constraint: pydantic-core's own length check would
# refuse a lone surrogate with a vaguer message than ours.
CleanStr = Annotated[str, AfterValidator(_text)]
Name255 = Annotated[CleanStr, Field(min_length=1, max_length=255)]

"""Types shared by every domain's request and response schemas."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, PlainSerializer

T = TypeVar("T")


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


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL (\\u0000) characters")
    return value


NulFreeStr = Annotated[str, AfterValidator(_no_nul)]


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int

"""Query parameters of the list and analytics endpoints, parsed into plain values.

Every parameter is validated (enums, timestamps, ranges, NUL-free strings), so a bad query
answers 422 naming `query -> <param>` instead of reaching the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from fastapi import Query

from sightline.errors import DomainValidationError
from sightline.kit.pagination import Limit, Offset
from sightline.kit.statuses import TraceStatus
from sightline.kit.types import CleanStr
from sightline.traces.validation import MAX_NAME_CHARS, MAX_SHORT_CHARS, MAX_TAGS, Instant


class TraceSortBy(StrEnum):
    started_at = "started_at"
    ended_at = "ended_at"
    name = "name"
    latency = "latency"
    status = "status"


class SessionSortBy(StrEnum):
    recent = "recent"
    trace_count = "trace_count"
    latency = "latency"
    cost = "cost"


class SortOrder(StrEnum):
    asc = "asc"
    desc = "desc"


class AnalyticsMetric(StrEnum):
    volume = "volume"
    errors = "errors"
    latency = "latency"
    cost = "cost"
    tokens = "tokens"
    models = "models"


class Granularity(StrEnum):
    hour = "hour"
    day = "day"
    week = "week"


@dataclass(frozen=True, slots=True)
class Page:
    limit: int
    offset: int


@dataclass(frozen=True, slots=True)
class TraceFilters:
    session_id: str | None = None
    status: TraceStatus | None = None
    user_id: str | None = None
    tags: list[str] = field(default_factory=list)
    name: str | None = None
    started_after: datetime | None = None
    started_before: datetime | None = None


@dataclass(frozen=True, slots=True)
class SessionFilters:
    user_id: str | None = None
    has_error: bool | None = None
    started_after: datetime | None = None
    started_before: datetime | None = None
    tags: list[str] = field(default_factory=list)
    query: str | None = None


@dataclass(frozen=True, slots=True)
class Window:
    started_after: datetime
    started_before: datetime
    granularity: Granularity


ShortQuery = Annotated[CleanStr | None, Query(max_length=MAX_SHORT_CHARS)]
TagsQuery = Annotated[
    list[Annotated[CleanStr, Query(max_length=MAX_SHORT_CHARS)]] | None,
    Query(max_length=MAX_TAGS),
]


def page(limit: Limit = 50, offset: Offset = 0) -> Page:
    return Page(limit, offset)


def session_page(limit: Annotated[int, Query(ge=1, le=1000)] = 200, offset: Offset = 0) -> Page:
    return Page(limit, offset)


def trace_filters(
    session_id: ShortQuery = None,
    status: TraceStatus | None = None,
    user_id: ShortQuery = None,
    tags: TagsQuery = None,
    name: Annotated[CleanStr | None, Query(max_length=MAX_NAME_CHARS)] = None,
    started_after: Instant | None = None,
    started_before: Instant | None = None,
) -> TraceFilters:
    return TraceFilters(
        session_id, status, user_id, tags or [], name, started_after, started_before
    )


def session_filters(
    user_id: ShortQuery = None,
    has_error: bool | None = None,
    started_after: Instant | None = None,
    started_before: Instant | None = None,
    tags: TagsQuery = None,
    query: ShortQuery = None,
) -> SessionFilters:
    return SessionFilters(user_id, has_error, started_after, started_before, tags or [], query)


def window(
    started_after: Instant,
    started_before: Instant,
    granularity: Granularity = Granularity.day,
) -> Window:
    if started_before <= started_after:
        raise DomainValidationError("started_before must be later than started_after.")
    return Window(started_after, started_before, granularity)

"""What a metric sees: plain, frozen, DB-free views of a trace and its spans.

The executor converts ORM rows into these; nothing in the engine touches the database.
Datetimes are timezone-aware (UTC by convention).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sightline.kit.statuses import TraceStatus


@dataclass(frozen=True, slots=True)
class SpanView:
    span_id: str
    name: str
    kind: str = "OTHER"
    status: str = "UNSET"
    started_at: datetime | None = None
    ended_at: datetime | None = None
    parent_span_id: str | None = None
    input: Any = None
    output: Any = None
    model: str | None = None
    token_usage: dict[str, Any] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


@dataclass(frozen=True, slots=True)
class TraceView:
    trace_id: str
    name: str
    status: str = TraceStatus.COMPLETED
    started_at: datetime | None = None
    ended_at: datetime | None = None
    input: Any = None
    output: Any = None
    metadata: dict[str, Any] = field(default_factory=dict)
    session_id: str | None = None
    user_id: str | None = None
    tags: tuple[str, ...] = ()
    environment: str | None = None
    spans: tuple[SpanView, ...] = ()
    # The trace row's totals (the threshold checks of custom metrics read them); None when
    # the view was built without them.
    latency_ms: float | None = None
    total_cost: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None

"""Response models of sessions (a session is every trace sharing a session_id)."""

from __future__ import annotations

from pydantic import BaseModel

from sightline.kit.types import Timestamp
from sightline.traces.schemas import TraceRead


class SessionSummary(BaseModel):
    session_id: str
    trace_count: int
    first_trace_at: Timestamp
    last_trace_at: Timestamp | None
    total_latency_ms: float | None
    has_error: bool
    user_id: str | None
    tags: list[str]
    total_span_count: int
    total_tokens: int
    total_cost: float


class SessionDetail(SessionSummary):
    traces: list[TraceRead]


class SessionBucket(BaseModel):
    bucket: str
    session_count: int
    avg_traces_per_session: float | None
    avg_session_duration_ms: float | None

"""Response models of trace analytics and the users list."""

from __future__ import annotations

from pydantic import BaseModel

from sightline.kit.types import Timestamp


class AnalyticsBucket(BaseModel):
    bucket: str
    trace_count: int
    error_count: int
    avg_latency_ms: float | None
    p50_latency_ms: float | None
    p90_latency_ms: float | None
    p99_latency_ms: float | None


class TokenCostBucket(BaseModel):
    bucket: str
    total_tokens: int
    prompt_tokens: int
    completion_tokens: int
    total_cost: float


class TopModel(BaseModel):
    model: str
    call_count: int
    total_tokens: int
    total_cost: float


class UserSummary(BaseModel):
    user_id: str
    trace_count: int
    first_seen: Timestamp
    last_seen: Timestamp
    error_count: int

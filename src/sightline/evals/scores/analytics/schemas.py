"""Response models of score analytics (trace scores and session scores share them)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from sightline.kit.types import Timestamp

Granularity = Literal["hour", "day", "week"]
SortOrder = Literal["asc", "desc"]


class ScoreSummary(BaseModel):
    metric_name: str
    avg_score: float | None
    min_score: float | None
    max_score: float | None
    median_score: float | None
    success_count: int  # SUCCESS of any data type, not-applicable findings included
    failed_count: int
    latest_score_at: Timestamp | None
    # SUCCESS without a value (README, "What a score rests on"): counted in success_count, never
    # in the statistics. Sightline's addition; PandaProbe's clients ignore unknown fields.
    not_applicable_count: int = 0


class ScoreTrendPoint(BaseModel):
    bucket: Timestamp | None
    metric_name: str
    avg_score: float
    count: int


class ScoreDistributionBucket(BaseModel):
    bucket: int
    bucket_min: float
    bucket_max: float
    count: int


class SessionHistoryPoint(BaseModel):
    metric_name: str
    score: float | None
    eval_run_id: str | None
    created_at: str | None
    status: str


class SessionComparisonItem(BaseModel):
    session_id: str
    score: float | None
    evaluated_at: str | None
    eval_run_id: str | None

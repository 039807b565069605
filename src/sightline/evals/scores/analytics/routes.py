"""Score analytics (API.md §3.6, §3.9): trace-score and session-score summaries, trends
and distributions; a session's history; sessions compared by their latest score."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from sightline.dependencies import DbDep, ScopeDep
from sightline.evals.scores.analytics import service as analytics
from sightline.evals.scores.analytics.schemas import (
    Granularity,
    ScoreDistributionBucket,
    ScoreSummary,
    ScoreTrendPoint,
    SessionComparisonItem,
    SessionHistoryPoint,
    SortOrder,
)
from sightline.evals.scores.repository import ScoreFilter
from sightline.kit.pagination import Limit, Offset, Page
from sightline.kit.query import DateQuery, MetricNameQuery, TextQuery
from sightline.kit.types import Timestamp

router = APIRouter(prefix="/evaluations", tags=["score analytics"])


@router.get("/analytics/trace-scores/summary", response_model=list[ScoreSummary])
async def trace_score_summary(
    scope: ScopeDep,
    db: DbDep,
    date_from: Timestamp | None = None,
    date_to: Timestamp | None = None,
) -> list[ScoreSummary]:
    where = ScoreFilter(date_from=date_from, date_to=date_to)
    return await analytics.trace_summary(db, scope.project_id, where)


@router.get("/analytics/trace-scores/trend", response_model=list[ScoreTrendPoint])
async def trace_score_trend(
    scope: ScopeDep,
    db: DbDep,
    metric_name: MetricNameQuery,
    date_from: Timestamp | None = None,
    date_to: Timestamp | None = None,
    granularity: Granularity = "day",
) -> list[ScoreTrendPoint]:
    where = ScoreFilter(name=metric_name, date_from=date_from, date_to=date_to)
    return await analytics.trace_trend(db, scope.project_id, where, granularity)


@router.get("/analytics/trace-scores/distribution", response_model=list[ScoreDistributionBucket])
async def trace_score_distribution(
    scope: ScopeDep,
    db: DbDep,
    metric_name: MetricNameQuery,
    date_from: Timestamp | None = None,
    date_to: Timestamp | None = None,
    buckets: Annotated[int, Query(ge=1, le=100)] = 10,
) -> list[ScoreDistributionBucket]:
    where = ScoreFilter(name=metric_name, date_from=date_from, date_to=date_to)
    return await analytics.trace_distribution(db, scope.project_id, where, buckets)


# -- analytics ---------------------------------------------------------------------------
@router.get("/analytics/session-scores/summary")
async def session_score_summary(
    scope: ScopeDep, db: DbDep, date_from: DateQuery = None, date_to: DateQuery = None
) -> list[ScoreSummary]:
    return await analytics.session_summary(db, scope.project_id, date_from, date_to)


@router.get("/analytics/session-scores/trend")
async def session_score_trend(
    scope: ScopeDep,
    db: DbDep,
    metric_name: MetricNameQuery,
    date_from: DateQuery = None,
    date_to: DateQuery = None,
    granularity: Granularity = "day",
) -> list[ScoreTrendPoint]:
    return await analytics.session_trend(
        db, scope.project_id, metric_name, date_from, date_to, granularity
    )


@router.get("/analytics/session-scores/distribution")
async def session_score_distribution(
    scope: ScopeDep,
    db: DbDep,
    metric_name: MetricNameQuery,
    date_from: DateQuery = None,
    date_to: DateQuery = None,
    buckets: Annotated[int, Query(ge=1, le=100)] = 10,
) -> list[ScoreDistributionBucket]:
    return await analytics.session_distribution(
        db, scope.project_id, metric_name, date_from, date_to, buckets
    )


@router.get("/analytics/session-scores/history/{session_id}")
async def session_score_history(
    session_id: str,
    scope: ScopeDep,
    db: DbDep,
    metric_name: TextQuery = None,
    limit: Limit = 50,
) -> list[SessionHistoryPoint]:
    return await analytics.session_history(db, scope.project_id, session_id, metric_name, limit)


@router.get("/analytics/session-scores/comparison")
async def session_score_comparison(
    scope: ScopeDep,
    db: DbDep,
    metric_name: MetricNameQuery,
    sort_order: SortOrder = "asc",
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Offset = 0,
) -> Page[SessionComparisonItem]:
    items, total = await analytics.session_comparison(
        db, scope.project_id, metric_name, sort_order, limit, offset
    )
    return Page(items=items, total=total, limit=limit, offset=offset)

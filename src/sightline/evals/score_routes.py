"""Trace scores and their analytics (API.md §3.5–§3.6)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from sightline.api_types import Page, Timestamp
from sightline.evals import analytics, scores
from sightline.evals.schemas import (
    Granularity,
    ScoreDataType,
    ScoreDistributionBucket,
    ScoreSource,
    ScoreStatus,
    ScoreSummary,
    ScoreTrendPoint,
    TraceScoreCreate,
    TraceScoreResponse,
    TraceScoreUpdate,
)
from sightline.evals.score_repository import ScoreFilter
from sightline.identity.dependencies import ScopeDep, SessionDep

router = APIRouter(prefix="/evaluations", tags=["scores"])

Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0)]
MetricName = Annotated[str, Query(min_length=1, max_length=255)]


def _response(score: object) -> TraceScoreResponse:
    return TraceScoreResponse.model_validate(score)


@router.post("/trace-scores", status_code=201, response_model=TraceScoreResponse)
async def create_trace_score(
    body: TraceScoreCreate, scope: ScopeDep, session: SessionDep
) -> TraceScoreResponse:
    return _response(await scores.create_score(session, scope.project_id, body))


@router.get("/trace-scores", response_model=Page[TraceScoreResponse])
async def list_trace_scores(
    scope: ScopeDep,
    session: SessionDep,
    trace_id: uuid.UUID | None = None,
    name: Annotated[str | None, Query(max_length=255)] = None,
    source: ScoreSource | None = None,
    status: ScoreStatus | None = None,
    data_type: ScoreDataType | None = None,
    eval_run_id: uuid.UUID | None = None,
    environment: Annotated[str | None, Query(max_length=255)] = None,
    date_from: Timestamp | None = None,
    date_to: Timestamp | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[TraceScoreResponse]:
    where = ScoreFilter(
        trace_id=trace_id,
        name=name,
        source=source,
        status=status,
        data_type=data_type,
        eval_run_id=eval_run_id,
        environment=environment,
        date_from=date_from,
        date_to=date_to,
    )
    rows, total = await scores.list_scores(session, scope.project_id, where, limit, offset)
    return Page(items=[_response(r) for r in rows], total=total, limit=limit, offset=offset)


@router.get("/trace-scores/{trace_id}", response_model=list[TraceScoreResponse])
async def latest_trace_scores(
    trace_id: uuid.UUID, scope: ScopeDep, session: SessionDep
) -> list[TraceScoreResponse]:
    return [_response(r) for r in await scores.latest_scores(session, scope.project_id, trace_id)]


@router.patch("/trace-scores/{score_id}", response_model=TraceScoreResponse)
async def update_trace_score(
    score_id: uuid.UUID, body: TraceScoreUpdate, scope: ScopeDep, session: SessionDep
) -> TraceScoreResponse:
    return _response(await scores.update_score(session, scope.project_id, score_id, body))


@router.delete("/trace-scores/{score_id}", status_code=204)
async def delete_trace_score(score_id: uuid.UUID, scope: ScopeDep, session: SessionDep) -> Response:
    await scores.delete_score(session, scope.project_id, score_id)
    return Response(status_code=204)


@router.get("/analytics/trace-scores/summary", response_model=list[ScoreSummary])
async def trace_score_summary(
    scope: ScopeDep,
    session: SessionDep,
    date_from: Timestamp | None = None,
    date_to: Timestamp | None = None,
) -> list[ScoreSummary]:
    where = ScoreFilter(date_from=date_from, date_to=date_to)
    return await analytics.summary(session, scope.project_id, where)


@router.get("/analytics/trace-scores/trend", response_model=list[ScoreTrendPoint])
async def trace_score_trend(
    scope: ScopeDep,
    session: SessionDep,
    metric_name: MetricName,
    date_from: Timestamp | None = None,
    date_to: Timestamp | None = None,
    granularity: Granularity = "day",
) -> list[ScoreTrendPoint]:
    where = ScoreFilter(name=metric_name, date_from=date_from, date_to=date_to)
    return await analytics.trend(session, scope.project_id, where, granularity)


@router.get("/analytics/trace-scores/distribution", response_model=list[ScoreDistributionBucket])
async def trace_score_distribution(
    scope: ScopeDep,
    session: SessionDep,
    metric_name: MetricName,
    date_from: Timestamp | None = None,
    date_to: Timestamp | None = None,
    buckets: Annotated[int, Query(ge=1, le=100)] = 10,
) -> list[ScoreDistributionBucket]:
    where = ScoreFilter(name=metric_name, date_from=date_from, date_to=date_to)
    return await analytics.distribution(session, scope.project_id, where, buckets)

"""Session runs, session scores, their analytics and the session-metric list
(API.md §3.3, §3.7–§3.9): parse, call one service function, return a schema."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from sightline.api_types import NulFreeStr, Page, Timestamp
from sightline.evals import session_analytics as analytics
from sightline.evals import session_service as service
from sightline.evals.dependencies import QueueDep
from sightline.evals.schemas import EvalRunResponse, ScoreSummary
from sightline.evals.session_schemas import (
    ScoreDistributionBucket,
    ScoreTrendPoint,
    SessionBatchRunCreate,
    SessionComparisonItem,
    SessionHistoryPoint,
    SessionMetricInfo,
    SessionRunCreate,
    SessionScoreResponse,
)
from sightline.identity.dependencies import ScopeDep, SessionDep, SettingsDep

router = APIRouter(prefix="/evaluations", tags=["session evaluations"])

Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0, le=10**9)]
DateParam = Annotated[Timestamp | None, Query()]
TextParam = Annotated[NulFreeStr | None, Query(max_length=255)]
RunStatus = Literal["PENDING", "RUNNING", "COMPLETED", "FAILED"]


def _runs(rows: list[object], total: int, limit: int, offset: int) -> Page[EvalRunResponse]:
    items = [EvalRunResponse.model_validate(r) for r in rows]
    return Page(items=items, total=total, limit=limit, offset=offset)


def _scores(rows: list[object]) -> list[SessionScoreResponse]:
    return [SessionScoreResponse.model_validate(r) for r in rows]


@router.get("/session-metrics")
async def list_session_metrics(_scope: ScopeDep) -> list[SessionMetricInfo]:
    return service.list_session_metrics()


# -- runs --------------------------------------------------------------------------------
@router.post("/session-runs", status_code=202)
async def create_session_run(
    body: SessionRunCreate,
    queue: QueueDep,
    scope: ScopeDep,
    session: SessionDep,
    settings: SettingsDep,
) -> EvalRunResponse:
    run = await service.create_session_run(session, scope.project_id, body, settings, queue)
    return EvalRunResponse.model_validate(run)


@router.post("/session-runs/batch", status_code=202)
async def create_session_batch_run(
    body: SessionBatchRunCreate,
    queue: QueueDep,
    scope: ScopeDep,
    session: SessionDep,
    settings: SettingsDep,
) -> EvalRunResponse:
    run = await service.create_session_batch_run(session, scope.project_id, body, settings, queue)
    return EvalRunResponse.model_validate(run)


@router.get("/session-runs")
async def list_session_runs(
    scope: ScopeDep,
    session: SessionDep,
    status: RunStatus | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[EvalRunResponse]:
    rows, total = await service.list_session_runs(session, scope.project_id, status, limit, offset)
    return _runs(list(rows), total, limit, offset)


@router.get("/session-runs/{run_id}")
async def get_session_run(
    run_id: uuid.UUID, scope: ScopeDep, session: SessionDep
) -> EvalRunResponse:
    run = await service.get_session_run(session, scope.project_id, run_id)
    return EvalRunResponse.model_validate(run)


@router.delete("/session-runs/{run_id}", status_code=204)
async def delete_session_run(
    run_id: uuid.UUID, scope: ScopeDep, session: SessionDep, delete_scores: bool = False
) -> Response:
    await service.delete_session_run(session, scope.project_id, run_id, delete_scores)
    return Response(status_code=204)


@router.post("/session-runs/{run_id}/retry", status_code=202)
async def retry_session_run(
    run_id: uuid.UUID,
    queue: QueueDep,
    scope: ScopeDep,
    session: SessionDep,
    settings: SettingsDep,
) -> EvalRunResponse:
    run = await service.retry_session_run(session, scope.project_id, run_id, settings, queue)
    return EvalRunResponse.model_validate(run)


@router.get("/session-runs/{run_id}/scores")
async def list_session_run_scores(
    run_id: uuid.UUID, scope: ScopeDep, session: SessionDep
) -> list[SessionScoreResponse]:
    return _scores(list(await service.list_run_scores(session, scope.project_id, run_id)))


# -- scores ------------------------------------------------------------------------------
@router.get("/session-scores")
async def list_session_scores(
    scope: ScopeDep,
    session: SessionDep,
    session_id: TextParam = None,
    name: TextParam = None,
    source: Literal["AUTOMATED", "ANNOTATION", "PROGRAMMATIC"] | None = None,
    status: Literal["SUCCESS", "FAILED", "PENDING"] | None = None,
    eval_run_id: uuid.UUID | None = None,
    date_from: DateParam = None,
    date_to: DateParam = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[SessionScoreResponse]:
    rows, total = await service.list_scores(
        session, scope.project_id, limit=limit, offset=offset,
        session_id=session_id, name=name, source=source, status=status,
        eval_run_id=eval_run_id, date_from=date_from, date_to=date_to,
    )  # fmt: skip
    return Page(items=_scores(list(rows)), total=total, limit=limit, offset=offset)


@router.get("/session-scores/{session_id}")
async def get_session_scores(
    session_id: str, scope: ScopeDep, session: SessionDep
) -> list[SessionScoreResponse]:
    return _scores(list(await service.list_session_scores(session, scope.project_id, session_id)))


@router.delete("/session-scores/{score_id}", status_code=204)
async def delete_session_score(
    score_id: uuid.UUID, scope: ScopeDep, session: SessionDep
) -> Response:
    await service.delete_score(session, scope.project_id, score_id)
    return Response(status_code=204)


# -- analytics ---------------------------------------------------------------------------
@router.get("/analytics/session-scores/summary")
async def session_score_summary(
    scope: ScopeDep, session: SessionDep, date_from: DateParam = None, date_to: DateParam = None
) -> list[ScoreSummary]:
    return await analytics.summary(session, scope.project_id, date_from, date_to)


@router.get("/analytics/session-scores/trend")
async def session_score_trend(
    scope: ScopeDep,
    session: SessionDep,
    metric_name: Annotated[NulFreeStr, Query(min_length=1, max_length=255)],
    date_from: DateParam = None,
    date_to: DateParam = None,
    granularity: analytics.Granularity = "day",
) -> list[ScoreTrendPoint]:
    return await analytics.trend(
        session, scope.project_id, metric_name, date_from, date_to, granularity
    )


@router.get("/analytics/session-scores/distribution")
async def session_score_distribution(
    scope: ScopeDep,
    session: SessionDep,
    metric_name: Annotated[NulFreeStr, Query(min_length=1, max_length=255)],
    date_from: DateParam = None,
    date_to: DateParam = None,
    buckets: Annotated[int, Query(ge=1, le=100)] = 10,
) -> list[ScoreDistributionBucket]:
    return await analytics.distribution(
        session, scope.project_id, metric_name, date_from, date_to, buckets
    )


@router.get("/analytics/session-scores/history/{session_id}")
async def session_score_history(
    session_id: str,
    scope: ScopeDep,
    session: SessionDep,
    metric_name: TextParam = None,
    limit: Limit = 50,
) -> list[SessionHistoryPoint]:
    return await analytics.history(session, scope.project_id, session_id, metric_name, limit)


@router.get("/analytics/session-scores/comparison")
async def session_score_comparison(
    scope: ScopeDep,
    session: SessionDep,
    metric_name: Annotated[NulFreeStr, Query(min_length=1, max_length=255)],
    sort_order: analytics.SortOrder = "asc",
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Offset = 0,
) -> Page[SessionComparisonItem]:
    items, total = await analytics.comparison(
        session, scope.project_id, metric_name, sort_order, limit, offset
    )
    return Page(items=items, total=total, limit=limit, offset=offset)

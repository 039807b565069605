"""Evaluation discovery and trace eval runs (API.md §3.3–§3.4)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from sightline.dependencies import DbDep, QueueDep, RunScopeDep, ScopeDep, SettingsDep
from sightline.evals.runs import catalog, service
from sightline.evals.runs.providers import list_providers
from sightline.evals.runs.schemas import (
    EvalRunResponse,
    MetricInfo,
    ProviderInfo,
    RunTemplate,
    TraceRunBatchCreate,
    TraceRunCreate,
)
from sightline.evals.scores import service as scores
from sightline.evals.scores.schemas import TraceScoreResponse
from sightline.kit.pagination import Limit, Offset, Page
from sightline.kit.statuses import RunStatus

router = APIRouter(prefix="/evaluations", tags=["evaluations"])
TRACE = service.TRACE


@router.get("/providers", response_model=list[ProviderInfo])
async def get_providers(_scope: ScopeDep, settings: SettingsDep) -> list[ProviderInfo]:
    return [ProviderInfo.model_validate(p) for p in list_providers(settings)]


@router.get("/trace-metrics", response_model=list[MetricInfo])
async def get_trace_metrics(scope: ScopeDep, db: DbDep) -> list[MetricInfo]:
    """The built-in trace metrics, then the project's own (category "custom")."""
    return await catalog.list_trace_metrics(db, scope.project_id)


@router.get("/trace-runs/template", response_model=RunTemplate)
async def get_run_template(
    scope: ScopeDep, db: DbDep, settings: SettingsDep, metric: Annotated[str, Query()]
) -> RunTemplate:
    return await catalog.run_template(db, scope.project_id, settings, metric)


def _run_response(run: object) -> EvalRunResponse:
    return EvalRunResponse.model_validate(run)


@router.post("/trace-runs", status_code=202, response_model=EvalRunResponse)
async def create_trace_run(
    body: TraceRunCreate,
    scope: RunScopeDep,
    db: DbDep,
    settings: SettingsDep,
    queue: QueueDep,
) -> EvalRunResponse:
    run = await service.create_trace_run(
        db,
        scope.project_id,
        settings=settings,
        queue=queue,
        metrics=body.metrics,
        filters=body.filters.stored() if body.filters else {},
        sampling_rate=body.sampling_rate,
        model=body.model,
        name=body.name,
        max_cost_usd=body.max_cost_usd,
        use_cache=body.use_cache,
    )
    return _run_response(run)


@router.post("/trace-runs/batch", status_code=202, response_model=EvalRunResponse)
async def create_trace_batch_run(
    body: TraceRunBatchCreate,
    scope: RunScopeDep,
    db: DbDep,
    settings: SettingsDep,
    queue: QueueDep,
) -> EvalRunResponse:
    run = await service.create_trace_run(
        db,
        scope.project_id,
        settings=settings,
        queue=queue,
        metrics=body.metrics,
        trace_ids=body.trace_ids,
        model=body.model,
        name=body.name,
        max_cost_usd=body.max_cost_usd,
        use_cache=body.use_cache,
    )
    return _run_response(run)


@router.get("/trace-runs", response_model=Page[EvalRunResponse])
async def list_trace_runs(
    scope: ScopeDep,
    db: DbDep,
    status: RunStatus | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[EvalRunResponse]:
    found, total = await service.list_runs(db, scope.project_id, TRACE, status, limit, offset)
    return Page(items=[_run_response(r) for r in found], total=total, limit=limit, offset=offset)


@router.get("/trace-runs/{run_id}", response_model=EvalRunResponse)
async def get_trace_run(run_id: uuid.UUID, scope: ScopeDep, db: DbDep) -> EvalRunResponse:
    return await service.get_run_detail(db, scope.project_id, run_id, TRACE)


@router.delete("/trace-runs/{run_id}", status_code=204)
async def delete_trace_run(
    run_id: uuid.UUID, scope: ScopeDep, db: DbDep, delete_scores: bool = False
) -> Response:
    await service.delete_run(db, scope.project_id, run_id, TRACE, delete_scores=delete_scores)
    return Response(status_code=204)


@router.post("/trace-runs/{run_id}/retry", status_code=202, response_model=EvalRunResponse)
async def retry_trace_run(
    run_id: uuid.UUID,
    scope: RunScopeDep,
    db: DbDep,
    settings: SettingsDep,
    queue: QueueDep,
) -> EvalRunResponse:
    run = await service.retry_run(
        db, scope.project_id, run_id, TRACE, settings=settings, queue=queue
    )
    return _run_response(run)


@router.get("/trace-runs/{run_id}/scores", response_model=list[TraceScoreResponse])
async def get_trace_run_scores(
    run_id: uuid.UUID, scope: ScopeDep, db: DbDep
) -> list[TraceScoreResponse]:
    rows = await scores.run_scores(db, scope.project_id, run_id)
    return [TraceScoreResponse.model_validate(r) for r in rows]

"""Session runs and the session-metric list (API.md §3.3, §3.7): parse, call one service
function, return a schema."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from sightline.dependencies import DbDep, QueueDep, RunScopeDep, ScopeDep, SettingsDep
from sightline.evals.runs.schemas import EvalRunResponse
from sightline.evals.scores import service as scores
from sightline.evals.scores.schemas import SessionScoreResponse
from sightline.evals.sessions import service
from sightline.evals.sessions.schemas import (
    SessionBatchRunCreate,
    SessionMetricInfo,
    SessionRunCreate,
)
from sightline.kit.pagination import Limit, Offset, Page
from sightline.kit.statuses import RunStatus

router = APIRouter(prefix="/evaluations", tags=["session evaluations"])


def _runs(rows: list[object], total: int, limit: int, offset: int) -> Page[EvalRunResponse]:
    items = [EvalRunResponse.model_validate(r) for r in rows]
    return Page(items=items, total=total, limit=limit, offset=offset)


@router.get("/session-metrics")
async def list_session_metrics(_scope: ScopeDep) -> list[SessionMetricInfo]:
    return service.list_session_metrics()


# -- runs --------------------------------------------------------------------------------
@router.post("/session-runs", status_code=202)
async def create_session_run(
    body: SessionRunCreate,
    queue: QueueDep,
    scope: RunScopeDep,
    db: DbDep,
    settings: SettingsDep,
) -> EvalRunResponse:
    run = await service.create_session_run(db, scope.project_id, body, settings, queue)
    return EvalRunResponse.model_validate(run)


@router.post("/session-runs/batch", status_code=202)
async def create_session_batch_run(
    body: SessionBatchRunCreate,
    queue: QueueDep,
    scope: RunScopeDep,
    db: DbDep,
    settings: SettingsDep,
) -> EvalRunResponse:
    run = await service.create_session_batch_run(db, scope.project_id, body, settings, queue)
    return EvalRunResponse.model_validate(run)


@router.get("/session-runs")
async def list_session_runs(
    scope: ScopeDep,
    db: DbDep,
    status: RunStatus | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[EvalRunResponse]:
    rows, total = await service.list_session_runs(db, scope.project_id, status, limit, offset)
    return _runs(list(rows), total, limit, offset)


@router.get("/session-runs/{run_id}")
async def get_session_run(run_id: uuid.UUID, scope: ScopeDep, db: DbDep) -> EvalRunResponse:
    return await service.get_session_run(db, scope.project_id, run_id)


@router.delete("/session-runs/{run_id}", status_code=204)
async def delete_session_run(
    run_id: uuid.UUID, scope: ScopeDep, db: DbDep, delete_scores: bool = False
) -> Response:
    await service.delete_session_run(db, scope.project_id, run_id, delete_scores)
    return Response(status_code=204)


@router.post("/session-runs/{run_id}/retry", status_code=202)
async def retry_session_run(
    run_id: uuid.UUID,
    queue: QueueDep,
    scope: RunScopeDep,
    db: DbDep,
    settings: SettingsDep,
) -> EvalRunResponse:
    run = await service.retry_session_run(db, scope.project_id, run_id, settings, queue)
    return EvalRunResponse.model_validate(run)


@router.get("/session-runs/{run_id}/scores")
async def list_session_run_scores(
    run_id: uuid.UUID, scope: ScopeDep, db: DbDep
) -> list[SessionScoreResponse]:
    rows = await scores.session_run_scores(db, scope.project_id, run_id)
    return [SessionScoreResponse.model_validate(r) for r in rows]

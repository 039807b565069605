"""Monitor endpoints (API.md §3.10): parse, call one service function, return a schema."""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter, Response

from sightline.db.types import utcnow
from sightline.dependencies import DbDep, QueueDep, RunScopeDep, ScopeDep, SettingsDep
from sightline.evals.runs.schemas import EvalRunResponse
from sightline.kit.pagination import Limit, Offset, Page
from sightline.kit.statuses import MonitorStatus
from sightline.monitors import service
from sightline.monitors.schemas import MonitorCreate, MonitorResponse, MonitorUpdate
from sightline.monitors.spawn import SpawnContext

router = APIRouter(prefix="/evaluations/monitors", tags=["monitors"])


def _context(queue: QueueDep, settings: SettingsDep) -> SpawnContext:
    return SpawnContext(settings, queue, utcnow)


@router.post("", status_code=201)
async def create_monitor(
    body: MonitorCreate, scope: ScopeDep, db: DbDep, settings: SettingsDep
) -> MonitorResponse:
    monitor = await service.create_monitor(db, scope.project_id, body, settings, utcnow())
    return MonitorResponse.model_validate(monitor)


@router.get("")
async def list_monitors(
    scope: ScopeDep,
    db: DbDep,
    status: Literal[MonitorStatus.ACTIVE, MonitorStatus.PAUSED] | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[MonitorResponse]:
    rows, total = await service.list_monitors(db, scope.project_id, status, limit, offset)
    items = [MonitorResponse.model_validate(m) for m in rows]
    return Page(items=items, total=total, limit=limit, offset=offset)


@router.get("/{monitor_id}")
async def get_monitor(monitor_id: uuid.UUID, scope: ScopeDep, db: DbDep) -> MonitorResponse:
    monitor = await service.get_monitor(db, scope.project_id, monitor_id)
    return MonitorResponse.model_validate(monitor)


@router.patch("/{monitor_id}")
async def update_monitor(
    monitor_id: uuid.UUID,
    body: MonitorUpdate,
    scope: ScopeDep,
    db: DbDep,
    settings: SettingsDep,
) -> MonitorResponse:
    monitor = await service.update_monitor(
        db, scope.project_id, monitor_id, body, settings, utcnow()
    )
    return MonitorResponse.model_validate(monitor)


@router.delete("/{monitor_id}", status_code=204)
async def delete_monitor(monitor_id: uuid.UUID, scope: ScopeDep, db: DbDep) -> Response:
    await service.delete_monitor(db, scope.project_id, monitor_id)
    return Response(status_code=204)


@router.post("/{monitor_id}/pause")
async def pause_monitor(monitor_id: uuid.UUID, scope: ScopeDep, db: DbDep) -> MonitorResponse:
    monitor = await service.pause_monitor(db, scope.project_id, monitor_id, utcnow())
    return MonitorResponse.model_validate(monitor)


@router.post("/{monitor_id}/resume")
async def resume_monitor(monitor_id: uuid.UUID, scope: ScopeDep, db: DbDep) -> MonitorResponse:
    monitor = await service.resume_monitor(db, scope.project_id, monitor_id, utcnow())
    return MonitorResponse.model_validate(monitor)


@router.post("/{monitor_id}/trigger", status_code=202)
async def trigger_monitor(
    monitor_id: uuid.UUID,
    scope: RunScopeDep,
    db: DbDep,
    settings: SettingsDep,
    queue: QueueDep,
) -> EvalRunResponse:
    """Start a run now (cadence and only_if_changed ignored; only_unscored applies).
    A PAUSED monitor answers 409: pausing means "spend nothing" until resumed."""
    run = await service.trigger_monitor(db, scope.project_id, monitor_id, _context(queue, settings))
    return EvalRunResponse.model_validate(run)


@router.get("/{monitor_id}/runs")
async def list_monitor_runs(
    monitor_id: uuid.UUID,
    scope: ScopeDep,
    db: DbDep,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[EvalRunResponse]:
    rows, total = await service.list_monitor_runs(db, scope.project_id, monitor_id, limit, offset)
    items = [EvalRunResponse.model_validate(r) for r in rows]
    return Page(items=items, total=total, limit=limit, offset=offset)

"""A project's own metrics (issue 15): define, list, read, edit (a new version), delete.

``GET /evaluations/metrics/{name}/agreement`` belongs to ``evals/agreement``."""

from __future__ import annotations

from fastapi import APIRouter, Response

from sightline.db.types import utcnow
from sightline.dependencies import DbDep, ScopeDep, SettingsDep
from sightline.evals.metrics import service
from sightline.evals.metrics.schemas import CustomMetricResponse, MetricCreate, MetricUpdate
from sightline.kit.pagination import Limit, Offset, Page

router = APIRouter(prefix="/evaluations/metrics", tags=["custom metrics"])


@router.post("", status_code=201)
async def create_metric(
    body: MetricCreate, scope: ScopeDep, db: DbDep, settings: SettingsDep
) -> CustomMetricResponse:
    row = await service.create_metric(db, scope.project_id, body, settings)
    return service.to_response(row)


@router.get("")
async def list_metrics(
    scope: ScopeDep, db: DbDep, limit: Limit = 50, offset: Offset = 0
) -> Page[CustomMetricResponse]:
    rows, total = await service.list_metrics(db, scope.project_id, limit, offset)
    items = [service.to_response(row) for row in rows]
    return Page(items=items, total=total, limit=limit, offset=offset)


@router.get("/{name}")
async def get_metric(name: str, scope: ScopeDep, db: DbDep) -> CustomMetricResponse:
    row, history = await service.get_metric_detail(db, scope.project_id, name)
    return service.to_response(row, history)


@router.patch("/{name}")
async def update_metric(
    name: str, body: MetricUpdate, scope: ScopeDep, db: DbDep, settings: SettingsDep
) -> CustomMetricResponse:
    row = await service.update_metric(db, scope.project_id, name, body, settings)
    return service.to_response(row)


@router.delete("/{name}", status_code=204)
async def delete_metric(name: str, scope: ScopeDep, db: DbDep) -> Response:
    await service.delete_metric(db, scope.project_id, name, utcnow())
    return Response(status_code=204)

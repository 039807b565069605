"""Judge–human agreement (issue 15): how often the judge's scores of a metric agree with the
annotations of the same traces."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from sightline.dependencies import DbDep, ScopeDep
from sightline.evals.agreement import service
from sightline.evals.agreement.schemas import AgreementResponse
from sightline.kit.query import DateQuery, TextQuery

router = APIRouter(prefix="/evaluations", tags=["agreement"])

MetricPath = Annotated[str, Path(min_length=1, max_length=255)]


@router.get("/metrics/{name}/agreement", response_model=AgreementResponse)
async def get_agreement(
    name: MetricPath,
    scope: ScopeDep,
    db: DbDep,
    model: TextQuery = None,
    version: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
    date_from: DateQuery = None,
    date_to: DateQuery = None,
) -> AgreementResponse:
    return await service.agreement(
        db,
        scope.project_id,
        name,
        model=model,
        version=version,
        date_from=date_from,
        date_to=date_to,
    )

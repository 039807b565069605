"""Trace scores and session scores (API.md §3.5, §3.8): parse, call one service function,
return a schema."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import StreamingResponse

from sightline.dependencies import DbDep, ScopeDep
from sightline.evals.scores import service as scores
from sightline.evals.scores.repository import ScoreFilter
from sightline.evals.scores.schemas import (
    SessionScoreResponse,
    TraceScoreCreate,
    TraceScoreResponse,
    TraceScoreUpdate,
)
from sightline.kit.export import EXPORT_RESPONSES, ExportFormat, FormatQuery, export_response
from sightline.kit.pagination import Limit, Offset, Page
from sightline.kit.query import DateQuery, TextQuery
from sightline.kit.statuses import ScoreDataType, ScoreSource, ScoreStatus
from sightline.kit.types import Timestamp

router = APIRouter(prefix="/evaluations", tags=["scores"])


def _response(score: object) -> TraceScoreResponse:
    return TraceScoreResponse.model_validate(score)


@router.post("/trace-scores", status_code=201, response_model=TraceScoreResponse)
async def create_trace_score(
    body: TraceScoreCreate, scope: ScopeDep, db: DbDep
) -> TraceScoreResponse:
    return _response(await scores.create_score(db, scope.project_id, body))


def score_filter(
    trace_id: uuid.UUID | None = None,
    name: TextQuery = None,
    source: ScoreSource | None = None,
    status: ScoreStatus | None = None,
    data_type: ScoreDataType | None = None,
    eval_run_id: uuid.UUID | None = None,
    environment: TextQuery = None,
    date_from: Timestamp | None = None,
    date_to: Timestamp | None = None,
) -> ScoreFilter:
    """The list's filters, shared with the export."""
    return ScoreFilter(
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


ScoreFilterDep = Annotated[ScoreFilter, Depends(score_filter)]


@router.get("/trace-scores", response_model=Page[TraceScoreResponse])
async def list_trace_scores(
    scope: ScopeDep,
    db: DbDep,
    where: ScoreFilterDep,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[TraceScoreResponse]:
    rows, total = await scores.list_scores(db, scope.project_id, where, limit, offset)
    return Page(items=[_response(r) for r in rows], total=total, limit=limit, offset=offset)


# Before /trace-scores/{trace_id}, which would take "export" for a trace ID.
@router.get("/trace-scores/export", response_class=StreamingResponse, responses=EXPORT_RESPONSES)
async def export_trace_scores(
    request: Request, scope: ScopeDep, where: ScoreFilterDep, fmt: FormatQuery = ExportFormat.jsonl
) -> StreamingResponse:
    """Every trace score matching the list's filters, oldest first, as a JSONL file (the
    list's item shape) or CSV (the same fields; metadata as JSON text). No DbDep: the pages
    are read while the response streams, each in a session of its own (see
    service.export_scores)."""
    factory = request.app.state.session_factory
    body = scores.export_scores(factory, scope.project_id, where, fmt)
    return await export_response(body, fmt, "trace-scores")


@router.get("/trace-scores/{trace_id}", response_model=list[TraceScoreResponse])
async def latest_trace_scores(
    trace_id: uuid.UUID, scope: ScopeDep, db: DbDep
) -> list[TraceScoreResponse]:
    return [_response(r) for r in await scores.latest_scores(db, scope.project_id, trace_id)]


@router.patch("/trace-scores/{score_id}", response_model=TraceScoreResponse)
async def update_trace_score(
    score_id: uuid.UUID, body: TraceScoreUpdate, scope: ScopeDep, db: DbDep
) -> TraceScoreResponse:
    return _response(await scores.update_score(db, scope.project_id, score_id, body))


@router.delete("/trace-scores/{score_id}", status_code=204)
async def delete_trace_score(score_id: uuid.UUID, scope: ScopeDep, db: DbDep) -> Response:
    await scores.delete_score(db, scope.project_id, score_id)
    return Response(status_code=204)


# -- scores ------------------------------------------------------------------------------
@router.get("/session-scores")
async def list_session_scores(
    scope: ScopeDep,
    db: DbDep,
    session_id: TextQuery = None,
    name: TextQuery = None,
    source: ScoreSource | None = None,
    status: ScoreStatus | None = None,
    eval_run_id: uuid.UUID | None = None,
    date_from: DateQuery = None,
    date_to: DateQuery = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[SessionScoreResponse]:
    rows, total = await scores.list_session_scores(
        db, scope.project_id, limit=limit, offset=offset,
        session_id=session_id, name=name, source=source, status=status,
        eval_run_id=eval_run_id, date_from=date_from, date_to=date_to,
    )  # fmt: skip
    return Page(
        items=[SessionScoreResponse.model_validate(r) for r in rows],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get("/session-scores/{session_id}")
async def get_session_scores(
    session_id: str, scope: ScopeDep, db: DbDep
) -> list[SessionScoreResponse]:
    rows = await scores.scores_of_session(db, scope.project_id, session_id)
    return [SessionScoreResponse.model_validate(r) for r in rows]


@router.delete("/session-scores/{score_id}", status_code=204)
async def delete_session_score(score_id: uuid.UUID, scope: ScopeDep, db: DbDep) -> Response:
    await scores.delete_session_score(db, scope.project_id, score_id)
    return Response(status_code=204)

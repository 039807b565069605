"""HTTP routes of traces and sessions, at the root paths PandaProbe's clients call.
Static paths are declared before `/traces/{trace_id}` so they are not read as IDs.
Ingestion (POST /traces and /traces/batch) goes through the trace writer (group_writer.py);
the other write routes take the write guard (see dependencies.py) once their input is
validated. Every write route counts against the key's ingestion rate (IngestScopeDep)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from fastapi.routing import APIRoute

from sightline.dependencies import DbDep, IngestScopeDep, ScopeDep, SettingsDep
from sightline.kit.export import EXPORT_RESPONSES, ExportFormat, FormatQuery, export_response
from sightline.kit.pagination import Page
from sightline.kit.types import CleanStr
from sightline.traces import filters as f
from sightline.traces import service
from sightline.traces.analytics import service as analytics_service
from sightline.traces.analytics.schemas import UserSummary
from sightline.traces.analytics.service import Analytics
from sightline.traces.dependencies import WriteGuardDep
from sightline.traces.export import service as export_service
from sightline.traces.ingest import batch
from sightline.traces.schemas import (
    Deleted,
    SpanBatch,
    SpanIds,
    SpanRead,
    SpanUpdate,
    TraceAccepted,
    TraceBatchCreate,
    TraceBatchResult,
    TraceCreate,
    TraceIds,
    TraceListItem,
    TraceRead,
    TraceTagsUpdate,
    TraceUpdate,
    Updated,
)
from sightline.traces.sessions import service as session_service
from sightline.traces.sessions.schemas import SessionBucket, SessionDetail, SessionSummary
from sightline.traces.validation import may_hold_huge_integers, storable_body


class _Request(Request):
    async def json(self) -> Any:
        """orjson first: ingestion bodies are large and the stdlib parser is a good part of
        their cost. What orjson refuses (NaN, integers beyond 64 bits, ...) goes to the
        stdlib parser, so the same bodies are accepted or refused as before. Records in
        `state.storable_body` whether the body's values need the per-value checks."""
        if not hasattr(self, "_json"):
            body = await self.body()
            # orjson reads integers beyond 64 bits as floats, silently: the stdlib keeps them
            # exact, so the validation can refuse them by name.
            parsed = None if may_hold_huge_integers(body) else _fast_parse(body)
            if parsed is None:
                self._json = json.loads(body)
                self.state.storable_body = False
            else:
                self._json = parsed[0]
                self.state.storable_body = storable_body(body, self._json)
        return self._json


def _fast_parse(body: bytes) -> tuple[Any] | None:
    """orjson's reading of the body, or None for what it refuses (NaN, ...)."""
    try:
        return (orjson.loads(body),)
    except orjson.JSONDecodeError:
        return None


class _Route(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            return await handler(_Request(request.scope, request.receive))

        return handle


router = APIRouter(tags=["traces"], route_class=_Route)

PageDep = Annotated[f.Page, Depends(f.page)]
WindowDep = Annotated[f.Window, Depends(f.window)]
SessionIdPath = Annotated[CleanStr, Path()]
IncludeSpansQuery = Annotated[
    bool | None,
    Query(description="JSONL rows with their spans (default true); CSV has none."),
]


@router.post("/traces", status_code=202)
async def create_trace(
    request: Request, trace: TraceCreate, scope: IngestScopeDep
) -> TraceAccepted:
    """Stored before the answer (group commit, see group_writer.py): readable at once."""
    await request.app.state.trace_writer.submit(scope.project_id, trace)
    task_id = getattr(request.state, "request_id", None) or uuid.uuid4().hex
    return TraceAccepted(trace_id=trace.trace_id, task_id=task_id)


@router.post("/traces/batch")
async def create_traces(
    request: Request, body: TraceBatchCreate, scope: IngestScopeDep, settings: SettingsDep
) -> TraceBatchResult:
    """Stored before the answer, through the same writer as single POSTs."""
    return await batch.ingest_batch(
        request.app.state.trace_writer,
        scope.project_id,
        body.traces,
        settings.max_batch_traces,
        storable=getattr(request.state, "storable_body", False),
    )


@router.get("/traces")
async def list_traces(
    db: DbDep,
    scope: ScopeDep,
    page: PageDep,
    filters: Annotated[f.TraceFilters, Depends(f.trace_filters)],
    sort_by: f.TraceSortBy = f.TraceSortBy.started_at,
    sort_order: f.SortOrder = f.SortOrder.desc,
) -> Page[TraceListItem]:
    return await service.list_traces(db, scope, filters, sort_by, sort_order, page)


@router.get("/traces/analytics")
async def trace_analytics(
    db: DbDep,
    scope: ScopeDep,
    window: WindowDep,
    metric: f.AnalyticsMetric = f.AnalyticsMetric.volume,
) -> Analytics:
    return await analytics_service.trace_analytics(db, scope, metric, window)


@router.get("/traces/users")
async def list_users(db: DbDep, scope: ScopeDep, page: PageDep) -> Page[UserSummary]:
    return await analytics_service.list_users(db, scope, page)


@router.get("/traces/export", response_class=StreamingResponse, responses=EXPORT_RESPONSES)
async def export_traces(
    request: Request,
    scope: ScopeDep,
    filters: Annotated[f.TraceFilters, Depends(f.trace_filters)],
    fmt: FormatQuery = ExportFormat.jsonl,
    include_spans: IncludeSpansQuery = None,
) -> StreamingResponse:
    """Every trace matching GET /traces's filters, oldest first, as a JSONL or CSV file.
    JSONL rows are GET /traces/{trace_id}'s shape, spans included unless
    include_spans=false; CSV has the list's columns plus input, output and metadata as
    JSON text. No DbDep: the pages are read while the response streams, each in a session
    of its own, after the request's transaction has ended (see traces/export)."""
    factory = request.app.state.session_factory
    body = export_service.export_traces(factory, scope.project_id, filters, fmt, include_spans)
    return await export_response(body, fmt, "traces")


@router.post("/traces/batch/delete")
async def delete_traces(
    body: TraceIds, guard: WriteGuardDep, db: DbDep, scope: IngestScopeDep
) -> Deleted:
    await guard.acquire()
    return await service.delete_traces(db, scope, body.trace_ids)


@router.post("/traces/batch/tags")
async def update_tags(
    body: TraceTagsUpdate, guard: WriteGuardDep, db: DbDep, scope: IngestScopeDep
) -> Updated:
    await guard.acquire()
    return await service.update_tags(db, scope, body)


@router.get("/traces/{trace_id}")
async def get_trace(trace_id: uuid.UUID, db: DbDep, scope: ScopeDep) -> TraceRead:
    return await service.get_trace(db, scope, trace_id)


@router.patch("/traces/{trace_id}")
async def patch_trace(
    trace_id: uuid.UUID,
    body: TraceUpdate,
    guard: WriteGuardDep,
    db: DbDep,
    scope: IngestScopeDep,
) -> TraceRead:
    await guard.acquire()
    return await service.patch_trace(db, scope, trace_id, body)


@router.delete("/traces/{trace_id}", status_code=204)
async def delete_trace(
    trace_id: uuid.UUID, guard: WriteGuardDep, db: DbDep, scope: IngestScopeDep
) -> Response:
    await guard.acquire()
    await service.delete_trace(db, scope, trace_id)
    return Response(status_code=204)


@router.post("/traces/{trace_id}/spans", status_code=201)
async def add_spans(
    trace_id: uuid.UUID,
    spans: SpanBatch,
    guard: WriteGuardDep,
    db: DbDep,
    scope: IngestScopeDep,
) -> SpanIds:
    await guard.acquire()
    return await service.add_spans(db, scope, trace_id, spans.root)


@router.patch("/traces/{trace_id}/spans/{span_id}")
async def patch_span(
    trace_id: uuid.UUID,
    span_id: uuid.UUID,
    body: SpanUpdate,
    guard: WriteGuardDep,
    db: DbDep,
    scope: IngestScopeDep,
) -> SpanRead:
    await guard.acquire()
    return await service.patch_span(db, scope, trace_id, span_id, body)


@router.get("/sessions", tags=["sessions"])
async def list_sessions(
    db: DbDep,
    scope: ScopeDep,
    page: PageDep,
    filters: Annotated[f.SessionFilters, Depends(f.session_filters)],
    sort_by: f.SessionSortBy = f.SessionSortBy.recent,
    sort_order: f.SortOrder = f.SortOrder.desc,
) -> Page[SessionSummary]:
    return await session_service.list_sessions(db, scope, filters, sort_by, sort_order, page)


@router.get("/sessions/analytics", tags=["sessions"])
async def session_analytics(db: DbDep, scope: ScopeDep, window: WindowDep) -> list[SessionBucket]:
    return await session_service.session_analytics(db, scope, window)


@router.get("/sessions/{session_id}", tags=["sessions"])
async def get_session(
    session_id: SessionIdPath,
    db: DbDep,
    scope: ScopeDep,
    page: Annotated[f.Page, Depends(f.session_page)],
) -> SessionDetail:
    return await session_service.get_session(db, scope, session_id, page)


@router.delete("/sessions/{session_id}", tags=["sessions"])
async def delete_session(
    session_id: SessionIdPath, guard: WriteGuardDep, db: DbDep, scope: IngestScopeDep
) -> Deleted:
    await guard.acquire()
    return Deleted(deleted=await session_service.delete_session(db, scope, session_id))

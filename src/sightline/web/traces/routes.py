"""The trace list (/ui/traces) and a trace (/ui/traces/{id}, its span panel as a fragment)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from sightline.dependencies import DbDep, SettingsDep
from sightline.errors import NotFound
from sightline.evals.scores import repository as score_filters
from sightline.evals.scores import service as scores
from sightline.traces import filters as f
from sightline.traces import service as traces
from sightline.web.auth.dependencies import ViewerDep
from sightline.web.rendering import render
from sightline.web.traces.forms import parse_list_query
from sightline.web.traces.tree import WATERFALL_WIDTH, span_rows

router = APIRouter()
TRACE_SCORES_SHOWN = 200
# The list counts its matches up to here ("1,000+"): an exact count of a broad filter over a
# large project costs more than the page itself (bench/ui.py). The new-run form, reached by
# "Evaluate all matching", shows the exact count.
COUNT_LIMIT = 1_000
SORTABLE = {
    "name": f.TraceSortBy.name,
    "status": f.TraceSortBy.status,
    "start": f.TraceSortBy.started_at,
    "duration": f.TraceSortBy.latency,
}


@router.get("/traces")
async def trace_list(
    request: Request, viewer: ViewerDep, db: DbDep, settings: SettingsDep
) -> Response:
    form, errors = parse_list_query(request.query_params)
    page = f.Page(form.limit, form.offset)
    count_limit = max(COUNT_LIMIT, form.offset + form.limit)  # "Next" stays on past the cap
    found = await traces.list_traces(
        db, viewer.scope, form.filters(), form.sort_by, form.sort_order, page, count_limit
    )
    capped = found.total > count_limit
    badges = await scores.latest_scores_by_trace(
        db, viewer.project_id, [t.trace_id for t in found.items]
    )
    return render(
        request,
        "traces/list.html",
        {
            "nav": "traces",
            "form": form,
            "errors": errors,
            "page": found,
            "badges": badges,
            "params": form.params(),
            "sortable": SORTABLE,
            "server_url": str(request.base_url).rstrip("/"),
            "total_label": f"{count_limit:,}+" if capped else f"{found.total:,}",
        },
        status_code=422 if errors else 200,
    )


async def _trace_page(
    request: Request, viewer: ViewerDep, db: DbDep, trace_id: uuid.UUID, span_id: uuid.UUID | None
) -> Response:
    trace = await traces.get_trace(db, viewer.scope, trace_id)
    rows = span_rows(trace.spans, trace.started_at)
    selected = next((r.span for r in rows if r.span.span_id == span_id), None)
    if span_id is not None and selected is None:
        raise NotFound(f"Span {span_id} not found on trace {trace_id}.")
    if selected is None and rows:
        selected = rows[0].span
    found, total = await scores.list_scores(
        db,
        viewer.project_id,
        score_filters.ScoreFilter(trace_id=trace_id),
        TRACE_SCORES_SHOWN,
        0,
    )
    return render(
        request,
        "traces/detail.html",
        {
            "nav": "traces",
            "trace": trace,
            "rows": rows,
            "selected": selected,
            "scores": found,
            "scores_total": total,
            "waterfall_width": WATERFALL_WIDTH,
        },
    )


@router.get("/traces/{trace_id}")
async def trace_detail(
    request: Request,
    viewer: ViewerDep,
    db: DbDep,
    trace_id: uuid.UUID,
    span: Annotated[uuid.UUID | None, Query()] = None,
) -> Response:
    return await _trace_page(request, viewer, db, trace_id, span)


@router.get("/traces/{trace_id}/spans/{span_id}")
async def span_panel(
    request: Request, viewer: ViewerDep, db: DbDep, trace_id: uuid.UUID, span_id: uuid.UUID
) -> Response:
    """The selected span's panel alone (htmx swaps it in beside the tree)."""
    trace = await traces.get_trace(db, viewer.scope, trace_id)
    span = next((s for s in trace.spans if s.span_id == span_id), None)
    if span is None:
        raise NotFound(f"Span {span_id} not found on trace {trace_id}.")
    return render(request, "traces/_span.html", {"trace": trace, "span": span})

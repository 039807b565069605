"""Sessions (/ui/sessions) and a session (/ui/sessions/{id}): its traces in order, read as
a conversation, with the session's scores and each trace's latest scores."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from sightline.dependencies import DbDep
from sightline.evals.scores import service as scores
from sightline.kit.pagination import Page
from sightline.kit.types import CleanStr
from sightline.traces import filters as f
from sightline.traces.sessions import service as sessions
from sightline.web.auth.dependencies import ViewerDep
from sightline.web.rendering import render
from sightline.web.sessions.conversation import turns
from sightline.web.sessions.forms import PAGE_SIZE, parse_list_query

router = APIRouter()
TURNS_PER_PAGE = 100
SORTABLE = {
    "recent": "Last activity",
    "trace_count": "Traces",
    "latency": "Duration",
    "cost": "Cost",
}


@router.get("/sessions")
async def session_list(request: Request, viewer: ViewerDep, db: DbDep) -> Response:
    form, errors = parse_list_query(request.query_params)
    found = await sessions.list_sessions(
        db,
        viewer.scope,
        form.filters(),
        form.sort_by,
        form.sort_order,
        f.Page(PAGE_SIZE, form.offset),
    )
    return render(
        request,
        "sessions/list.html",
        {
            "nav": "sessions",
            "form": form,
            "errors": errors,
            "page": found,
            "params": form.params(),
            "sortable": SORTABLE,
            "server_url": str(request.base_url).rstrip("/"),
        },
        status_code=422 if errors else 200,
    )


@router.get("/sessions/{session_id:path}")
async def session_detail(
    request: Request,
    viewer: ViewerDep,
    db: DbDep,
    session_id: Annotated[CleanStr, Path(min_length=1, max_length=255)],
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    session = await sessions.get_session(
        db, viewer.scope, session_id, f.Page(TURNS_PER_PAGE, offset)
    )
    badges = await scores.latest_scores_by_trace(
        db, viewer.project_id, [t.trace_id for t in session.traces]
    )
    session_scores = await scores.scores_of_session(db, viewer.project_id, session_id)
    return render(
        request,
        "sessions/detail.html",
        {
            "nav": "sessions",
            "session": session,
            "turns": turns(session.traces),
            "badges": badges,
            "scores": session_scores,
            "page": Page(items=[], total=session.trace_count, limit=TURNS_PER_PAGE, offset=offset),
            "first_turn": offset + 1,
        },
    )

"""Sign in (paste an API key), sign out, switch project."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import RedirectResponse, Response

from sightline.dependencies import DbDep
from sightline.errors import Unauthorized
from sightline.identity import keys
from sightline.identity import service as identity
from sightline.identity.service import AuthResolver
from sightline.web.auth.dependencies import CsrfDep, ViewerDep, VisitorDep, codec
from sightline.web.auth.session import MAX_AGE, SessionData, new_session
from sightline.web.rendering import render, ui_base

router = APIRouter()
HOME = "/traces"
MAX_KEY_CHARS = 512


def _safe_next(request: Request, target: str | None) -> str:
    """Only a path of this dashboard: never another host (no open redirect)."""
    base = ui_base(request)
    if (
        target
        and target.startswith(base + "/")
        and not target.startswith("//")
        and "\\" not in target
        and "://" not in target
    ):
        return target
    return base + HOME


def _sign_in_page(
    request: Request,
    *,
    next_url: str | None,
    error: str | None,
    message: str | None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "auth/sign_in.html",
        {"next_url": next_url or "", "error": error, "message": message, "nav": "sign-in"},
        status_code=status_code,
    )


@router.get("/sign-in")
async def sign_in_form(
    request: Request,
    visitor: VisitorDep,
    next_url: Annotated[str | None, Query(alias="next", max_length=2000)] = None,
    message: Annotated[str | None, Query(max_length=300)] = None,
) -> Response:
    response = _sign_in_page(request, next_url=next_url, error=None, message=message)
    if visitor.fresh:
        codec(request).write(request, response, visitor.session)
    return response


@router.post("/sign-in")
async def sign_in(
    request: Request,
    _csrf: CsrfDep,
    visitor: VisitorDep,
    db: DbDep,
    api_key: Annotated[str, Form(max_length=MAX_KEY_CHARS)] = "",
    next_url: Annotated[str, Form(alias="next", max_length=2000)] = "",
) -> Response:
    raw = api_key.strip()
    if not raw:
        return _sign_in_page(
            request, next_url=next_url, error="Paste an API key.", message=None, status_code=422
        )
    resolver: AuthResolver = request.app.state.auth
    key_hash = keys.hash_key(raw)
    try:
        scope = await resolver.resolve_key_hash(key_hash, None)
    except Unauthorized as exc:
        return _sign_in_page(
            request, next_url=next_url, error=exc.detail, message=None, status_code=401
        )
    session = new_session(key_hash, scope.project_id)
    assert scope.key_id is not None  # an API key's scope
    await identity.start_dashboard_session(db, session.sid, scope.key_id, MAX_AGE)
    response = RedirectResponse(_safe_next(request, next_url), status_code=303)
    codec(request).write(request, response, session)
    return response


@router.post("/sign-out")
async def sign_out(request: Request, _csrf: CsrfDep, visitor: VisitorDep, db: DbDep) -> Response:
    await identity.end_dashboard_session(db, visitor.session.sid)  # copies of the cookie too
    response = RedirectResponse(f"{ui_base(request)}/sign-in?message=Signed+out.", status_code=303)
    codec(request).write(request, response, new_session())
    return response


@router.post("/project")
async def switch_project(
    request: Request,
    _csrf: CsrfDep,
    viewer: ViewerDep,
    project_id: Annotated[uuid.UUID, Form()],
) -> Response:
    resolver: AuthResolver = request.app.state.auth
    assert viewer.session.key_hash is not None
    scope = await resolver.resolve_key_hash(viewer.session.key_hash, project_id)  # 404 if foreign
    session = SessionData(viewer.session.sid, viewer.session.key_hash, scope.project_id)
    response = RedirectResponse(f"{ui_base(request)}{HOME}", status_code=303)
    codec(request).write(request, response, session)
    return response


@router.get("/")
async def home(request: Request, _viewer: ViewerDep) -> Response:
    return RedirectResponse(f"{ui_base(request)}{HOME}", status_code=303)

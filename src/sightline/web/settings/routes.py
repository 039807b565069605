"""Settings (/ui/settings): the organization's API keys (list, create — the raw key shown
once, on the answer to the create — revoke) and its projects (list, create, open)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from sightline.dependencies import DbDep
from sightline.errors import Conflict, DomainValidationError
from sightline.identity import service as identity
from sightline.identity.schemas import CreatedKey
from sightline.web.auth.dependencies import CsrfDep, Viewer, ViewerDep
from sightline.web.rendering import render, ui_base

router = APIRouter()
NOTICES = {
    "revoked": "The key was revoked: it no longer opens the API or this dashboard.",
    "project": "Project created.",
}
MAX_FIELD = 2_000  # longer answers are refused by the form parser, before the services


async def _page(
    request: Request,
    viewer: Viewer,
    db: DbDep,
    *,
    created: CreatedKey | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Response:
    keys = await identity.list_org_keys(db, viewer.scope.org_id)
    return render(
        request,
        "settings/page.html",
        {
            "nav": "settings",
            "keys": keys,
            "session_key_hash": viewer.session.key_hash,
            "created": created,
            "errors": errors or {},
            "values": values or {},
            "notice": notice,
            "server_url": str(request.base_url).rstrip("/"),
        },
        status_code=status_code,
    )


@router.get("/settings")
async def settings_page(request: Request, viewer: ViewerDep, db: DbDep) -> Response:
    notice = NOTICES.get(request.query_params.get("notice", ""))
    return await _page(request, viewer, db, notice=notice)


@router.post("/settings/keys")
async def create_key(
    request: Request,
    _csrf: CsrfDep,
    viewer: ViewerDep,
    db: DbDep,
    name: Annotated[str, Form(max_length=MAX_FIELD)] = "",
) -> Response:
    """The answer itself shows the new key (never stored, never shown again); reloading it
    does not create another, the browser asks before re-posting."""
    try:
        created = await identity.create_org_key(db, viewer.scope.org_id, name)
    except DomainValidationError as exc:
        return await _page(request, viewer, db, errors={"key_name": exc.detail},
                           values={"key_name": name}, status_code=422)  # fmt: skip
    return await _page(request, viewer, db, created=created)


@router.post("/settings/keys/{key_id}/revoke")
async def revoke_key(
    request: Request, _csrf: CsrfDep, viewer: ViewerDep, db: DbDep, key_id: uuid.UUID
) -> Response:
    await identity.revoke_org_key(db, viewer.scope.org_id, key_id)
    return RedirectResponse(f"{ui_base(request)}/settings?notice=revoked", status_code=303)


@router.post("/settings/projects")
async def create_project(
    request: Request,
    _csrf: CsrfDep,
    viewer: ViewerDep,
    db: DbDep,
    name: Annotated[str, Form(max_length=MAX_FIELD)] = "",
) -> Response:
    try:
        await identity.create_project(db, viewer.scope.org_id, name)
    except (DomainValidationError, Conflict) as exc:
        return await _page(request, viewer, db, errors={"project_name": exc.detail},
                           values={"project_name": name}, status_code=exc.status_code)  # fmt: skip
    return RedirectResponse(f"{ui_base(request)}/settings?notice=project", status_code=303)

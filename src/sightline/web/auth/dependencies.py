"""Who is looking: `VisitorDep` (anyone, with the session to sign in under), `ViewerDep`
(signed in: the key re-resolved on every request into the organization and project scope
every query is filtered by) and `CsrfDep` (declared by every state-changing route)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from sightline.dependencies import DbDep
from sightline.errors import NotFound, SightlineError, Unauthorized
from sightline.identity import service as identity
from sightline.identity.schemas import Scope
from sightline.identity.service import AuthResolver
from sightline.web.auth import csrf
from sightline.web.auth.session import (
    MAX_AGE,
    SessionCodec,
    SessionData,
    load_secret,
    new_session,
)


class SignInRequired(Exception):
    """Answered with a redirect to the sign-in page (see web/errors.py)."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or "")
        self.message = message


class CsrfRefused(SightlineError):
    status_code = 403


@dataclass(frozen=True, slots=True)
class ProjectRef:
    """A project as pages show it (plain values: pages render after the transaction)."""

    id: uuid.UUID
    name: str


@dataclass(frozen=True, slots=True)
class Visitor:
    session: SessionData
    csrf_token: str
    fresh: bool  # no valid cookie came in: the response must set it


@dataclass(frozen=True, slots=True)
class Viewer:
    scope: Scope
    session: SessionData
    csrf_token: str
    project: ProjectRef
    projects: Sequence[ProjectRef]

    @property
    def project_id(self) -> uuid.UUID:
        return self.scope.project_id


def codec(request: Request) -> SessionCodec:
    """Built on first use, not with the app: only a serving dashboard needs the secret (and
    may write it into the data directory)."""
    state = request.app.state
    found: SessionCodec | None = getattr(state, "web_sessions", None)
    if found is None:
        found = state.web_sessions = SessionCodec(load_secret(state.settings))
    return found


def get_visitor(request: Request) -> Visitor:
    sessions = codec(request)
    session = sessions.read(request)
    fresh = session is None
    session = session or new_session()
    token = csrf.token_for(sessions.secret, session.sid)
    request.state.csrf_token = token
    return Visitor(session, token, fresh)


async def get_viewer(request: Request, db: DbDep) -> Viewer:
    sessions = codec(request)
    session = sessions.read(request)
    if session is None or session.key_hash is None:
        raise SignInRequired()
    resolver: AuthResolver = request.app.state.auth
    try:
        try:
            scope = await resolver.resolve_key_hash(session.key_hash, session.project_id)
        except NotFound:  # the project is gone: open the organization's first one
            scope = await resolver.resolve_key_hash(session.key_hash, None)
    except Unauthorized as exc:
        raise SignInRequired(f"Signed out: {exc.detail}") from None
    assert scope.key_id is not None  # an API key's scope
    if not await identity.dashboard_session_is_live(db, session.sid, scope.key_id, MAX_AGE):
        raise SignInRequired("Signed out.")
    projects = [ProjectRef(p.id, p.name) for p in await identity.list_projects(db, scope.org_id)]
    project = next(p for p in projects if p.id == scope.project_id)
    token = csrf.token_for(sessions.secret, session.sid)
    viewer = Viewer(scope, session, token, project, projects)
    request.state.viewer = viewer
    request.state.csrf_token = token
    return viewer


async def require_csrf(request: Request) -> None:
    sessions = codec(request)
    session = sessions.read(request)
    offered = request.headers.get(csrf.HEADER)
    if offered is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(csrf.FIELD)
        offered = value if isinstance(value, str) else None
    if session is None or not csrf.is_valid(sessions.secret, session.sid, offered):
        raise CsrfRefused(csrf.REFUSED)


VisitorDep = Annotated[Visitor, Depends(get_visitor)]
ViewerDep = Annotated[Viewer, Depends(get_viewer)]
CsrfDep = Annotated[None, Depends(require_csrf)]

"""FastAPI dependencies: the request's DB session and the caller's scope."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.ext.asyncio import AsyncSession

from sightline.config import Settings
from sightline.db.session import transaction
from sightline.errors import Unauthorized
from sightline.identity.schemas import Scope
from sightline.identity.service import MISSING_CREDENTIALS, AuthResolver


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with transaction(request.app.state.session_factory) as session:
        yield session


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_scope(
    request: Request,
    x_api_key: Annotated[str | None, Header(include_in_schema=False)] = None,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
    x_project_name: Annotated[str | None, Header(include_in_schema=False)] = None,
    x_project_id: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Scope:
    resolver: AuthResolver = request.app.state.auth
    if x_api_key and x_api_key.strip():
        return await resolver.resolve_api_key(x_api_key.strip(), x_project_name)
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return await resolver.resolve_bearer(token.strip(), x_project_id, x_project_name)
    raise Unauthorized(MISSING_CREDENTIALS)


SessionDep = Annotated[AsyncSession, Depends(get_session)]
ScopeDep = Annotated[Scope, Depends(get_scope)]
SettingsDep = Annotated[Settings, Depends(get_settings)]

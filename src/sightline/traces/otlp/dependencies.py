"""Who is exporting. The project comes from the headers when they name one (as on every
data-plane route); otherwise each resource of the export names its own, so the key is
checked first (401 before the body is read) and projects are resolved per resource."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from sightline.dependencies import get_scope
from sightline.errors import Unauthorized
from sightline.identity.schemas import Scope
from sightline.identity.service import MISSING_CREDENTIALS, AuthResolver


@dataclass(frozen=True)
class Caller:
    resolver: AuthResolver
    raw_key: str
    scope: Scope | None  # the headers' project, when they name one

    async def scope_for(self, project_name: str | None) -> Scope:
        """The scope of a resource's project (created on first use, as X-Project-Name's
        are); 422 (DomainValidationError) for a name that is not a valid project name."""
        if self.scope is not None:
            return self.scope
        return await self.resolver.resolve_api_key(self.raw_key, project_name)


def _raw_key(request: Request) -> str:
    # The same precedence as get_scope: X-API-Key wins over a Bearer token.
    key = request.headers.get("x-api-key", "").strip()
    if key:
        return key
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


async def otlp_caller(request: Request) -> Caller:
    resolver: AuthResolver = request.app.state.auth
    raw_key = _raw_key(request)
    if not raw_key:
        raise Unauthorized(MISSING_CREDENTIALS)
    headers = request.headers
    if headers.get("x-project-name", "").strip() or headers.get("x-project-id", "").strip():
        return Caller(resolver, raw_key, await get_scope(request))
    await resolver.authenticate(raw_key)
    return Caller(resolver, raw_key, None)


CallerDep = Annotated[Caller, Depends(otlp_caller)]

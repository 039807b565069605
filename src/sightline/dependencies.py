"""The request dependencies every domain uses: the database session (one transaction per
request, committed here), the settings, the caller's scope (for writes that are rate
limited, the scope once the key is within its rate) and the evaluation queue.
Domain-specific ones live beside their routes (traces/dependencies.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from sightline.config import Settings
from sightline.db.session import transaction
from sightline.engine.queue import JobQueue
from sightline.errors import Unauthorized
from sightline.identity.schemas import Scope
from sightline.identity.service import MISSING_CREDENTIALS, AuthResolver
from sightline.ratelimit import Bucket, RateLimiter


async def get_db(request: Request) -> AsyncIterator[AsyncSession]:
    async with transaction(request.app.state.session_factory) as db:
        yield db


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_scope(request: Request) -> Scope:
    # Headers are read directly: FastAPI's Header() parameters re-run type checks on every
    # request, a measurable share of ingestion's per-request cost.
    headers = request.headers
    resolver: AuthResolver = request.app.state.auth
    x_api_key = headers.get("x-api-key", "").strip()
    if x_api_key:
        return await resolver.resolve_api_key(x_api_key, headers.get("x-project-name"))
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return await resolver.resolve_bearer(
            token.strip(), headers.get("x-project-id"), headers.get("x-project-name")
        )
    raise Unauthorized(MISSING_CREDENTIALS)


async def _limited_scope(request: Request, bucket: Bucket) -> Scope:
    # get_scope is called, not declared as a sub-dependency: one dependency fewer for
    # FastAPI to solve on ingestion's hot path. Raising here (before the body's fields are
    # validated) keeps a refused request cheap; 401 still comes first.
    scope = await get_scope(request)
    limiter: RateLimiter = request.app.state.rate_limiter
    await limiter.admit(bucket, scope)
    return scope


async def get_ingest_scope(request: Request) -> Scope:
    return await _limited_scope(request, Bucket.INGEST)


async def get_run_scope(request: Request) -> Scope:
    return await _limited_scope(request, Bucket.RUNS)


def get_queue(request: Request) -> JobQueue:
    queue: JobQueue = request.app.state.eval_queue
    return queue


DbDep = Annotated[AsyncSession, Depends(get_db)]
ScopeDep = Annotated[Scope, Depends(get_scope)]
IngestScopeDep = Annotated[Scope, Depends(get_ingest_scope)]  # trace and span writes
RunScopeDep = Annotated[Scope, Depends(get_run_scope)]  # run creation
SettingsDep = Annotated[Settings, Depends(get_settings)]
QueueDep = Annotated[JobQueue, Depends(get_queue)]

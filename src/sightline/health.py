"""GET /health and /, and the judge's state as a user means it: can an evaluation run be
started with the default judge model (`judge_status`, also what `sightline serve` warns
about at start-up)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from sightline import __version__
from sightline.config import Settings
from sightline.db.types import utcnow
from sightline.engine.judge.catalog import resolve_model
from sightline.errors import DomainValidationError
from sightline.evals.runs.providers import check_judge_model

router = APIRouter(tags=["health"])


@dataclass(frozen=True, slots=True)
class JudgeStatus:
    model: str  # the default judge model, resolved as a run without `model` would use it
    configured: bool
    problem: str | None  # what is missing and how to fix it; None when configured


def judge_status(settings: Settings) -> JudgeStatus:
    """Whether a run with the default judge model would be accepted: the very check run
    creation applies (credentials in the provider's env vars, SIGHTLINE_JUDGE_API_KEY /
    SIGHTLINE_JUDGE_API_BASE, or a keyless local provider), so the two never disagree."""
    model = resolve_model(settings.judge_settings.model)
    try:
        check_judge_model(settings, None)
    except DomainValidationError as exc:
        return JudgeStatus(model, configured=False, problem=exc.detail)
    return JudgeStatus(model, configured=True, problem=None)


@router.get("/health")
async def health(request: Request) -> dict[str, Any]:
    worker = request.app.state.eval_worker
    settings: Settings = request.app.state.settings
    # Read per request: the check is a few dict and env lookups.
    judge = judge_status(settings)
    return {
        "status": "healthy",
        "version": __version__,
        "environment": request.app.state.settings.environment,
        "timestamp": utcnow().isoformat(),
        # Kept for existing clients: "LiteLLM is no longer loading", not "runs can start".
        "judge_ready": worker is None or worker.judge_ready,
        "queue": await _queue_status(request, settings),
        "judge": {
            # Whether this process loaded LiteLLM; with Celery, the workers do, not serve.
            "loaded": worker is not None and worker.judge_loaded,
            "configured": judge.configured,
            "model": judge.model,
            "message": judge.problem,
        },
    }


async def _queue_status(request: Request, settings: Settings) -> dict[str, Any]:
    """Where evaluation runs, and for Celery whether the broker takes connections now."""
    if settings.queue != "celery":
        return {"mode": settings.queue, "broker": None}
    queue = request.app.state.eval_queue
    from sightline.engine.queue.celery_queue import broker_answers  # the `scale` extra

    answers = await asyncio.to_thread(broker_answers, queue.app)
    return {"mode": "celery", "broker": "ok" if answers else "unreachable"}


@router.get("/", response_model=None)
async def root(request: Request) -> dict[str, Any] | RedirectResponse:
    """A browser (asking for HTML) is sent to the dashboard; API clients get the info."""
    if "text/html" in request.headers.get("accept", ""):
        return RedirectResponse(f"{request.scope.get('root_path', '')}/ui", status_code=307)
    return {
        "name": "Sightline",
        "version": __version__,
        "status": "running",
        "docs": "/docs",
        "scalar": None,
    }

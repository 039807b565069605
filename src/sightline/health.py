from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from sightline import __version__
from sightline.db.types import utcnow

router = APIRouter(tags=["health"])


@router.get("/health")
async def health(request: Request) -> dict[str, Any]:
    return {
        "status": "healthy",
        "version": __version__,
        "environment": request.app.state.settings.environment,
        "timestamp": utcnow().isoformat(),
        "judge_ready": request.app.state.eval_worker.judge_ready,
    }


@router.get("/")
async def root() -> dict[str, Any]:
    return {
        "name": "Sightline",
        "version": __version__,
        "status": "running",
        "docs": "/docs",
        "scalar": None,
    }

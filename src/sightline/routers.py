"""Every router, mounted at the root as PandaProbe's clients expect (no /v1 prefix)."""

from __future__ import annotations

from fastapi import FastAPI

from sightline import health


def include_routers(app: FastAPI) -> None:
    app.include_router(health.router)

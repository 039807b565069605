"""Every router, mounted at the root as PandaProbe's clients expect (no /v1 prefix)."""

from __future__ import annotations

from fastapi import FastAPI

from sightline import health
from sightline.evals import routes as eval_routes
from sightline.evals import score_routes, session_routes
from sightline.monitors import routes as monitor_routes
from sightline.traces import routes as trace_routes


def include_routers(app: FastAPI) -> None:
    app.include_router(health.router)
    app.include_router(trace_routes.router)
    app.include_router(eval_routes.router)
    app.include_router(score_routes.router)
    app.include_router(session_routes.router)
    app.include_router(monitor_routes.router)

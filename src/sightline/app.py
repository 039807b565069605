"""Application factory: error handlers, middleware and routers (the lifespan: serving.py).
Every router is mounted at the root, as PandaProbe's clients expect (no /v1 prefix)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import ORJSONResponse

from sightline import __version__, allow, health, openapi
from sightline.config import Settings
from sightline.errors import install_error_handlers
from sightline.evals.agreement import routes as agreement_routes
from sightline.evals.annotations import routes as annotation_routes
from sightline.evals.metrics import routes as metric_routes
from sightline.evals.runs import routes as run_routes
from sightline.evals.scores import routes as score_routes
from sightline.evals.scores.analytics import routes as score_analytics_routes
from sightline.evals.sessions import routes as session_run_routes
from sightline.middleware import BodyLimitMiddleware, RequestIdMiddleware
from sightline.monitors import routes as monitor_routes
from sightline.serving import lifespan
from sightline.traces import routes as trace_routes
from sightline.traces.otlp import routes as otlp_routes
from sightline.web import dashboard
from sightline.web import docs as api_docs
from sightline.web.static import STATIC_NAME, STATIC_PATH, static_files

ROUTERS = (
    health.router,
    trace_routes.router,
    otlp_routes.router,
    run_routes.router,
    score_routes.router,
    score_analytics_routes.router,
    session_run_routes.router,
    monitor_routes.router,
    metric_routes.router,
    annotation_routes.router,
    agreement_routes.router,
    api_docs.router,
)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    app = FastAPI(
        title="Sightline",
        version=__version__,
        lifespan=lifespan,
        default_response_class=ORJSONResponse,
        # Served by web/docs.py from vendored assets instead of FastAPI's CDN-backed pages.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_credentials=True,
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        allow_headers=[
            "Authorization",
            "X-API-Key",
            "X-Organization-ID",
            "X-Project-ID",
            "X-Project-Name",
            "X-Request-ID",
            "Content-Type",
            "Accept",
        ],
    )
    app.add_middleware(RequestIdMiddleware)
    for router in ROUTERS:
        app.include_router(router)
    app.mount(STATIC_PATH, static_files(), name=STATIC_NAME)
    dashboard.install(app)  # the dashboard at /ui: its own error pages and headers
    allow.install(app)
    openapi.install(app)
    return app

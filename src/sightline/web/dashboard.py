"""The dashboard as an app of its own, mounted at `/ui` by `install` (called from
`create_app`): its own error pages (HTML, not the API's JSON envelopes), its security
headers, no OpenAPI. It shares the API app's state (database, auth resolver, queue,
settings), so it reaches the very service functions the API calls."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from starlette.responses import RedirectResponse

from sightline.web import errors
from sightline.web.auth import routes as auth_routes
from sightline.web.monitors import routes as monitor_routes
from sightline.web.overview import routes as overview_routes
from sightline.web.runs import routes as run_routes
from sightline.web.security import SecurityHeadersMiddleware
from sightline.web.sessions import routes as session_routes
from sightline.web.settings import routes as settings_routes
from sightline.web.traces import routes as trace_routes

UI_PATH = "/ui"

# Every page area's router; the order only matters for paths that could overlap.
ROUTERS: tuple[APIRouter, ...] = (
    auth_routes.router,
    trace_routes.router,
    run_routes.router,
    session_routes.router,
    monitor_routes.router,
    overview_routes.router,
    settings_routes.router,
)


def create_dashboard(parent: FastAPI) -> FastAPI:
    dashboard = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    # One state for both apps: the lifespan of the parent fills it (session factory, auth,
    # queue, ...); sub-apps get no lifespan of their own.
    dashboard.state = parent.state
    errors.install(dashboard)
    dashboard.add_middleware(SecurityHeadersMiddleware)
    for router in ROUTERS:
        dashboard.include_router(router)
    return dashboard


def install(app: FastAPI) -> None:
    """Mount the dashboard at /ui (and make the bare /ui open it)."""

    async def bare(request: Request) -> RedirectResponse:
        return RedirectResponse(f"{request.scope.get('root_path', '')}{UI_PATH}/", 307)

    app.add_route(UI_PATH, bare, methods=["GET"], include_in_schema=False)
    app.mount(UI_PATH, create_dashboard(app), name="ui")

"""`/docs` (Swagger UI) and `/redoc` (ReDoc), from assets vendored in the package rather than a
public CDN, so the pages work on an offline or air-gapped install. FastAPI's own docs routes
are turned off in `create_app` (`docs_url=None, redoc_url=None`); these replace them, along with
the Swagger UI OAuth2 redirect page FastAPI would have added."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse

from sightline.web.static import root_path, static_url

SWAGGER_UI = "vendor/swagger-ui"
REDOC = "vendor/redoc"
FAVICON = f"{SWAGGER_UI}/favicon-32x32.png"
OAUTH2_REDIRECT_PATH = "/docs/oauth2-redirect"

# No online validator (validator.swagger.io): not even a layout that shows its badge may call it.
_SWAGGER_UI_PARAMETERS: dict[str, Any] = {"validatorUrl": None}

router = APIRouter(include_in_schema=False)


def _openapi_url(request: Request) -> str:
    return root_path(request) + (request.app.openapi_url or "/openapi.json")


@router.get("/docs", response_class=HTMLResponse)
async def swagger_ui(request: Request) -> HTMLResponse:
    app = request.app
    return get_swagger_ui_html(
        openapi_url=_openapi_url(request),
        title=f"{app.title} - Swagger UI",
        swagger_js_url=static_url(request, f"{SWAGGER_UI}/swagger-ui-bundle.js"),
        swagger_css_url=static_url(request, f"{SWAGGER_UI}/swagger-ui.css"),
        swagger_favicon_url=static_url(request, FAVICON),
        oauth2_redirect_url=root_path(request) + OAUTH2_REDIRECT_PATH,
        init_oauth=app.swagger_ui_init_oauth,
        swagger_ui_parameters={**(app.swagger_ui_parameters or {}), **_SWAGGER_UI_PARAMETERS},
    )


@router.get(OAUTH2_REDIRECT_PATH, response_class=HTMLResponse)
async def swagger_ui_oauth2_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


@router.get("/redoc", response_class=HTMLResponse)
async def redoc(request: Request) -> HTMLResponse:
    return get_redoc_html(
        openapi_url=_openapi_url(request),
        title=f"{request.app.title} - ReDoc",
        redoc_js_url=static_url(request, f"{REDOC}/redoc.standalone.js"),
        redoc_favicon_url=static_url(request, FAVICON),
        with_google_fonts=False,
    )

"""The package's static folder (`web/static/`), served at `/static`: the vendored Swagger UI and
ReDoc (`vendor/`, each with its licence and version note) and, later, the dashboard's assets.
Located from this file, so it works from a checkout and from an installed wheel alike."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC_PATH = "/static"
STATIC_NAME = "static"


def static_files() -> StaticFiles:
    return StaticFiles(directory=STATIC_DIR)


def root_path(request: Request) -> str:
    """The prefix the app is mounted under (empty unless behind a proxy that sets it)."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def static_url(request: Request, path: str) -> str:
    """A root-relative URL (same origin, under any `root_path`), never an absolute one."""
    return f"{root_path(request)}{STATIC_PATH}/{path}"

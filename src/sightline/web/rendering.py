"""Templates (Jinja2, autoescaped: everything an agent sent is text), the filters pages
share, and the dashboard's URLs (under any proxy `root_path`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.requests import Request
from starlette.responses import HTMLResponse

from sightline import __version__

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
FOLD_CHARS = 2_000  # payloads longer than this are folded behind "show all"

_env = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def ui_base(request: Request) -> str:
    """The dashboard's prefix (`/ui`, under any root_path): the mount's root_path."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def app_base(request: Request) -> str:
    """The whole app's prefix, where /static and the API live."""
    return str(request.scope.get("app_root_path", "")).rstrip("/")


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    values: dict[str, Any] = {
        "request": request,
        "ui": ui_base(request),
        "api": app_base(request),
        "static": app_base(request) + "/static",
        "version": __version__,
        "viewer": getattr(request.state, "viewer", None),
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "nav": "",
    }
    values.update(context or {})
    html = _env.get_template(template).render(values)
    return HTMLResponse(html, status_code=status_code, headers=dict(headers or {}))


def duration(ms: float | None) -> str:
    if ms is None:
        return "—"
    if ms < 1_000:
        return f"{ms:.0f} ms"
    if ms < 60_000:
        return f"{ms / 1000:.2f} s"
    return f"{ms / 60_000:.1f} min"


def usd(value: float | None) -> str:
    if value is None:
        return "—"
    if value == 0:
        return "$0"
    if value < 0.01:
        return f"${value:.6f}".rstrip("0")
    return f"${value:,.4f}".rstrip("0").rstrip(".")


def when(value: datetime | str | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.strftime("%Y-%m-%d %H:%M:%S UTC")


def pretty(value: Any) -> str:
    """A payload as indented JSON (a string as itself), for a <pre>."""
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def number(value: float | int | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.4f}".rstrip("0").rstrip(".")


def query(params: Mapping[str, Any], **overrides: Any) -> str:
    """A query string from the page's parameters with some replaced (None drops one)."""
    merged: dict[str, Any] = {**params, **overrides}
    pairs: list[tuple[str, str]] = []
    for name, value in merged.items():
        if value is None or value == "" or value == []:
            continue
        for item in value if isinstance(value, list) else [value]:
            pairs.append((name, str(item)))
    return "?" + urlencode(pairs) if pairs else "?"


_env.filters.update(duration=duration, usd=usd, when=when, pretty=pretty, number=number)
_env.globals.update(query=query, FOLD_CHARS=FOLD_CHARS)

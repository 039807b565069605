"""The dashboard's error pages: the API's errors, as HTML. What the session's organization
cannot see (or what does not exist) is the 404 page; a session that ended goes to sign-in."""

from __future__ import annotations

import logging
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import RedirectResponse, Response

from sightline.errors import SightlineError, validation_envelope
from sightline.web.auth.dependencies import SignInRequired
from sightline.web.rendering import render, ui_base

logger = logging.getLogger("sightline")

_TITLES = {
    400: "Bad request",
    403: "Refused",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Too large",
    422: "Invalid input",
    429: "Too many requests",
}


def _page(request: Request, status: int, message: str, errors: list[dict[str, str]]) -> Response:
    return render(
        request,
        "errors/error.html",
        {
            "status": status,
            "title": _TITLES.get(status, "Error"),
            "message": message,
            "errors": errors,
        },
        status_code=status,
    )


async def _sign_in_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequired)
    target = f"{ui_base(request)}/sign-in"
    after = request.url.path if request.method == "GET" else None
    params = []
    if after:
        params.append(f"next={quote(after)}")
    if exc.message:
        params.append(f"message={quote(exc.message)}")
    url = target + ("?" + "&".join(params) if params else "")
    if request.headers.get("hx-request"):  # htmx follows this header, not a 3xx
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


async def _sightline_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SightlineError)
    return _page(request, exc.status_code, exc.detail, [])


async def _validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    envelope = validation_envelope(exc.errors())
    if any(e.get("loc", ("",))[0] == "path" for e in exc.errors()):
        return _page(request, 404, "There is nothing at this address.", [])
    return _page(request, 422, "Some of the input was not valid.", envelope["errors"])


async def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    message = "There is nothing at this address." if exc.status_code == 404 else str(exc.detail)
    return _page(request, exc.status_code, message, [])


async def _unhandled(request: Request, exc: Exception) -> Response:
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _page(request, 500, "Something went wrong on the server; it is in the log.", [])


def install(app: FastAPI) -> None:
    app.add_exception_handler(SignInRequired, _sign_in_required)
    app.add_exception_handler(SightlineError, _sightline_error)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(Exception, _unhandled)

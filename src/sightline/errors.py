"""The error tree and the one handler that turns errors into the API's envelopes.

    SightlineError                 {"detail": message}, status from the class
    ├── BadRequest (400)           a body that cannot be decoded (OTLP)
    ├── Unauthorized (401)
    ├── NotFound (404)
    ├── Conflict (409)
    ├── PayloadTooLarge (413)
    ├── UnsupportedMediaType (415)
    ├── DomainValidationError (422)
    └── TooManyRequests (429, Retry-After)

Request-schema errors (Pydantic) become 422 {"detail": "Validation error", "errors": [...]},
PandaProbe's shape, where each error names its field as "spans -> 0 -> name".
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger("sightline")


class SightlineError(Exception):
    status_code = 500

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers


class BadRequest(SightlineError):
    status_code = 400


class Unauthorized(SightlineError):
    status_code = 401


class NotFound(SightlineError):
    status_code = 404


class Conflict(SightlineError):
    status_code = 409


class PayloadTooLarge(SightlineError):
    status_code = 413


class UnsupportedMediaType(SightlineError):
    status_code = 415


class DomainValidationError(SightlineError):
    status_code = 422


class TooManyRequests(SightlineError):
    status_code = 429

    def __init__(self, detail: str, *, retry_after_seconds: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after_seconds)})


def _field_name(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] == "body":
        parts = parts[1:]
    return " -> ".join(parts)


def _message(error: dict[str, Any]) -> str:
    msg = str(error.get("msg", "Invalid value"))
    if error.get("type") == "json_invalid":
        ctx = error.get("ctx") or {}
        return f"Invalid JSON: {ctx.get('error', msg)}"
    return msg


def validation_envelope(errors: Sequence[Any]) -> dict[str, Any]:
    return {
        "detail": "Validation error",
        "errors": [
            {"field": _field_name(e.get("loc", ())), "message": _message(e)} for e in errors
        ],
    }


async def _sightline_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SightlineError)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


async def _request_validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError | ValidationError)
    return JSONResponse(validation_envelope(exc.errors()), status_code=422)


async def _http_exception(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and isinstance(exc.__cause__, UnicodeDecodeError):
        # FastAPI answers 400 "error parsing the body" for a body that is not UTF-8; to a
        # client it is JSON that cannot be decoded, which the contract answers with 422.
        envelope = validation_envelope(
            [{"loc": ("body",), "msg": "Invalid JSON: the body is not valid UTF-8"}]
        )
        return JSONResponse(envelope, status_code=422)
    return JSONResponse(
        {"detail": exc.detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None)
    )


async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"detail": "Internal server error"}, status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(SightlineError, _sightline_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(ValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_exception)
    app.add_exception_handler(Exception, _unhandled)

"""The OpenAPI document, with the error answers the server really gives.

FastAPI declares only the success answer and a 422 in its own `HTTPValidationError` shape,
which this API never sends (errors.py answers PandaProbe's envelopes). `install` replaces
`app.openapi` with a cached version of FastAPI's document in which every operation also
declares the errors it can answer:

    401  every operation behind the API key (a dependency in `SCOPES`)
    404  a path parameter naming a resource, and the few bodies that name one (table below)
    409  the operations in `CONFLICTS`
    413  every operation with a request body (BodyLimitMiddleware)
    422  every operation with parameters or a body (`ValidationErrorResponse`), and every
         authenticated one (X-Project-Name missing or malformed: `ErrorResponse`)
    429  every operation whose scope is rate limited (`RATE_LIMITED_SCOPES`), with a
         `Retry-After` header

All of it is read from the routes (methods, parameters, body, dependencies), so a new route
is described without touching this module, except what a route cannot tell: which services
raise Conflict, and which path parameters or bodies name a resource. Those are the small
tables below.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import get_flat_dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from pydantic.json_schema import models_json_schema
from starlette.routing import BaseRoute

from sightline.dependencies import get_ingest_scope, get_run_scope, get_scope

Operation = tuple[str, str]  # (method, path), as the routes declare them

# The scope dependencies: each authenticates the key; the last two also count the request
# against one of the key's rate limits (ratelimit/), so their routes can answer 429.
SCOPES = (get_scope, get_ingest_scope, get_run_scope)
RATE_LIMITED_SCOPES = (get_ingest_scope, get_run_scope)

# Services raising Conflict (409), by the routes that call them: trace and span IDs owned by
# another project or trace and racing writes (traces/ingest), a paused monitor (monitors).
CONFLICTS: frozenset[Operation] = frozenset(
    {
        ("POST", "/traces"),
        ("POST", "/traces/batch"),
        ("POST", "/traces/{trace_id}/spans"),
        ("POST", "/evaluations/monitors/{monitor_id}/trigger"),
        # A custom metric's name already in use in the project, or a concurrent edit.
        ("POST", "/evaluations/metrics"),
        ("PATCH", "/evaluations/metrics/{name}"),
        # An annotation queue's item already annotated, or held by another reviewer.
        ("POST", "/evaluations/annotation-queues/{queue_id}/items/{item_id}/annotations"),
        ("POST", "/evaluations/annotation-queues/{queue_id}/items/{item_id}/skip"),
    }
)

# The path parameter of these filters a list (empty when nothing matches) instead of naming
# one resource, so they never answer 404.
PATH_FILTERS: frozenset[Operation] = frozenset(
    {
        ("GET", "/evaluations/trace-scores/{trace_id}"),
        ("GET", "/evaluations/session-scores/{session_id}"),
        ("GET", "/evaluations/analytics/session-scores/history/{session_id}"),
    }
)

# Bodies that name a resource the service looks up.
BODY_LOOKUPS: frozenset[Operation] = frozenset({("POST", "/evaluations/trace-scores")})


class ErrorResponse(BaseModel):
    """Every error but a request-schema one: one human-readable message."""

    detail: str


class FieldError(BaseModel):
    field: str = Field(
        description="Where the error is, joined by ' -> ' without the leading 'body': "
        "'spans -> 0 -> name', 'query -> limit', 'path -> trace_id'; '' for a rule on "
        "the whole body."
    )
    message: str


class ValidationErrorResponse(BaseModel):
    """The request does not match its schema (body, query or path; JSON syntax included)."""

    detail: str = Field(description='Always "Validation error".')
    errors: list[FieldError]


# FastAPI's own 422 shapes, which nothing answers.
FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")
ENVELOPES = (ErrorResponse, ValidationErrorResponse)
REF = "#/components/schemas/{model}"


def install(app: FastAPI) -> None:
    """Makes `app.openapi` (which serves /openapi.json) answer the described document, built
    once on first use."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            # FastAPI's own method caches its document there too; the described one replaces it.
            app.openapi_schema = describe_errors(generate(), app.routes)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented hook


def describe_errors(document: dict[str, Any], routes: Iterable[BaseRoute]) -> dict[str, Any]:
    """Adds the error envelopes and each operation's error answers, in place."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in FASTAPI_VALIDATION_SCHEMAS:
        schemas.pop(name, None)
    _, definitions = models_json_schema([(m, "serialization") for m in ENVELOPES], ref_template=REF)
    schemas.update(definitions["$defs"])
    for route, method in _operations(routes):
        operation = document["paths"][route.path_format][method.lower()]
        responses = operation["responses"]
        responses.pop("422", None)
        responses.update(error_responses(route, method))
        operation["responses"] = dict(sorted(responses.items()))
    return document


def error_responses(route: APIRoute, method: str) -> dict[str, dict[str, Any]]:
    key = (method, route.path_format)
    flat = get_flat_dependant(route.dependant)
    calls = set(_calls(route.dependant))
    authenticated = any(scope in calls for scope in SCOPES)
    has_body = route.body_field is not None
    has_input = has_body or bool(
        flat.path_params or flat.query_params or flat.header_params or flat.cookie_params
    )
    statuses: dict[str, dict[str, Any]] = {}
    if authenticated:
        statuses["401"] = _error("Missing, invalid, revoked or expired credentials.")
    if (flat.path_params and key not in PATH_FILTERS) or key in BODY_LOOKUPS:
        statuses["404"] = _error("Not found in the caller's project.")
    if key in CONFLICTS:
        statuses["409"] = _error(
            "Conflicts with what is stored (an ID owned by another project or trace, a paused "
            "monitor, a metric name in use); nothing was written."
        )
    if has_body:
        statuses["413"] = _error("The body is over the limit (SIGHTLINE_MAX_BODY_BYTES).")
    if has_input or authenticated:
        statuses["422"] = _validation_error(has_input=has_input, authenticated=authenticated)
    if any(scope in calls for scope in RATE_LIMITED_SCOPES):
        statuses["429"] = _too_many_requests()
    return statuses


def _operations(routes: Iterable[BaseRoute]) -> Iterator[tuple[APIRoute, str]]:
    for route in routes:
        if isinstance(route, APIRoute) and route.include_in_schema:
            for method in sorted(route.methods):
                yield route, method


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any] | None]:
    for dependency in dependant.dependencies:
        yield dependency.call
        yield from _calls(dependency)


def _content(model: type[BaseModel]) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": REF.format(model=model.__name__)}}}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": _content(ErrorResponse)}


def _validation_error(*, has_input: bool, authenticated: bool) -> dict[str, Any]:
    # A request-schema error names its fields; a rule of the API (the project scope every
    # authenticated operation checks, unknown metrics, ...) answers a message alone.
    if not has_input:
        return _error("The project scope (X-Project-Name or X-Project-ID) is missing or invalid.")
    if not authenticated:
        return {
            "description": "The request does not match its schema.",
            "content": _content(ValidationErrorResponse),
        }
    either = [{"$ref": REF.format(model=m.__name__)} for m in ENVELOPES]
    return {
        "description": "The request does not match its schema (`errors` names each field), "
        "or breaks a rule of the API (`detail` alone).",
        "content": {"application/json": {"schema": {"anyOf": either}}},
    }


def _too_many_requests() -> dict[str, Any]:
    retry_after = {
        "description": "Seconds to wait before the key may send again.",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
    }
    return {
        **_error("The API key is over its rate limit; retry after `Retry-After` seconds."),
        "headers": {"Retry-After": retry_after},
    }

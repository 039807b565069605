"""The OpenAPI document tells the truth (issue 10): it declares the error envelopes and every
status an operation answers (sightline/openapi.py), OPTIONS and 405 list every method of a
path (sightline/allow.py), and real answers match the document.

The last part is schemathesis: each operation, with generated valid and invalid input, sent
over HTTP with a real API key to a real app (uvicorn in a thread, on the backend's
database), each answer checked against what the document declares for it. The budget is
small and the generation derandomized, so every run sends the same requests."""

from __future__ import annotations

import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
import uvicorn
from fastapi import FastAPI
from schemathesis import Case

from sightline import openapi
from sightline.app import create_app
from sightline.identity import keys
from tests.conftest import make_settings
from tests.support.server import free_port

ENVELOPE_REFS = {
    "#/components/schemas/ErrorResponse",
    "#/components/schemas/ValidationErrorResponse",
}
UNAUTHENTICATED = {("GET", "/health"), ("GET", "/")}


def _app_without_lifespan() -> FastAPI:
    # The document and the routing need neither the database nor the workers.
    return create_app(
        make_settings("sqlite+aiosqlite:///:memory:", Path(tempfile.mkdtemp(prefix="sightline-")))
    )


DOCUMENT: dict[str, Any] = _app_without_lifespan().openapi()


def _operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            yield method.upper(), path, operation


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _response_refs(operation: dict[str, Any], status: str) -> set[str]:
    return set(_refs(operation["responses"][status]["content"]))


def test_fastapi_validation_shapes_are_gone() -> None:
    schemas = DOCUMENT["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert "ValidationError" not in schemas
    assert not {
        r for r in _refs(DOCUMENT) if r.endswith(("/HTTPValidationError", "/ValidationError"))
    }
    assert schemas["ValidationErrorResponse"]["required"] == ["detail", "errors"]
    assert schemas["FieldError"]["required"] == ["field", "message"]
    assert schemas["ErrorResponse"]["required"] == ["detail"]


def test_every_error_answer_is_an_envelope() -> None:
    for method, path, operation in _operations():
        for status in operation["responses"]:
            if status.startswith(("4", "5")):
                refs = _response_refs(operation, status)
                assert refs and refs <= ENVELOPE_REFS, (method, path, status)


def test_422_is_the_validation_envelope_wherever_input_is_validated() -> None:
    for method, path, operation in _operations():
        has_input = bool(operation.get("parameters")) or "requestBody" in operation
        if has_input:
            refs = _response_refs(operation, "422")
            assert "#/components/schemas/ValidationErrorResponse" in refs, (method, path)


def test_each_authenticated_operation_declares_401_and_422() -> None:
    for method, path, operation in _operations():
        statuses = set(operation["responses"])
        if (method, path) in UNAUTHENTICATED:
            assert not statuses & {"401", "422"}, (method, path)
        else:
            # 422: X-Project-Name missing or malformed, even without parameters.
            assert {"401", "422"} <= statuses, (method, path)


def test_statuses_of_some_operations() -> None:
    def statuses(method: str, path: str) -> set[str]:
        return set(DOCUMENT["paths"][path][method.lower()]["responses"])

    assert statuses("POST", "/traces") == {"202", "401", "409", "413", "422", "429"}
    assert statuses("GET", "/traces/{trace_id}") == {"200", "401", "404", "422"}
    trigger = "/evaluations/monitors/{monitor_id}/trigger"
    assert statuses("POST", trigger) == {"202", "401", "404", "409", "422", "429"}
    run = {"202", "401", "413", "422", "429"}
    assert statuses("POST", "/evaluations/trace-runs") == run
    # A path parameter that only filters a list: no 404.
    assert "404" not in statuses("GET", "/evaluations/trace-scores/{trace_id}")
    assert statuses("GET", "/health") == {"200"}


def test_the_tables_name_real_operations() -> None:
    # A renamed route would otherwise leave its entry behind, silently declaring nothing.
    operations = {(method, path) for method, path, _ in _operations()}
    tables = openapi.CONFLICTS | openapi.PATH_FILTERS | openapi.BODY_LOOKUPS
    assert tables <= operations


def test_429_declares_retry_after() -> None:
    too_many = DOCUMENT["paths"]["/traces/batch"]["post"]["responses"]["429"]
    assert too_many["headers"]["Retry-After"]["required"] is True
    assert too_many["headers"]["Retry-After"]["schema"]["type"] == "integer"


def test_the_document_is_built_once() -> None:
    app = _app_without_lifespan()
    assert app.openapi() is app.openapi()


@pytest.fixture
async def bare_client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=_app_without_lifespan())
    async with httpx.AsyncClient(transport=transport, base_url="http://sightline.test") as client:
        yield client


async def test_openapi_json_serves_the_described_document(bare_client: httpx.AsyncClient) -> None:
    assert (await bare_client.get("/openapi.json")).json() == DOCUMENT


MONITOR = f"/evaluations/monitors/{uuid.uuid4()}"


async def test_options_lists_every_method_of_the_path(bare_client: httpx.AsyncClient) -> None:
    response = await bare_client.options(MONITOR)
    assert response.status_code == 204
    assert response.headers["allow"] == "GET, PATCH, DELETE, OPTIONS"
    assert (await bare_client.options("/health")).headers["allow"] == "GET, OPTIONS"


async def test_a_wrong_method_answers_405_with_every_method(
    bare_client: httpx.AsyncClient,
) -> None:
    response = await bare_client.put(MONITOR)
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, PATCH, DELETE, OPTIONS"
    assert response.json() == {"detail": "Method Not Allowed"}


async def test_allow_lists_what_every_matching_route_serves(
    bare_client: httpx.AsyncClient,
) -> None:
    # DELETE /sessions/analytics deletes the session named "analytics" (/sessions/{session_id}),
    # so it is allowed there too: Allow lists what does not answer 405.
    response = await bare_client.options("/sessions/analytics")
    assert response.headers["allow"] == "GET, DELETE, OPTIONS"


async def test_an_unknown_path_is_still_404(bare_client: httpx.AsyncClient) -> None:
    for method in ("OPTIONS", "GET", "PUT"):
        response = await bare_client.request(method, "/no-such-path")
        assert response.status_code == 404
        assert "allow" not in response.headers


async def test_a_cors_preflight_is_still_cors(bare_client: httpx.AsyncClient) -> None:
    # No origin is configured: CORSMiddleware refuses it, before the router sees it.
    preflight = {"Origin": "https://ui.example", "Access-Control-Request-Method": "PATCH"}
    response = await bare_client.options(MONITOR, headers=preflight)
    assert response.status_code == 400
    assert response.text == "Disallowed CORS origin"


# --- real answers against the document ---------------------------------------------------

# About 10 generated requests per operation, valid and invalid, fuzzing only: ~15 s per
# database. The coverage phase (every boundary and invalid value of every parameter, and the
# undeclared methods) sends ~4,000 requests, ~35 s per database: too much for each run.
CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20240610,
        "suppress-health-check": ["too_slow", "filter_too_much", "data_too_large"],
        "generation": {
            "mode": "all",
            "max-examples": 10,
            "deterministic": True,
            "database": "none",  # no replay of earlier failures: the same cases every run
        },
        "phases": {
            "examples": {"enabled": True},
            "coverage": {"enabled": False},
            "fuzzing": {"enabled": True},
            "stateful": {"enabled": False},
        },
        "checks": {
            "enabled": False,
            "not_a_server_error": {"enabled": True},
            "status_code_conformance": {"enabled": True},
            "content_type_conformance": {"enabled": True},
            "response_schema_conformance": {"enabled": True},
            "response_headers_conformance": {"enabled": True},
        },
    }
)
schema = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG)


@dataclass
class LiveServer:
    base_url: str
    headers: dict[str, str]


@pytest.fixture(scope="module")
def live_server(database_url: str, data_dir: Path) -> Iterator[LiveServer]:
    """The app on a real socket, provisioned at start-up with an organization and key of its
    own (SIGHTLINE_INIT_*), so the requests are authenticated as a client's would be."""
    raw_key = keys.generate_key()
    settings = make_settings(
        database_url, data_dir, init_org=f"openapi-{uuid.uuid4().hex[:10]}", init_api_key=raw_key
    )
    port = free_port()
    config = uvicorn.Config(
        create_app(settings),
        host="127.0.0.1",
        port=port,
        # The asyncio loop and no logging set-up: both would change the whole test process.
        loop="asyncio",
        log_config=None,
        ws="none",
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="openapi-live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield LiveServer(
            f"http://127.0.0.1:{port}", {"X-API-Key": raw_key, "X-Project-Name": "openapi"}
        )
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@schema.parametrize()
def test_answers_match_the_document(case: Case, live_server: LiveServer) -> None:
    case.call_and_validate(base_url=live_server.base_url, headers=live_server.headers)

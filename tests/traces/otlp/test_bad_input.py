"""What POST /v1/traces answers to bad input, and that it stores nothing it should not:
each case against a real `sightline serve`."""

from __future__ import annotations

import gzip
import os
import uuid
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from sightline.traces.validation import MAX_SHORT_CHARS
from tests.traces.otlp.conftest import MAX_BODY_BYTES, Otlp

pytestmark = pytest.mark.slow

PROTOBUF = {"Content-Type": "application/x-protobuf"}
T0 = 1_767_000_000_000_000_000  # ns


def _attr(key: str, value: str) -> KeyValue:
    return KeyValue(key=key, value=AnyValue(string_value=value))


def _span(trace_id: bytes, span_id: bytes, name: str = "step", parent: bytes = b"") -> Span:
    return Span(
        trace_id=trace_id,
        span_id=span_id,
        parent_span_id=parent,
        name=name,
        start_time_unix_nano=T0,
        end_time_unix_nano=T0 + 5_000_000,
        attributes=[_attr("openinference.span.kind", "CHAIN")],
    )


def _request(*spans: Span, **resource: str) -> ExportTraceServiceRequest:
    attrs = [_attr(k.replace("_", "."), v) for k, v in resource.items()]
    return ExportTraceServiceRequest(
        resource_spans=[
            ResourceSpans(
                resource=Resource(attributes=attrs), scope_spans=[ScopeSpans(spans=list(spans))]
            )
        ]
    )


def _ids() -> tuple[bytes, bytes]:
    return os.urandom(16), os.urandom(8)


async def _post(otlp: Otlp, body: bytes, headers: dict[str, str], **extra: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as client:
        return await client.post(otlp.endpoint, content=body, headers={**headers, **extra})


def _response(raw: httpx.Response) -> ExportTraceServiceResponse:
    assert raw.status_code == 200, raw.text
    assert raw.headers["content-type"] == "application/x-protobuf"
    return ExportTraceServiceResponse.FromString(raw.content)


async def _total(api: httpx.AsyncClient) -> int:
    listed = (await api.get("/traces")).json()
    return int(listed["total"])


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-protobuf", b"\xff\xff\xff\xff not protobuf"),
        ("application/json", b'{"resourceSpans": [ not json'),
        (
            "application/json",
            b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz"}]}]}]}',
        ),
        ("application/json", b'{"resourceSpans": "a string"}'),
        ("application/json", b"[1, 2]"),
    ],
)
async def test_an_undecodable_body_is_400(
    otlp: Otlp, project: str, api: httpx.AsyncClient, content_type: str, body: bytes
) -> None:
    response = await _post(otlp, body, otlp.headers(project), **{"Content-Type": content_type})
    assert response.status_code == 400, response.text
    assert response.json()["detail"]
    assert await _total(api) == 0


async def test_another_content_type_is_415(otlp: Otlp, project: str) -> None:
    body = _request(_span(*_ids())).SerializeToString()
    for content_type in ("text/plain", "application/grpc", ""):
        response = await _post(otlp, body, otlp.headers(project), **{"Content-Type": content_type})
        assert response.status_code == 415, (content_type, response.text)
    response = await _post(
        otlp, body, otlp.headers(project), **PROTOBUF, **{"Content-Encoding": "br"}
    )
    assert response.status_code == 415, response.text


async def test_credentials_are_required(otlp: Otlp) -> None:
    body = _request(_span(*_ids()), service_name="svc").SerializeToString()
    assert (await _post(otlp, body, PROTOBUF)).status_code == 401
    wrong = {"Authorization": "Bearer sk_sl_not-a-key", **PROTOBUF}
    assert (await _post(otlp, body, wrong)).status_code == 401


async def test_a_gzip_bomb_and_a_body_over_the_limit_are_413(
    otlp: Otlp, project: str, api: httpx.AsyncClient
) -> None:
    valid = _request(_span(*_ids())).SerializeToString()
    bomb = gzip.compress(valid + b"\x00" * (20 * MAX_BODY_BYTES))
    assert len(bomb) < MAX_BODY_BYTES
    gz = {**PROTOBUF, "Content-Encoding": "gzip"}
    response = await _post(otlp, bomb, otlp.headers(project), **gz)
    assert response.status_code == 413, response.text
    oversized = _request(
        _span(*_ids(), name="x" * 100), service_name="y" * (MAX_BODY_BYTES + 1)
    ).SerializeToString()
    response = await _post(otlp, oversized, otlp.headers(project), **PROTOBUF)
    assert response.status_code == 413, response.text
    response = await _post(otlp, b"\x1f\x8b\x08 truncated", otlp.headers(project), **gz)
    assert response.status_code == 400, response.text
    assert await _total(api) == 0
    # the same export, gzipped and within the limit, is stored
    response = await _post(otlp, gzip.compress(valid), otlp.headers(project), **gz)
    assert _response(response).partial_success.rejected_spans == 0
    assert await _total(api) == 1


async def test_all_zero_ids_are_rejected_span_by_span(
    otlp: Otlp, project: str, api: httpx.AsyncClient
) -> None:
    trace_id, span_id = _ids()
    request = _request(
        _span(bytes(16), os.urandom(8)),
        _span(os.urandom(16), bytes(8)),
        _span(trace_id, span_id, name="kept"),
    )
    response = _response(
        await _post(otlp, request.SerializeToString(), otlp.headers(project), **PROTOBUF)
    )
    assert response.partial_success.rejected_spans == 2
    assert "trace_id" in response.partial_success.error_message
    assert "span_id" in response.partial_success.error_message
    trace = (await api.get(f"/traces/{uuid.UUID(bytes=trace_id)}")).json()
    assert [s["name"] for s in trace["spans"]] == ["kept"]
    assert trace["spans"][0]["span_id"] == str(uuid.UUID(bytes=trace_id[8:] + span_id))
    assert await _total(api) == 1


async def test_a_span_of_another_projects_trace_is_rejected(
    otlp: Otlp, project: str, api: httpx.AsyncClient
) -> None:
    trace_id, root_id = _ids()
    first = _request(_span(trace_id, root_id, name="mine"))
    response = await _post(otlp, first.SerializeToString(), otlp.headers(project), **PROTOBUF)
    assert _response(response).partial_success.rejected_spans == 0

    intruder = f"{project}-other"
    second = _request(
        _span(trace_id, os.urandom(8), name="theirs", parent=root_id),
        _span(*_ids(), name="their own trace"),
    )
    response = await _post(otlp, second.SerializeToString(), otlp.headers(intruder), **PROTOBUF)
    partial = _response(response).partial_success
    assert partial.rejected_spans == 1
    assert "another project" in partial.error_message

    trace = (await api.get(f"/traces/{uuid.UUID(bytes=trace_id)}")).json()
    assert [s["name"] for s in trace["spans"]] == ["mine"]
    async with httpx.AsyncClient(
        base_url=otlp.server.base_url, headers=otlp.headers(intruder), timeout=30
    ) as theirs:
        listed = (await theirs.get("/traces")).json()
    assert [t["name"] for t in listed["items"]] == ["their own trace"]


async def test_otlp_json_with_hex_ids(otlp: Otlp, project: str, api: httpx.AsyncClient) -> None:
    trace_hex, root_hex, child_hex = os.urandom(16).hex(), os.urandom(8).hex(), os.urandom(8).hex()

    def span(span_hex: str, name: str, **extra: Any) -> dict[str, Any]:
        return {
            "traceId": trace_hex,
            "spanId": span_hex,
            "name": name,
            "startTimeUnixNano": str(T0),
            "endTimeUnixNano": str(T0 + 1_000_000),
            "status": {"code": 2, "message": "boom"},
            "someFieldFromTheFuture": True,
            **extra,
        }

    body = {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": "svc"}}]
                },
                "scopeSpans": [
                    {
                        "spans": [
                            span(child_hex, "child", parentSpanId=root_hex),
                            span(root_hex, "root"),
                            span(os.urandom(8).hex(), "orphan", traceId="00" * 16),
                        ]
                    }
                ],
            }
        ]
    }
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(otlp.endpoint, json=body, headers=otlp.headers(project))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    partial = response.json()["partialSuccess"]
    assert partial["rejectedSpans"] in (1, "1")
    trace = (await api.get(f"/traces/{uuid.UUID(hex=trace_hex)}")).json()
    assert trace["name"] == "root"
    assert trace["status"] == "ERROR"
    by_name = {s["name"]: s for s in trace["spans"]}
    assert by_name["child"]["parent_span_id"] == by_name["root"]["span_id"]
    assert by_name["root"]["error"] == "boom"


async def test_the_project_comes_from_the_resource_without_a_header(otlp: Otlp) -> None:
    named = f"svc-{uuid.uuid4().hex[:8]}"
    openinference = f"oi-{uuid.uuid4().hex[:8]}"
    request = ExportTraceServiceRequest(
        resource_spans=[
            _request(_span(*_ids(), name="by-service"), service_name=named).resource_spans[0],
            _request(
                _span(*_ids(), name="by-openinference"),
                service_name=named,
                openinference_project_name=openinference,
            ).resource_spans[0],
            _request(
                _span(*_ids(), name="bad-name"), service_name="unknown_service:python!"
            ).resource_spans[0],
            _request(_span(*_ids(), name="no-name")).resource_spans[0],
        ]
    )
    response = await _post(
        otlp, request.SerializeToString(), {"X-API-Key": otlp.api_key}, **PROTOBUF
    )
    partial = _response(response).partial_success
    assert partial.rejected_spans == 2
    assert "no project" in partial.error_message
    for project_name, expected in ((named, "by-service"), (openinference, "by-openinference")):
        async with httpx.AsyncClient(
            base_url=otlp.server.base_url, headers=otlp.headers(project_name), timeout=30
        ) as client:
            listed = (await client.get("/traces")).json()
        assert [t["name"] for t in listed["items"]] == [expected]


async def test_odd_values_are_stored_readably_or_refused_naming_the_field(
    otlp: Otlp, project: str, api: httpx.AsyncClient
) -> None:
    odd_trace, odd_span = _ids()
    odd = _span(odd_trace, odd_span, name="step\x00one")
    odd.status.code = Status.STATUS_CODE_ERROR
    odd.status.message = "bad\x00thing"
    odd.attributes.append(_attr("llm.input_messages.\u00b2.message.content", "superscript"))
    long_trace, long_span = _ids()
    long_session = _span(long_trace, long_span, name="long session")
    long_session.attributes.append(_attr("session.id", "s" * (MAX_SHORT_CHARS + 1)))
    request = _request(odd, long_session)
    response = _response(
        await _post(otlp, request.SerializeToString(), otlp.headers(project), **PROTOBUF)
    )
    # The session ID a validation would refuse is refused, by name; the rest is stored.
    assert response.partial_success.rejected_spans == 1
    assert "session_id" in response.partial_success.error_message
    assert (await api.get(f"/traces/{uuid.UUID(bytes=long_trace)}")).status_code == 404
    trace = (await api.get(f"/traces/{uuid.UUID(bytes=odd_trace)}")).json()
    [span] = trace["spans"]
    assert span["name"] == trace["name"] == "step\ufffdone"
    assert span["status"] == "ERROR" and "bad\ufffdthing" in span["error"]

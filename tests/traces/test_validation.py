"""Bad input: a 422 (or 413) naming the field and the problem, and nothing stored."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
import pytest

from sightline.traces.validation import storable_body
from tests.conftest import Tenant
from tests.traces.conftest import post_trace, span, total_traces, trace

Body = dict[str, Any]


def _set(path: str, value: Any) -> Callable[[Body], None]:
    def apply(body: Body) -> None:
        target: Any = body
        *parents, last = path.split(".")
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[last] = value

    return apply


# (case id, mutation, field named in the error, words of the message)
BAD_BODIES: list[tuple[str, Callable[[Body], None], str, str]] = [
    (
        "token float",
        _set("spans.0.token_usage", {"prompt_tokens": 10.5}),
        "spans -> 0 -> token_usage -> prompt_tokens",
        "valid integer",
    ),
    (
        "token string",
        _set("spans.0.token_usage", {"completion_tokens": "abc"}),
        "spans -> 0 -> token_usage -> completion_tokens",
        "valid integer",
    ),
    (
        "token bool",
        _set("spans.0.token_usage", {"total_tokens": True}),
        "spans -> 0 -> token_usage -> total_tokens",
        "valid integer",
    ),
    (
        "token negative",
        _set("spans.0.token_usage", {"prompt_tokens": -1}),
        "spans -> 0 -> token_usage -> prompt_tokens",
        "greater than or equal to 0",
    ),
    (
        "token huge",
        _set("spans.0.token_usage", {"prompt_tokens": 2**40}),
        "spans -> 0 -> token_usage -> prompt_tokens",
        "less than or equal",
    ),
    (
        "cost string",
        _set("spans.0.cost", {"total": "0.1"}),
        "spans -> 0 -> cost -> total",
        "valid number",
    ),
    (
        "cost bool",
        _set("spans.0.cost", {"total": False}),
        "spans -> 0 -> cost -> total",
        "valid number",
    ),
    ("nul in name", _set("name", "bad\x00name"), "name", "NUL"),
    ("nul in span name", _set("spans.0.name", "x\x00"), "spans -> 0 -> name", "NUL"),
    ("nul in nested input", _set("input", {"messages": [{"content": "a\x00b"}]}), "input", "NUL"),
    ("nul in metadata key", _set("metadata", {"k\x00": 1}), "metadata", "NUL"),
    (
        "nul in span output",
        _set("spans.0.output", ["ok", {"deep": ["\x00"]}]),
        "spans -> 0 -> output",
        "NUL",
    ),
    ("nul in tag", _set("tags", ["a\x00"]), "tags -> 0", "NUL"),
    ("nul in session_id", _set("session_id", "s\x00"), "session_id", "NUL"),
    ("nul in span error", _set("spans.0.error", "\x00"), "spans -> 0 -> error", "NUL"),
    ("name too long", _set("name", "n" * 513), "name", "at most 512"),
    ("name empty", _set("name", ""), "name", "at least 1"),
    ("span name too long", _set("spans.0.name", "n" * 513), "spans -> 0 -> name", "at most 512"),
    ("session_id too long", _set("session_id", "s" * 256), "session_id", "at most 255"),
    ("user_id too long", _set("user_id", "u" * 256), "user_id", "at most 255"),
    ("environment too long", _set("environment", "e" * 256), "environment", "at most 255"),
    ("release too long", _set("release", "r" * 256), "release", "at most 255"),
    ("model too long", _set("spans.0.model", "m" * 256), "spans -> 0 -> model", "at most 255"),
    ("too many tags", _set("tags", [f"t{i}" for i in range(101)]), "tags", "at most 100"),
    ("tag too long", _set("tags", ["t" * 256]), "tags -> 0", "at most 255"),
    ("too many spans", _set("spans", [span() for _ in range(501)]), "spans", "at most 500"),
    ("unknown span kind", _set("spans.0.kind", "ROBOT"), "spans -> 0 -> kind", "'AGENT'"),
    ("unknown span status", _set("spans.0.status", "FINE"), "spans -> 0 -> status", "'ERROR'"),
    ("unknown trace status", _set("status", "DONE"), "status", "'COMPLETED'"),
    ("bad started_at", _set("started_at", "yesterday"), "started_at", "datetime"),
    (
        "bad span ended_at",
        _set("spans.0.ended_at", "2026-13-45"),
        "spans -> 0 -> ended_at",
        "datetime",
    ),
    (
        "started_at past year 9999 in UTC",
        _set("started_at", "9999-12-31T23:59:59-05:00"),
        "started_at",
        "out of range",
    ),
    (
        "ended_at before year 1 in UTC",
        _set("ended_at", "0001-01-01T00:00:00+05:00"),
        "ended_at",
        "out of range",
    ),
    ("bad trace_id", _set("trace_id", "not-a-uuid"), "trace_id", "UUID"),
    ("bad span_id", _set("spans.0.span_id", "123"), "spans -> 0 -> span_id", "UUID"),
    (
        "bad parent_span_id",
        _set("spans.0.parent_span_id", "x"),
        "spans -> 0 -> parent_span_id",
        "UUID",
    ),
    ("metadata not object", _set("metadata", ["a"]), "metadata", "valid dictionary"),
    (
        "model_parameters not object",
        _set("spans.0.model_parameters", 3),
        "spans -> 0 -> model_parameters",
        "valid dictionary",
    ),
    ("missing name", lambda body: body.pop("name"), "name", "Field required"),
    ("missing started_at", lambda body: body.pop("started_at"), "started_at", "Field required"),
    ("null status", _set("status", None), "status", "'COMPLETED'"),
    (
        "trace ends before it starts",
        _set("ended_at", "2025-12-31T23:59:59Z"),
        "ended_at",
        "must not be before started_at",
    ),
    (
        "span ends before it starts",
        _set("spans.0.ended_at", "2025-12-31T00:00:00Z"),
        "spans -> 0 -> ended_at",
        "must not be before started_at",
    ),
    (
        "negative cost",
        _set("spans.0.cost", {"total": -0.5}),
        "spans -> 0 -> cost -> total",
        "greater than or equal to 0",
    ),
    (
        "negative token count",
        _set("spans.0.token_usage", {"prompt_tokens": -3}),
        "spans -> 0 -> token_usage -> prompt_tokens",
        "greater than or equal to 0",
    ),
]


def _valid_body() -> Body:
    return trace(spans=[span(token_usage={"prompt_tokens": 1}, cost={"total": 0.1})])


async def _assert_nothing_stored(tenant: Tenant, body: Body) -> None:
    assert await total_traces(tenant.client) == 0
    trace_id = body.get("trace_id")
    if isinstance(trace_id, str) and len(trace_id) == 36:
        assert (await tenant.client.get(f"/traces/{trace_id}")).status_code == 404


@pytest.mark.parametrize(
    ("mutate", "field", "words"),
    [case[1:] for case in BAD_BODIES],
    ids=[case[0] for case in BAD_BODIES],
)
async def test_bad_trace_body_is_refused(
    tenant: Tenant, mutate: Callable[[Body], None], field: str, words: str
) -> None:
    body = _valid_body()
    mutate(body)
    response = await tenant.client.post("/traces", json=body)
    assert response.status_code == 422, response.text
    payload = response.json()
    assert payload["detail"] == "Validation error"
    fields = {e["field"]: e["message"] for e in payload["errors"]}
    assert field in fields, payload
    assert words in fields[field], payload
    await _assert_nothing_stored(tenant, body)


@pytest.mark.parametrize(
    ("raw", "field", "words"),
    [
        (
            '{"name": "n", "started_at": "2026-01-01T00:00:00Z", "input": {"x": NaN}}',
            "input",
            "NaN",
        ),
        (
            '{"name": "n", "started_at": "2026-01-01T00:00:00Z", "output": [Infinity]}',
            "output",
            "NaN or Infinity",
        ),
        ('{"name": "bad \\ud800", "started_at": "2026-01-01T00:00:00Z"}', "name", "surrogate"),
        (
            '{"name": "n", "started_at": "2026-01-01T00:00:00Z", "metadata": {"k": "\\udfff"}}',
            "metadata",
            "surrogate",
        ),
    ],
    ids=["nan", "infinity", "lone surrogate in name", "lone surrogate in metadata"],
)
async def test_unstorable_json_is_refused(tenant: Tenant, raw: str, field: str, words: str) -> None:
    response = await tenant.client.post(
        "/traces", content=raw, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text
    fields = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert words in fields[field]
    assert await total_traces(tenant.client) == 0


async def test_malformed_json_is_422(tenant: Tenant) -> None:
    response = await tenant.client.post(
        "/traces", content=b'{"name": ', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["message"].startswith("Invalid JSON")


async def test_duplicate_span_ids_in_one_body(tenant: Tenant) -> None:
    one = span()
    body = trace(spans=[one, dict(one)])
    response = await tenant.client.post("/traces", json=body)
    assert response.status_code == 422
    assert "appears more than once" in response.json()["errors"][0]["message"]
    await _assert_nothing_stored(tenant, body)


async def test_extra_token_keys_and_unknown_fields_are_accepted(tenant: Tenant) -> None:
    usage = {"prompt_tokens": 1, "completion_tokens": 2, "cache_read_tokens": 7, "x_tokens": 0}
    body = trace(spans=[span(token_usage=usage, cost={"total": 1, "input": 0.5})], unknown=1)
    assert (await tenant.client.post("/traces", json=body)).status_code == 202


async def test_body_over_the_limit_is_413(tenant: Tenant) -> None:
    settings = tenant.client._transport.app.state.settings  # type: ignore[attr-defined]
    body = trace(input="x" * settings.max_body_bytes)
    response = await tenant.client.post("/traces", json=body)
    assert response.status_code == 413
    assert "exceeds the limit" in response.json()["detail"]
    await _assert_nothing_stored(tenant, body)


async def _chunks(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def test_chunked_body_over_the_limit_is_413(tenant: Tenant) -> None:
    """Sent without Content-Length (Transfer-Encoding: chunked), as a streaming client does:
    the same 413 as a declared length, not the framework's 400 "error parsing the body"."""
    settings = tenant.client._transport.app.state.settings  # type: ignore[attr-defined]
    body = trace(input="x" * settings.max_body_bytes)
    headers = {"Content-Type": "application/json"}
    response = await tenant.client.post(
        "/traces", content=_chunks(orjson.dumps(body)), headers=headers
    )
    assert response.status_code == 413
    assert "exceeds the limit" in response.json()["detail"]
    await _assert_nothing_stored(tenant, body)
    small = trace()
    accepted = await tenant.client.post(
        "/traces", content=_chunks(orjson.dumps(small), size=100), headers=headers
    )
    assert accepted.status_code == 202, accepted.text
    assert (await tenant.client.get(f"/traces/{small['trace_id']}")).status_code == 200


async def test_bad_spans_body_stores_nothing(tenant: Tenant) -> None:
    body = await post_trace(tenant.client, spans=[span()])
    url = f"/traces/{body['trace_id']}/spans"
    bad = [span(), span(token_usage={"prompt_tokens": 1.5})]
    response = await tenant.client.post(url, json=bad)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "1 -> token_usage -> prompt_tokens"
    too_many = await tenant.client.post(url, json=[span() for _ in range(501)])
    assert too_many.status_code == 422
    assert len((await tenant.client.get(f"/traces/{body['trace_id']}")).json()["spans"]) == 1


async def test_a_patch_cannot_end_a_trace_or_span_before_it_started(tenant: Tenant) -> None:
    body = await post_trace(tenant.client, spans=[span()])
    trace_url = f"/traces/{body['trace_id']}"
    before = (await tenant.client.get(trace_url)).json()
    early = "2020-01-01T00:00:00Z"
    refused = await tenant.client.patch(trace_url, json={"ended_at": early})
    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"].startswith("ended_at: must not be before started_at")
    span_url = f"{trace_url}/spans/{before['spans'][0]['span_id']}"
    refused = await tenant.client.patch(span_url, json={"ended_at": early, "name": "renamed"})
    assert refused.status_code == 422, refused.text
    assert "must not be before started_at" in refused.json()["detail"]
    assert (await tenant.client.get(trace_url)).json() == before


async def test_bad_patch_bodies(tenant: Tenant) -> None:
    body = await post_trace(tenant.client, spans=[span()])
    url = f"/traces/{body['trace_id']}"
    for patch, field in [
        ({"status": "NOPE"}, "status"),
        ({"name": "x" * 513}, "name"),
        ({"ended_at": "later"}, "ended_at"),
        ({"output": {"a": "\x00"}}, "output"),
        ({"tags": ["t"] * 101}, "tags"),
    ]:
        response = await tenant.client.patch(url, json=patch)
        assert response.status_code == 422, patch
        assert response.json()["errors"][0]["field"] == field
    span_url = f"{url}/spans/{body['spans'][0]['span_id']}"
    response = await tenant.client.patch(span_url, json={"token_usage": {"prompt_tokens": "1"}})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "token_usage -> prompt_tokens"
    stored = (await tenant.client.get(url)).json()
    assert stored["name"] == body["name"] and stored["status"] == "COMPLETED"


BAD_QUERIES = [
    ("/traces", {"status": "FOO"}, "query -> status"),
    ("/traces", {"started_after": "not-a-date"}, "query -> started_after"),
    ("/traces", {"started_before": "2026-02-30"}, "query -> started_before"),
    ("/traces", {"limit": "0"}, "query -> limit"),
    ("/traces", {"limit": "201"}, "query -> limit"),
    ("/traces", {"offset": "-1"}, "query -> offset"),
    ("/traces", {"sort_by": "cost"}, "query -> sort_by"),
    ("/traces", {"sort_order": "up"}, "query -> sort_order"),
    ("/traces", {"name": "a\x00"}, "query -> name"),
    ("/traces/users", {"limit": "500"}, "query -> limit"),
    ("/traces/analytics", {"started_before": "2026-01-02"}, "query -> started_after"),
    (
        "/traces/analytics",
        {"started_after": "2026-01-01", "started_before": "2026-01-02", "metric": "speed"},
        "query -> metric",
    ),
    (
        "/traces/analytics",
        {"started_after": "2026-01-01", "started_before": "2026-01-02", "granularity": "month"},
        "query -> granularity",
    ),
    ("/sessions", {"has_error": "maybe"}, "query -> has_error"),
    ("/sessions", {"sort_by": "started_at"}, "query -> sort_by"),
    (
        "/sessions/analytics",
        {"started_after": "x", "started_before": "2026-01-02"},
        "query -> started_after",
    ),
    ("/sessions/s-1", {"limit": "1001"}, "query -> limit"),
    ("/traces", {"started_after": "0001-01-01T00:00:00+05:00"}, "query -> started_after"),
    ("/traces", {"tags": "a\x00"}, "query -> tags -> 0"),
    ("/sessions/a%00b", {}, "path -> session_id"),
    ("/traces/not-a-uuid", {}, "path -> trace_id"),
]


@pytest.mark.parametrize(("path", "params", "field"), BAD_QUERIES)
async def test_bad_query_is_422(
    tenant: Tenant, path: str, params: dict[str, str], field: str
) -> None:
    response = await tenant.client.get(path, params=params)
    assert response.status_code == 422, response.text
    assert field in {e["field"] for e in response.json()["errors"]}


async def test_inverted_analytics_window_is_422(tenant: Tenant) -> None:
    response = await tenant.client.get(
        "/traces/analytics",
        params={"started_after": "2026-01-02", "started_before": "2026-01-01"},
    )
    assert response.status_code == 422
    assert "started_before" in response.json()["detail"]


async def test_batch_id_lists_are_bounded(tenant: Tenant) -> None:
    ids = [str(uuid.uuid4()) for _ in range(501)]
    for path, extra in [("/traces/batch/delete", {}), ("/traces/batch/tags", {"add_tags": ["a"]})]:
        response = await tenant.client.post(path, json={"trace_ids": ids, **extra})
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "trace_ids"
        empty = await tenant.client.post(path, json={"trace_ids": [], **extra})
        assert empty.status_code == 422
    bad = await tenant.client.post("/traces/batch/delete", json={"trace_ids": ["nope"]})
    assert bad.json()["errors"][0]["field"] == "trace_ids -> 0"


@pytest.mark.parametrize(
    ("body", "storable"),
    [
        (rb'{"a": "plain", "b": ["caf\u00e9"]}', True),
        (b'{"a": "caf\xc3\xa9"}', True),
        (rb'{"a": "\u0000"}', False),
        (rb'{"a": "\uD83D"}', False),
        (rb'{"a": "\udfff"}', False),
        (rb'{"a": "\\u0000 is only text, but counts"}', False),
    ],
)
def test_storable_body_spots_every_unstorable_escape(body: bytes, storable: bool) -> None:
    assert storable_body(body, json.loads(body)) is storable


HUGE = "1" + "0" * 400  # issue 10's poison pill: larger than a double


@pytest.mark.parametrize(
    ("raw_value", "field"),
    [
        (HUGE, "input"),
        (f"[{HUGE}]", "output"),
        (f'{{"n": {HUGE}}}', "metadata"),
        (str(2**63), "input"),
        (str(2**64 + 1), "input"),
        (str(-(2**63) - 1), "output"),
        ("[" * 201 + "]" * 201, "input"),
        ("[" * 1000 + "]" * 1000, "output"),
    ],
    ids=[
        "1e400 integer in input",
        "1e400 integer in output",
        "1e400 integer in metadata",
        "2^63",
        "2^64 + 1",
        "-2^63 - 1",
        "201 deep",
        "1000 deep",
    ],
)
async def test_json_that_a_read_could_not_serve_is_refused(
    tenant: Tenant, raw_value: str, field: str
) -> None:
    raw = f'{{"name": "n", "started_at": "2026-01-01T00:00:00Z", "{field}": {raw_value}}}'
    response = await tenant.client.post(
        "/traces", content=raw, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text
    fields = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert field in fields, fields
    assert "64-bit" in fields[field] or "levels deep" in fields[field], fields
    assert await total_traces(tenant.client) == 0


async def test_json_at_the_limits_is_stored_and_read_back_exactly(tenant: Tenant) -> None:
    deep: Any = "leaf"
    for _ in range(199):  # with the object holding it: 200 levels
        deep = [deep]
    body = await post_trace(
        tenant.client,
        input={"max": 2**63 - 1, "min": -(2**63), "deep": deep},
        spans=[span(output={"big": 2**63 - 1})],
    )
    read = await tenant.client.get(f"/traces/{body['trace_id']}")
    assert read.status_code == 200, read.text
    stored = read.json()
    assert stored["input"]["max"] == 2**63 - 1 and stored["input"]["min"] == -(2**63)
    assert stored["input"]["deep"] == deep
    assert stored["spans"][0]["output"] == {"big": 2**63 - 1}


async def test_a_bare_number_as_input_or_output_is_read_back(tenant: Tenant) -> None:
    """Found by schemathesis (tests/test_openapi.py): SQLite gives a column declared JSON
    numeric affinity and stored the text `0` as the integer 0, which the JSON reader
    refused, so the trace was accepted and every later read of it answered 500."""
    body = trace(input=0, output=1.5, session_id="numbers", spans=[span(output=0, input=-7)])
    assert (await tenant.client.post("/traces", json=body)).status_code == 202
    url = f"/traces/{body['trace_id']}"
    read = (await tenant.client.get(url)).json()
    assert (read["input"], read["output"]) == (0, 1.5)
    assert (read["spans"][0]["input"], read["spans"][0]["output"]) == (-7, 0)
    patched = await tenant.client.patch(url, json={"output": 12345678901234567})
    assert patched.status_code == 200, patched.text
    assert (await tenant.client.get(url)).json()["output"] == 12345678901234567
    session = await tenant.client.get("/sessions/numbers")
    assert session.status_code == 200, session.text
    exported = await tenant.client.get("/traces/export", params={"session_id": "numbers"})
    assert orjson.loads(exported.text.splitlines()[0])["output"] == 12345678901234567
    assert (await tenant.client.post("/traces", json=body)).status_code == 202


async def test_a_body_that_is_not_utf8_is_422(tenant: Tenant) -> None:
    """Found by schemathesis: FastAPI's own 400 "error parsing the body" for it, on every
    body route; the contract answers undecodable JSON with 422 naming the body."""
    headers = {"Content-Type": "application/json"}
    for url in ("/traces", "/evaluations/trace-scores", "/evaluations/trace-runs"):
        response = await tenant.client.post(url, content=b'{"name": "\xff"}', headers=headers)
        assert response.status_code == 422, (url, response.text)
        assert response.json()["errors"][0]["field"] == "", response.json()
        assert "not valid UTF-8" in response.json()["errors"][0]["message"]
    assert await total_traces(tenant.client) == 0

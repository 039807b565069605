"""POST /traces/batch: each trace accepted or rejected on its own."""

from __future__ import annotations

import json
import uuid

from fastapi import FastAPI

from tests.conftest import Tenant, new_tenant
from tests.traces.conftest import get_trace, post_trace, span, total_traces, trace


async def test_batch_accepts_valid_traces(tenant: Tenant) -> None:
    traces = [trace(spans=[span(token_usage={"prompt_tokens": 2})]) for _ in range(3)]
    response = await tenant.client.post("/traces/batch", json={"traces": traces})
    assert response.status_code == 200
    assert response.json() == {
        "results": [
            {"trace_id": t["trace_id"], "status": "accepted", "error": None} for t in traces
        ],
        "accepted": 3,
        "rejected": 0,
    }
    for body in traces:
        assert (await get_trace(tenant.client, body["trace_id"]))["total_tokens"] == 2


async def test_one_bad_trace_does_not_sink_the_others(tenant: Tenant) -> None:
    good = trace(spans=[span()])
    bad = trace(spans=[span(token_usage={"prompt_tokens": 1.5})])
    nameless = trace()
    nameless.pop("name")
    response = await tenant.client.post(
        "/traces/batch", json={"traces": [good, bad, nameless, "not an object"]}
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (1, 3)
    results = body["results"]
    assert results[0] == {"trace_id": good["trace_id"], "status": "accepted", "error": None}
    assert results[1]["trace_id"] == bad["trace_id"] and results[1]["status"] == "rejected"
    assert "spans -> 0 -> token_usage -> prompt_tokens" in results[1]["error"]
    assert results[2]["status"] == "rejected" and "name: Field required" in results[2]["error"]
    assert results[3] == {"trace_id": None, "status": "rejected", "error": results[3]["error"]}
    assert await total_traces(tenant.client) == 1


async def test_conflicting_ids_are_rejected_individually(app: FastAPI, tenant: Tenant) -> None:
    other = await new_tenant(app, tenant.client)
    owned = await post_trace(tenant.client, spans=[span()])
    stolen_trace = trace(trace_id=owned["trace_id"], name="hijack")
    stolen_span = trace(spans=[owned["spans"][0]])
    fine = trace()
    response = await tenant.client.post(
        "/traces/batch",
        json={"traces": [stolen_trace, stolen_span, fine]},
        headers=other.headers(),
    )
    body = response.json()
    assert [r["status"] for r in body["results"]] == ["rejected", "rejected", "accepted"]
    assert "another project" in body["results"][0]["error"]
    assert "another trace" in body["results"][1]["error"]
    assert (await get_trace(tenant.client, owned["trace_id"]))["name"] == owned["name"]
    listed = await tenant.client.get("/traces", headers=other.headers())
    assert [i["trace_id"] for i in listed.json()["items"]] == [fine["trace_id"]]


async def test_repeated_trace_in_one_batch_merges(tenant: Tenant) -> None:
    first = trace(metadata={"a": 1}, tags=["x"], spans=[span()])
    second = {**first, "metadata": {"b": 2}, "tags": ["y"], "spans": [span()]}
    thief = trace(spans=[first["spans"][0]])  # claims a span of another trace in the batch
    response = await tenant.client.post("/traces/batch", json={"traces": [first, second, thief]})
    assert [r["status"] for r in response.json()["results"]] == ["accepted", "accepted", "rejected"]
    got = await get_trace(tenant.client, first["trace_id"])
    assert got["metadata"] == {"a": 1, "b": 2} and sorted(got["tags"]) == ["x", "y"]
    assert len(got["spans"]) == 2
    assert await total_traces(tenant.client) == 1


async def test_batch_size_limits(tenant: Tenant) -> None:
    empty = await tenant.client.post("/traces/batch", json={"traces": []})
    assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "traces"
    limit = tenant.client._transport.app.state.settings.max_batch_traces  # type: ignore[attr-defined]
    too_many = await tenant.client.post(
        "/traces/batch", json={"traces": [trace() for _ in range(limit + 1)]}
    )
    assert too_many.status_code == 422
    assert f"at most {limit}" in too_many.json()["detail"]
    assert await total_traces(tenant.client) == 0


async def test_batch_without_ids_generates_them(tenant: Tenant) -> None:
    response = await tenant.client.post(
        "/traces/batch", json={"traces": [{"name": "n", "started_at": "2026-01-01T00:00:00Z"}]}
    )
    [result] = response.json()["results"]
    assert result["status"] == "accepted"
    assert (await tenant.client.get(f"/traces/{uuid.UUID(result['trace_id'])}")).status_code == 200


async def test_unstorable_text_in_a_batch_rejects_only_its_trace(tenant: Tenant) -> None:
    """A body holding a NUL or lone-surrogate escape gets the per-value checks; a body
    without any is validated without them (validation.storable_body)."""
    clean = trace(spans=[span(input={"q": "caf\u00e9 \\u0000 is text here"})])
    nul = trace(spans=[span(output={"deep": ["a\x00b"]})])
    surrogate_tag = trace(tags=["ok", "\ud800"])
    mixed = json.dumps({"traces": [clean, nul, surrogate_tag]}).encode()
    assert b"\\u0000" in mixed and b"\\ud800" in mixed

    response = await tenant.client.post(
        "/traces/batch", content=mixed, headers={"Content-Type": "application/json"}
    )
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["accepted", "rejected", "rejected"]
    assert "spans -> 0 -> output: Value error, must not contain NUL" in results[1]["error"]
    assert "tags -> 1: Value error, must not contain unpaired UTF-16" in results[2]["error"]
    stored = await get_trace(tenant.client, clean["trace_id"])
    assert stored["spans"][0]["input"] == {"q": "caf\u00e9 \\u0000 is text here"}

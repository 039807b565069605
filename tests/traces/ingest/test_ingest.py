"""POST /traces, re-post merge semantics, POST /traces/{id}/spans and the PATCH routes."""

from __future__ import annotations

import uuid
from datetime import timedelta

from tests.conftest import Tenant
from tests.traces.conftest import T0, get_trace, iso, post_trace, span, trace


async def test_post_answers_202_and_is_readable_at_once(tenant: Tenant) -> None:
    body = trace(
        input={"messages": [{"role": "user", "content": "hi"}]},
        output={"messages": [{"role": "assistant", "content": "hello"}]},
        metadata={"team": "a"},
        session_id="s-1",
        user_id="u-1",
        tags=["x", "y"],
        environment="prod",
        release="1.2",
        spans=[
            span(
                model="gpt-4o-mini",
                token_usage={"prompt_tokens": 10, "completion_tokens": 5, "reasoning_tokens": 2},
                cost={"total": 0.25, "input": 0.2},
                completion_start_time=iso(T0 + timedelta(milliseconds=120)),
                model_parameters={"temperature": 0},
            ),
            span(kind="TOOL", token_usage={"prompt_tokens": 1}, cost={"total": 0.5}),
        ],
    )
    response = await tenant.client.post("/traces", json=body)
    assert response.status_code == 202
    assert response.json()["trace_id"] == body["trace_id"]
    assert isinstance(response.json()["task_id"], str) and response.json()["task_id"]

    got = await get_trace(tenant.client, body["trace_id"])
    assert set(got) == {
        "trace_id",
        "project_id",
        "name",
        "status",
        "input",
        "output",
        "metadata",
        "started_at",
        "ended_at",
        "session_id",
        "user_id",
        "tags",
        "environment",
        "release",
        "spans",
        "total_tokens",
        "total_cost",
    }
    assert got["input"] == body["input"] and got["output"] == body["output"]
    assert got["metadata"] == {"team": "a"}
    assert got["started_at"] == "2026-03-02T10:00:00+00:00"
    assert got["tags"] == ["x", "y"]
    assert got["total_tokens"] == 16  # prompt + completion only; other keys ignored
    assert got["total_cost"] == 0.75
    llm = next(s for s in got["spans"] if s["kind"] == "LLM")
    assert llm["latency_ms"] == 500.0
    assert llm["time_to_first_token_ms"] == 120.0
    assert llm["token_usage"]["reasoning_tokens"] == 2
    assert llm["cost"] == {"total": 0.25, "input": 0.2}
    assert llm["trace_id"] == body["trace_id"]


async def test_defaults_and_generated_ids(tenant: Tenant) -> None:
    response = await tenant.client.post(
        "/traces",
        json={
            "name": "n",
            "started_at": "2026-03-02T10:00:00",
            "spans": [{"name": "s", "started_at": "2026-03-02T10:00:00Z"}],
        },
    )
    assert response.status_code == 202
    got = await get_trace(tenant.client, response.json()["trace_id"])
    assert got["status"] == "COMPLETED"
    assert got["started_at"] == "2026-03-02T10:00:00+00:00"  # naive means UTC
    assert got["metadata"] == {} and got["tags"] == [] and got["ended_at"] is None
    [only] = got["spans"]
    assert (only["kind"], only["status"], only["metadata"]) == ("OTHER", "UNSET", {})
    uuid.UUID(only["span_id"])


async def test_repost_merges_instead_of_overwriting(tenant: Tenant) -> None:
    client = tenant.client
    first_span = span(
        input={"q": 1},
        output={"a": 1},
        model="m1",
        token_usage={"prompt_tokens": 10, "completion_tokens": 1},
        cost={"total": 1.0},
        model_parameters={"t": 0},
        error="boom",
        metadata={"k1": 1, "shared": "old"},
    )
    body = await post_trace(
        client,
        input={"in": 1},
        output={"out": 1},
        metadata={"a": 1, "shared": "old"},
        session_id="s",
        user_id="u",
        environment="e",
        release="r",
        tags=["one", "two"],
        status="ERROR",
        spans=[first_span],
    )
    second_span = span(name="later")
    repost = {
        "trace_id": body["trace_id"],
        "name": "renamed",
        "started_at": iso(T0 - timedelta(seconds=1)),
        "metadata": {"b": 2, "shared": "new"},
        "tags": ["two", "three"],
        "input": None,
        "spans": [
            {
                "span_id": first_span["span_id"],
                "name": "step-2",
                "started_at": iso(T0),
                "metadata": {"k2": 2, "shared": "new"},
            },
            second_span,
        ],
    }
    assert (await client.post("/traces", json=repost)).status_code == 202

    got = await get_trace(client, body["trace_id"])
    assert got["name"] == "renamed"
    assert got["started_at"] == iso(T0 - timedelta(seconds=1))
    assert got["status"] == "ERROR"  # absent: kept
    assert got["input"] == {"in": 1} and got["output"] == {"out": 1}  # null/absent: kept
    assert (got["session_id"], got["user_id"], got["environment"], got["release"]) == (
        "s",
        "u",
        "e",
        "r",
    )
    assert got["metadata"] == {"a": 1, "b": 2, "shared": "new"}
    assert sorted(got["tags"]) == ["one", "three", "two"]
    spans = {s["span_id"]: s for s in got["spans"]}
    assert len(spans) == 2
    merged = spans[first_span["span_id"]]
    assert merged["name"] == "step-2"
    assert merged["kind"] == "LLM" and merged["status"] == "OK"  # absent: kept
    assert merged["input"] == {"q": 1} and merged["output"] == {"a": 1}
    assert merged["token_usage"] == {"prompt_tokens": 10, "completion_tokens": 1}
    assert merged["cost"] == {"total": 1.0} and merged["model_parameters"] == {"t": 0}
    assert merged["model"] == "m1" and merged["error"] == "boom"
    assert merged["metadata"] == {"k1": 1, "k2": 2, "shared": "new"}
    assert got["total_tokens"] == 11 and got["total_cost"] == 1.0

    listed = (await client.get("/traces")).json()["items"]
    assert [(i["span_count"], i["total_tokens"], i["latency_ms"]) for i in listed] == [
        (2, 11, 3000.0)
    ]
    tagged = (await client.get("/traces", params={"tags": "three"})).json()["items"]
    assert sorted(tagged[0]["tags"]) == ["one", "three", "two"]


async def test_repost_leaving_spans_out_keeps_them(tenant: Tenant) -> None:
    body = await post_trace(tenant.client, spans=[span(), span()])
    await post_trace(tenant.client, trace_id=body["trace_id"], spans=[])
    assert len((await get_trace(tenant.client, body["trace_id"]))["spans"]) == 2


async def test_add_spans_endpoint(tenant: Tenant) -> None:
    client = tenant.client
    body = await post_trace(client, spans=[span(token_usage={"prompt_tokens": 1})])
    new = [span(token_usage={"prompt_tokens": 2, "completion_tokens": 3}), span(kind="TOOL")]
    response = await client.post(f"/traces/{body['trace_id']}/spans", json=new)
    assert response.status_code == 201
    assert response.json() == {"span_ids": [s["span_id"] for s in new]}
    got = await get_trace(client, body["trace_id"])
    assert len(got["spans"]) == 3 and got["total_tokens"] == 6
    # upsert by span_id: the same span again changes it, adds nothing
    again = [{**new[0], "name": "renamed", "token_usage": None}]
    assert (await client.post(f"/traces/{body['trace_id']}/spans", json=again)).status_code == 201
    got = await get_trace(client, body["trace_id"])
    assert len(got["spans"]) == 3 and got["total_tokens"] == 6
    assert "renamed" in {s["name"] for s in got["spans"]}

    missing = await client.post(f"/traces/{uuid.uuid4()}/spans", json=[span()])
    assert missing.status_code == 404 and missing.json()["detail"].startswith("Trace ")
    empty = await client.post(f"/traces/{body['trace_id']}/spans", json=[])
    assert empty.status_code == 422


async def test_patch_trace(tenant: Tenant) -> None:
    client = tenant.client
    body = await post_trace(
        client,
        input={"i": 1},
        output={"o": 1},
        metadata={"a": 1},
        tags=["old"],
        session_id="s",
        user_id="u",
        spans=[span()],
    )
    url = f"/traces/{body['trace_id']}"
    response = await client.patch(
        url,
        json={
            "name": None,
            "status": None,
            "tags": ["new", "new2"],
            "metadata": {"b": 2},
            "input": None,
            "session_id": None,
            "ended_at": iso(T0 + timedelta(seconds=5)),
            "started_at": iso(T0 + timedelta(days=9)),
        },
    )
    assert response.status_code == 200, response.text
    got = response.json()
    assert got["name"] == body["name"] and got["status"] == "COMPLETED"  # null ignored
    assert got["tags"] == ["new", "new2"]  # replaced
    assert got["metadata"] == {"a": 1, "b": 2}
    assert got["input"] is None and got["output"] == {"o": 1}
    assert got["session_id"] is None and got["user_id"] == "u"
    assert got["started_at"] == body["started_at"]  # immutable
    assert len(got["spans"]) == 1
    items = (await client.get("/traces", params={"tags": "old"})).json()
    assert items["total"] == 0
    listed = (await client.get("/traces", params={"tags": "new2"})).json()["items"]
    assert listed[0]["latency_ms"] == 5000.0

    assert (await client.patch(url, json={"name": "x"})).json()["name"] == "x"
    assert (await client.patch(f"/traces/{uuid.uuid4()}", json={})).status_code == 404


async def test_patch_span(tenant: Tenant) -> None:
    client = tenant.client
    one = span(token_usage={"prompt_tokens": 4}, metadata={"a": 1}, output={"o": 1})
    body = await post_trace(client, spans=[one])
    url = f"/traces/{body['trace_id']}/spans/{one['span_id']}"
    response = await client.patch(
        url,
        json={
            "name": None,
            "kind": None,
            "status": "ERROR",
            "metadata": {"b": 2},
            "output": None,
            "token_usage": {"prompt_tokens": 7, "completion_tokens": 1},
            "ended_at": iso(T0 + timedelta(seconds=1)),
            "started_at": iso(T0 + timedelta(days=1)),
        },
    )
    assert response.status_code == 200, response.text
    got = response.json()
    assert (got["name"], got["kind"], got["status"]) == ("step", "LLM", "ERROR")
    assert got["metadata"] == {"a": 1, "b": 2} and got["output"] is None
    assert got["latency_ms"] == 1000.0 and got["started_at"] == one["started_at"]
    assert (await get_trace(client, body["trace_id"]))["total_tokens"] == 8

    other = f"/traces/{body['trace_id']}/spans/{uuid.uuid4()}"
    missing = await client.patch(other, json={})
    assert missing.status_code == 404
    assert missing.json()["detail"] == (
        f"Span {other.rsplit('/', 1)[1]} not found on trace {body['trace_id']}."
    )


async def test_delete_trace_cascades(tenant: Tenant) -> None:
    client = tenant.client
    body = await post_trace(client, tags=["t"], session_id="s", spans=[span()])
    response = await client.delete(f"/traces/{body['trace_id']}")
    assert response.status_code == 204 and response.content == b""
    assert (await client.get(f"/traces/{body['trace_id']}")).status_code == 404
    assert (await client.get("/traces", params={"tags": "t"})).json()["total"] == 0
    assert (await client.delete(f"/traces/{body['trace_id']}")).status_code == 404
    # the span ID is free again once its trace is gone
    reused = trace(spans=[body["spans"][0]])
    assert (await client.post("/traces", json=reused)).status_code == 202

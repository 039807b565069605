"""Two organizations (and two projects of one): each key sees and changes only its own."""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi import FastAPI

from tests.conftest import Tenant, new_tenant
from tests.traces.conftest import T0, get_trace, iso, post_trace, span, trace


async def _owned(tenant: Tenant) -> dict[str, object]:
    return await post_trace(
        tenant.client,
        session_id="shared-session",
        user_id="owner",
        tags=["mine"],
        metadata={"secret": 1},
        spans=[span(model="m", token_usage={"prompt_tokens": 5}, cost={"total": 1.0})],
    )


async def test_reads_are_scoped(app: FastAPI, tenant: Tenant) -> None:
    body = await _owned(tenant)
    other = await new_tenant(app, tenant.client)
    h = other.headers()
    c = tenant.client
    assert (await c.get(f"/traces/{body['trace_id']}", headers=h)).status_code == 404
    assert (await c.get("/traces", headers=h)).json()["total"] == 0
    assert (await c.get("/traces/users", headers=h)).json()["total"] == 0
    assert (await c.get("/sessions", headers=h)).json()["total"] == 0
    assert (await c.get("/sessions/shared-session", headers=h)).status_code == 404
    window = {
        "started_after": iso(T0 - timedelta(days=1)),
        "started_before": iso(T0 + timedelta(days=1)),
    }
    for metric in ("volume", "tokens", "models"):
        got = await c.get("/traces/analytics", params={**window, "metric": metric}, headers=h)
        assert got.json() == []
        mine = await c.get("/traces/analytics", params={**window, "metric": metric})
        assert len(mine.json()) == 1
    sessions = await c.get("/sessions/analytics", params=window, headers=h)
    assert sessions.json() == []
    # the same session_id in another organization is another session
    await c.post("/traces", json=trace(session_id="shared-session"), headers=h)
    assert (await c.get("/sessions/shared-session", headers=h)).json()["trace_count"] == 1
    assert (await c.get("/sessions/shared-session")).json()["trace_count"] == 1


async def test_writes_are_scoped(app: FastAPI, tenant: Tenant) -> None:
    body = await _owned(tenant)
    trace_id = body["trace_id"]
    other = await new_tenant(app, tenant.client)
    h = other.headers()
    c = tenant.client
    before = await get_trace(c, str(trace_id))

    assert (await c.patch(f"/traces/{trace_id}", json={"name": "x"}, headers=h)).status_code == 404
    span_id = before["spans"][0]["span_id"]
    patched = await c.patch(f"/traces/{trace_id}/spans/{span_id}", json={"name": "x"}, headers=h)
    assert patched.status_code == 404
    added = await c.post(f"/traces/{trace_id}/spans", json=[span()], headers=h)
    assert added.status_code == 404
    assert (await c.delete(f"/traces/{trace_id}", headers=h)).status_code == 404
    deleted = await c.post("/traces/batch/delete", json={"trace_ids": [trace_id]}, headers=h)
    assert deleted.json() == {"deleted": 0}
    tagged = await c.post(
        "/traces/batch/tags",
        json={"trace_ids": [trace_id], "add_tags": ["x"], "remove_tags": ["mine"]},
        headers=h,
    )
    assert tagged.json() == {"updated": 0}
    assert (await c.delete("/sessions/shared-session", headers=h)).status_code == 404

    assert await get_trace(c, str(trace_id)) == before
    assert (await c.get("/traces", params={"tags": "mine"})).json()["total"] == 1


async def test_foreign_trace_id_is_409_and_changes_nothing(app: FastAPI, tenant: Tenant) -> None:
    body = await _owned(tenant)
    other = await new_tenant(app, tenant.client)
    before = await get_trace(tenant.client, str(body["trace_id"]))
    hijack = trace(trace_id=body["trace_id"], name="hijacked", metadata={"evil": 1}, spans=[span()])
    response = await tenant.client.post("/traces", json=hijack, headers=other.headers())
    assert response.status_code == 409
    assert response.json()["detail"] == (
        f"Trace {body['trace_id']} already exists in another project; use a new trace_id."
    )
    assert await get_trace(tenant.client, str(body["trace_id"])) == before
    assert (await tenant.client.get("/traces", headers=other.headers())).json()["total"] == 0
    # the span of the refused trace was not stored either: its ID is still free
    free = trace(spans=[hijack["spans"][0]])
    assert (await tenant.client.post("/traces", json=free)).status_code == 202


async def test_foreign_span_id_is_409_and_changes_nothing(app: FastAPI, tenant: Tenant) -> None:
    body = await _owned(tenant)
    other = await new_tenant(app, tenant.client)
    before = await get_trace(tenant.client, str(body["trace_id"]))
    stolen = dict(before["spans"][0], name="stolen", input={"evil": True})
    for headers in (other.headers(), tenant.headers(project="second-project"), {}):
        attempt = trace(spans=[stolen, span()])
        response = await tenant.client.post("/traces", json=attempt, headers=headers)
        assert response.status_code == 409, headers
        assert "already belongs to another trace" in response.json()["detail"]
        assert (await tenant.client.get(f"/traces/{attempt['trace_id']}")).status_code == 404
    # ... also through the spans endpoint of a trace the caller owns
    own = trace()
    assert (await tenant.client.post("/traces", json=own)).status_code == 202
    response = await tenant.client.post(f"/traces/{own['trace_id']}/spans", json=[stolen])
    assert response.status_code == 409
    assert (await get_trace(tenant.client, own["trace_id"]))["spans"] == []
    assert await get_trace(tenant.client, str(body["trace_id"])) == before


async def test_projects_of_one_organization_are_separate(tenant: Tenant) -> None:
    body = await _owned(tenant)
    second = tenant.headers(project="second-project")
    c = tenant.client
    assert (await c.get(f"/traces/{body['trace_id']}", headers=second)).status_code == 404
    assert (await c.get("/traces", headers=second)).json()["total"] == 0
    response = await c.post("/traces", json=trace(trace_id=body["trace_id"]), headers=second)
    assert response.status_code == 409
    assert (await c.post("/traces", json=trace(), headers=second)).status_code == 202
    assert (await c.get("/traces")).json()["total"] == 1
    assert uuid.UUID(str(body["trace_id"]))

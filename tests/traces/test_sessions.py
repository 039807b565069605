"""Sessions: derived from traces sharing a session_id."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from sqlalchemy import select

from sightline.db.models import SessionScore, Trace
from sightline.db.session import transaction
from tests.conftest import Tenant, new_tenant
from tests.traces.conftest import T0, iso, post_trace, span, trace


async def _seed(tenant: Tenant) -> dict[str, list[dict[str, Any]]]:
    c = tenant.client
    s1 = [
        await post_trace(
            c,
            session_id="chat-1",
            user_id=None,
            tags=["a"],
            started_at=iso(T0),
            ended_at=iso(T0 + timedelta(seconds=1)),
            spans=[
                span(token_usage={"prompt_tokens": 3, "completion_tokens": 1}, cost={"total": 0.5})
            ],
        ),
        await post_trace(
            c,
            session_id="chat-1",
            user_id="alice",
            tags=["b", "a"],
            started_at=iso(T0 + timedelta(minutes=1)),
            ended_at=iso(T0 + timedelta(minutes=1, seconds=2)),
            status="ERROR",
            spans=[span(), span()],
        ),
        await post_trace(
            c,
            session_id="chat-1",
            user_id="bob",
            started_at=iso(T0 + timedelta(minutes=2)),
            ended_at=None,
        ),
    ]
    s2 = [
        await post_trace(
            c,
            session_id="Chat-2",
            user_id="bob",
            tags=["c"],
            started_at=iso(T0 + timedelta(days=1)),
            ended_at=iso(T0 + timedelta(days=1, seconds=10)),
            spans=[span(cost={"total": 2.0})],
        ),
    ]
    await post_trace(c, session_id=None, user_id="carol")
    return {"chat-1": s1, "Chat-2": s2}


async def _session_ids(tenant: Tenant, **params: Any) -> list[str]:
    response = await tenant.client.get("/sessions", params=params)
    assert response.status_code == 200, response.text
    return [item["session_id"] for item in response.json()["items"]]


async def test_list_sessions_summary(tenant: Tenant) -> None:
    await _seed(tenant)
    page = (await tenant.client.get("/sessions")).json()
    assert (page["total"], page["limit"], page["offset"]) == (2, 50, 0)
    by_id = {s["session_id"]: s for s in page["items"]}
    assert by_id["chat-1"] == {
        "session_id": "chat-1",
        "trace_count": 3,
        "first_trace_at": iso(T0),
        "last_trace_at": iso(T0 + timedelta(minutes=1, seconds=2)),  # max(ended_at)
        "total_latency_ms": 3000.0,
        "has_error": True,
        "user_id": "alice",  # the earliest trace that has one
        "tags": ["a", "b"],
        "total_span_count": 3,
        "total_tokens": 4,
        "total_cost": 0.5,
    }
    assert by_id["Chat-2"]["has_error"] is False and by_id["Chat-2"]["total_cost"] == 2.0


async def test_session_filters_act_on_traces(tenant: Tenant) -> None:
    await _seed(tenant)
    assert await _session_ids(tenant, has_error="true") == ["chat-1"]
    assert await _session_ids(tenant, has_error="false") == ["Chat-2"]
    assert await _session_ids(tenant, query="CHAT-") == ["Chat-2", "chat-1"]
    assert await _session_ids(tenant, query="2") == ["Chat-2"]
    assert await _session_ids(tenant, tags="c") == ["Chat-2"]
    page = (await tenant.client.get("/sessions", params={"user_id": "bob"})).json()
    counts = {s["session_id"]: s["trace_count"] for s in page["items"]}
    assert counts == {"chat-1": 1, "Chat-2": 1}
    page = (await tenant.client.get("/sessions", params={"tags": "b"})).json()
    [only] = page["items"]
    assert (only["trace_count"], only["tags"], only["has_error"]) == (1, ["b", "a"], True)
    window = {
        "started_after": iso(T0 + timedelta(seconds=30)),
        "started_before": iso(T0 + timedelta(hours=1)),
    }
    [windowed] = (await tenant.client.get("/sessions", params=window)).json()["items"]
    assert (windowed["session_id"], windowed["trace_count"]) == ("chat-1", 2)


async def test_session_sorting_and_paging(tenant: Tenant) -> None:
    await _seed(tenant)
    assert await _session_ids(tenant) == ["Chat-2", "chat-1"]  # recent = last ingested
    assert await _session_ids(tenant, sort_order="asc") == ["chat-1", "Chat-2"]
    assert await _session_ids(tenant, sort_by="trace_count") == ["chat-1", "Chat-2"]
    assert await _session_ids(tenant, sort_by="latency") == ["Chat-2", "chat-1"]
    assert await _session_ids(tenant, sort_by="cost", sort_order="asc") == ["chat-1", "Chat-2"]
    page = (await tenant.client.get("/sessions", params={"limit": 1, "offset": 1})).json()
    assert page["total"] == 2 and [s["session_id"] for s in page["items"]] == ["chat-1"]


async def test_session_detail(tenant: Tenant) -> None:
    seeded = await _seed(tenant)
    response = await tenant.client.get("/sessions/chat-1")
    assert response.status_code == 200
    detail = response.json()
    assert detail["trace_count"] == 3 and detail["user_id"] == "alice"
    assert [t["trace_id"] for t in detail["traces"]] == [t["trace_id"] for t in seeded["chat-1"]]
    assert [len(t["spans"]) for t in detail["traces"]] == [1, 2, 0]
    assert detail["traces"][0]["total_tokens"] == 4

    paged = (await tenant.client.get("/sessions/chat-1", params={"limit": 1, "offset": 1})).json()
    assert paged["trace_count"] == 3  # the summary covers every trace
    assert [t["trace_id"] for t in paged["traces"]] == [seeded["chat-1"][1]["trace_id"]]

    missing = await tenant.client.get("/sessions/chat-9")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Session 'chat-9' not found."}
    assert (await tenant.client.get("/sessions/CHAT-1")).status_code == 404  # case-sensitive


async def test_delete_session(tenant: Tenant) -> None:
    seeded = await _seed(tenant)
    response = await tenant.client.delete("/sessions/chat-1")
    assert response.status_code == 200
    assert response.json() == {"deleted": 3}
    assert (await tenant.client.get("/sessions/chat-1")).status_code == 404
    for body in seeded["chat-1"]:
        assert (await tenant.client.get(f"/traces/{body['trace_id']}")).status_code == 404
    assert (await tenant.client.get("/traces")).json()["total"] == 2
    again = await tenant.client.delete("/sessions/chat-1")
    assert again.status_code == 404


async def test_session_analytics(tenant: Tenant) -> None:
    await _seed(tenant)
    params = {
        "started_after": iso(T0 - timedelta(days=1)),
        "started_before": iso(T0 + timedelta(days=7)),
    }
    response = await tenant.client.get("/sessions/analytics", params=params)
    assert response.status_code == 200
    assert response.json() == [
        {
            "bucket": iso(T0.replace(hour=0)),
            "session_count": 1,
            "avg_traces_per_session": 3.0,
            "avg_session_duration_ms": 3000.0,
        },
        {
            "bucket": iso(T0.replace(hour=0) + timedelta(days=1)),
            "session_count": 1,
            "avg_traces_per_session": 1.0,
            "avg_session_duration_ms": 10000.0,
        },
    ]
    weekly = await tenant.client.get(
        "/sessions/analytics", params={**params, "granularity": "week"}
    )
    assert weekly.json() == [
        {
            "bucket": iso(T0.replace(hour=0)),
            "session_count": 2,
            "avg_traces_per_session": 2.0,
            "avg_session_duration_ms": 6500.0,
        },
    ]


async def _scores_of(app: FastAPI, session_id: str) -> list[uuid.UUID]:
    async with transaction(app.state.session_factory) as db:
        rows = await db.execute(
            select(SessionScore.project_id).where(SessionScore.session_id == session_id)
        )
        return list(rows.scalars())


async def test_delete_session_also_deletes_its_session_scores(app: FastAPI, tenant: Tenant) -> None:
    """PandaProbe leaves them as orphans. The score rows are made directly (runs create
    them); everything else goes over HTTP."""
    session_id = f"scored-{uuid.uuid4().hex[:8]}"
    mine = await post_trace(tenant.client, session_id=session_id)
    other = await new_tenant(app, tenant.client)
    theirs = await tenant.client.post(
        "/traces", json=trace(session_id=session_id), headers=other.headers()
    )
    assert theirs.status_code == 202
    trace_ids = {}
    for who, headers in (("mine", tenant.headers()), ("theirs", other.headers())):
        listed = await tenant.client.get("/traces", headers=headers)
        trace_ids[who] = listed.json()["items"][0]["trace_id"]
    async with transaction(app.state.session_factory) as db:
        for trace_id in trace_ids.values():
            project_id = (await db.get(Trace, uuid.UUID(trace_id))).project_id  # type: ignore[union-attr]
            db.add(
                SessionScore(
                    project_id=project_id,
                    session_id=session_id,
                    name="coherence",
                    source="AUTOMATED",
                    status="SUCCESS",
                    value="0.5",
                )
            )
    assert len(await _scores_of(app, session_id)) == 2

    response = await tenant.client.delete(f"/sessions/{session_id}")
    assert response.json() == {"deleted": 1}
    assert (await tenant.client.get(f"/traces/{mine['trace_id']}")).status_code == 404
    remaining = await _scores_of(app, session_id)
    assert len(remaining) == 1  # the other organization's score is untouched
    still = await tenant.client.get(f"/sessions/{session_id}", headers=other.headers())
    assert still.json()["trace_count"] == 1

"""GET /traces (pagination, filters, sorting), GET /traces/users, batch delete and tags."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from tests.conftest import Tenant
from tests.traces.conftest import T0, iso, post_trace, span


async def _ids(tenant: Tenant, **params: Any) -> list[str]:
    response = await tenant.client.get("/traces", params=params)
    assert response.status_code == 200, response.text
    return [item["trace_id"] for item in response.json()["items"]]


async def _seed(tenant: Tenant) -> list[dict[str, Any]]:
    c = tenant.client
    return [
        await post_trace(
            c,
            name="Alpha_run",
            started_at=iso(T0),
            ended_at=iso(T0 + timedelta(seconds=3)),
            session_id="s1",
            user_id="u1",
            tags=["prod", "eu"],
            status="COMPLETED",
        ),
        await post_trace(
            c,
            name="beta 100%",
            started_at=iso(T0 + timedelta(hours=1)),
            ended_at=None,
            session_id="s1",
            user_id="u2",
            tags=["beta"],
            status="ERROR",
        ),
        await post_trace(
            c,
            name="gamma",
            started_at=iso(T0 + timedelta(hours=2)),
            ended_at=iso(T0 + timedelta(hours=2, seconds=1)),
            user_id="u1",
            tags=["prod"],
            status="RUNNING",
            spans=[span(token_usage={"prompt_tokens": 5, "completion_tokens": 5})],
        ),
    ]


async def test_list_shape_and_defaults(tenant: Tenant) -> None:
    a, b, c = await _seed(tenant)
    response = await tenant.client.get("/traces")
    page = response.json()
    assert (page["total"], page["limit"], page["offset"]) == (3, 50, 0)
    assert [i["trace_id"] for i in page["items"]] == [c["trace_id"], b["trace_id"], a["trace_id"]]
    item = page["items"][0]
    assert set(item) == {
        "trace_id",
        "name",
        "status",
        "started_at",
        "ended_at",
        "session_id",
        "user_id",
        "tags",
        "environment",
        "release",
        "latency_ms",
        "span_count",
        "total_tokens",
        "total_cost",
    }
    assert (item["span_count"], item["total_tokens"], item["latency_ms"]) == (1, 10, 1000.0)
    assert page["items"][1]["latency_ms"] is None


async def test_pagination(tenant: Tenant) -> None:
    a, b, c = await _seed(tenant)
    page = (await tenant.client.get("/traces", params={"limit": 2, "offset": 1})).json()
    assert (page["total"], page["limit"], page["offset"]) == (3, 2, 1)
    assert [i["trace_id"] for i in page["items"]] == [b["trace_id"], a["trace_id"]]
    past = (await tenant.client.get("/traces", params={"offset": 10})).json()
    assert past["items"] == [] and past["total"] == 3


async def test_filters(tenant: Tenant) -> None:
    a, b, c = await _seed(tenant)
    assert await _ids(tenant, session_id="s1") == [b["trace_id"], a["trace_id"]]
    assert await _ids(tenant, status="ERROR") == [b["trace_id"]]
    assert await _ids(tenant, user_id="u1") == [c["trace_id"], a["trace_id"]]
    assert await _ids(tenant, tags=["eu", "beta"]) == [b["trace_id"], a["trace_id"]]
    assert await _ids(tenant, tags="missing") == []
    assert await _ids(tenant, name="ALPHA") == [a["trace_id"]]
    assert await _ids(tenant, name="a_r") == [a["trace_id"]]  # `_` is literal
    assert await _ids(tenant, name="0%") == [b["trace_id"]]  # `%` is literal
    assert await _ids(tenant, name="%") == [b["trace_id"]]
    hour = iso(T0 + timedelta(hours=1))
    assert await _ids(tenant, started_after=hour) == [c["trace_id"], b["trace_id"]]
    assert await _ids(tenant, started_before=hour) == [a["trace_id"]]
    assert await _ids(tenant, started_after="2026-03-02T10:00:00", user_id="u1", tags="prod") == [
        c["trace_id"],
        a["trace_id"],
    ]
    response = await tenant.client.get("/traces", params={"user_id": "u1", "status": "RUNNING"})
    assert response.json()["total"] == 1


async def test_sorting(tenant: Tenant) -> None:
    a, b, c = await _seed(tenant)
    a_id, b_id, c_id = a["trace_id"], b["trace_id"], c["trace_id"]
    assert await _ids(tenant, sort_by="started_at", sort_order="asc") == [a_id, b_id, c_id]
    assert await _ids(tenant, sort_by="name", sort_order="asc") == [a_id, b_id, c_id]
    assert await _ids(tenant, sort_by="status", sort_order="asc") == [a_id, b_id, c_id]
    # NULLs last on asc and first on desc (PostgreSQL's order), on both databases
    assert await _ids(tenant, sort_by="latency", sort_order="asc") == [c_id, a_id, b_id]
    assert await _ids(tenant, sort_by="latency", sort_order="desc") == [b_id, a_id, c_id]
    assert await _ids(tenant, sort_by="ended_at", sort_order="asc") == [a_id, c_id, b_id]
    assert await _ids(tenant, sort_by="ended_at", sort_order="desc") == [b_id, c_id, a_id]


async def test_users(tenant: Tenant) -> None:
    await _seed(tenant)
    page = (await tenant.client.get("/traces/users")).json()
    assert (page["total"], page["limit"], page["offset"]) == (2, 50, 0)
    assert page["items"] == [
        {
            "user_id": "u1",
            "trace_count": 2,
            "first_seen": iso(T0),
            "last_seen": iso(T0 + timedelta(hours=2)),
            "error_count": 0,
        },
        {
            "user_id": "u2",
            "trace_count": 1,
            "first_seen": iso(T0 + timedelta(hours=1)),
            "last_seen": iso(T0 + timedelta(hours=1)),
            "error_count": 1,
        },
    ]
    second = (await tenant.client.get("/traces/users", params={"limit": 1, "offset": 1})).json()
    assert [u["user_id"] for u in second["items"]] == ["u2"] and second["total"] == 2


async def test_batch_delete(tenant: Tenant) -> None:
    a, b, c = await _seed(tenant)
    response = await tenant.client.post(
        "/traces/batch/delete",
        json={"trace_ids": [a["trace_id"], b["trace_id"], str(uuid.uuid4())]},
    )
    assert response.status_code == 200
    assert response.json() == {"deleted": 2}
    assert await _ids(tenant) == [c["trace_id"]]
    assert (await tenant.client.get("/sessions/s1")).status_code == 404


async def test_batch_tags(tenant: Tenant) -> None:
    a, b, c = await _seed(tenant)
    ids = [a["trace_id"], b["trace_id"], str(uuid.uuid4())]
    response = await tenant.client.post(
        "/traces/batch/tags",
        json={"trace_ids": ids, "add_tags": ["new", "prod"], "remove_tags": ["prod", "beta"]},
    )
    assert response.status_code == 200
    assert response.json() == {"updated": 2}
    items = {i["trace_id"]: i for i in (await tenant.client.get("/traces")).json()["items"]}
    assert sorted(items[a["trace_id"]]["tags"]) == ["eu", "new", "prod"]
    assert sorted(items[b["trace_id"]]["tags"]) == ["new", "prod"]
    assert items[c["trace_id"]]["tags"] == ["prod"]
    assert await _ids(tenant, tags="beta") == []
    assert await _ids(tenant, tags="new") == [b["trace_id"], a["trace_id"]]

    noop = await tenant.client.post("/traces/batch/tags", json={"trace_ids": ids})
    assert noop.json() == {"updated": 0}
    removed = await tenant.client.post(
        "/traces/batch/tags", json={"trace_ids": ids, "remove_tags": ["new"]}
    )
    assert removed.json() == {"updated": 2}
    assert await _ids(tenant, tags="new") == []


async def test_batch_tags_respect_the_tag_limit(tenant: Tenant) -> None:
    body = await post_trace(tenant.client, tags=[f"t{i}" for i in range(100)])
    response = await tenant.client.post(
        "/traces/batch/tags", json={"trace_ids": [body["trace_id"]], "add_tags": ["one-more"]}
    )
    assert response.status_code == 422
    assert "100 tags" in response.json()["detail"]
    assert len((await tenant.client.get(f"/traces/{body['trace_id']}")).json()["tags"]) == 100

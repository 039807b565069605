"""Reviewers and the queue round trip, over HTTP (shared by the queue and agreement tests)."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from sightline.db.session import transaction
from sightline.identity import repository as identity_repo
from sightline.identity import service as identity
from tests.conftest import Tenant

QUEUES = "/evaluations/annotation-queues"


async def reviewer(app: FastAPI, tenant: Tenant, name: str) -> dict[str, str]:
    """Headers of a new API key named ``name`` in the tenant's organization and project:
    a second person of the same team."""
    async with transaction(app.state.session_factory) as session:
        org = await identity_repo.get_org(session, tenant.org_id)
        assert org is not None
        created = await identity.create_key(session, org, name)
    return {"X-API-Key": created.raw_key, "X-Project-Name": tenant.project}


async def create_queue(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    body.setdefault("name", "review")
    response = await client.post(QUEUES, json=body)
    assert response.status_code == 201, response.text
    queue: dict[str, Any] = response.json()
    return queue


async def next_item(
    client: httpx.AsyncClient, queue_id: str, headers: dict[str, str], **params: Any
) -> dict[str, Any] | None:
    response = await client.get(f"{QUEUES}/{queue_id}/next", headers=headers, params=params)
    if response.status_code == 204:
        assert response.content == b""
        return None
    assert response.status_code == 200, response.text
    item: dict[str, Any] = response.json()
    return item


async def annotate(
    client: httpx.AsyncClient,
    queue_id: str,
    item_id: str,
    headers: dict[str, str],
    scores: list[dict[str, Any]],
) -> httpx.Response:
    url = f"{QUEUES}/{queue_id}/items/{item_id}/annotations"
    return await client.post(url, json={"scores": scores}, headers=headers)


async def review_all(
    client: httpx.AsyncClient, queue_id: str, headers: dict[str, str], values: dict[str, str]
) -> int:
    """Annotate every item the reviewer is handed, the value chosen by its trace; returns
    how many were annotated."""
    count = 0
    while (item := await next_item(client, queue_id, headers)) is not None:
        [metric] = item["metrics"]
        value = values[item["trace_id"]]
        response = await annotate(
            client, queue_id, item["id"], headers, [{"name": metric["name"], "value": value}]
        )
        assert response.status_code == 201, response.text
        count += 1
    return count

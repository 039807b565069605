from __future__ import annotations

import httpx

from tests.conftest import Tenant


async def test_missing_credentials_answer_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/traces")
    assert response.status_code == 401
    assert "Missing credentials" in response.json()["detail"]
    assert response.headers["X-Request-ID"]


async def test_unknown_key_answers_401(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/traces", headers={"X-API-Key": "sk_sl_" + "0" * 64, "X-Project-Name": "p"}
    )
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid or revoked API key."}


async def test_health_is_public(client: httpx.AsyncClient) -> None:
    response = await client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert response.status_code == 200
    assert response.json()["status"] == "healthy"
    assert isinstance(response.json()["judge_ready"], bool)
    assert response.headers["X-Request-ID"] == "abc-123"


async def test_unsafe_request_id_is_replaced(client: httpx.AsyncClient) -> None:
    response = await client.get("/health", headers={"X-Request-ID": "bad id\tinjected"})
    assert response.headers["X-Request-ID"] != "bad id\tinjected"
    assert len(response.headers["X-Request-ID"]) == 32


async def test_project_name_is_required_and_validated(tenant: Tenant) -> None:
    client = tenant.client
    response = await client.get("/health")
    assert response.status_code == 200
    bad = await client.get(
        "/traces", headers={"X-API-Key": tenant.api_key, "X-Project-Name": "-bad-"}
    )
    assert bad.status_code == 422
    assert bad.json()["detail"].startswith("X-Project-Name must")

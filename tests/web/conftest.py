"""A dashboard client: an organization's key signed in through the sign-in form, with the
session cookie in the client's jar. `ui.form(path, data)` posts a form with its CSRF token."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import Tenant, new_tenant
from tests.fakes.openai_server import FakeJudgeServer

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "the page has no CSRF token"
    return found.group(1)


@dataclass
class Ui:
    client: httpx.AsyncClient  # cookies: the session
    api: httpx.AsyncClient  # the same app through the API, with the tenant's key
    tenant: Tenant
    csrf: str

    async def page(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.client.get(path, **kwargs)

    async def form(self, path: str, data: dict[str, Any] | None = None) -> httpx.Response:
        return await self.client.post(path, data={"csrf_token": self.csrf, **(data or {})})


async def sign_in(client: httpx.AsyncClient, api_key: str) -> httpx.Response:
    page = await client.get("/ui/sign-in")
    return await client.post(
        "/ui/sign-in", data={"api_key": api_key, "csrf_token": csrf_of(page.text)}
    )


async def signed_in(app: FastAPI, tenant: Tenant) -> Ui:
    """The tenant's project exists first (the API creates it on first use), so the session
    opens in it."""
    transport = httpx.ASGITransport(app=app)
    api = tenant.client
    assert (await api.get("/traces", headers=tenant.headers())).status_code == 200
    client = httpx.AsyncClient(transport=transport, base_url="http://sightline.test")
    answer = await sign_in(client, tenant.api_key)
    assert answer.status_code == 303, answer.text
    page = await client.get("/ui/traces")
    assert page.status_code == 200, page.text
    return Ui(client, api, tenant, csrf_of(page.text))


@pytest.fixture
async def ui(app: FastAPI, client: httpx.AsyncClient) -> AsyncIterator[Ui]:
    tenant = await new_tenant(app, client)
    signed = await signed_in(app, tenant)
    try:
        yield signed
    finally:
        await signed.client.aclose()


@pytest.fixture
async def jui(eval_app: FastAPI, judge: FakeJudgeServer) -> AsyncIterator[Ui]:
    """A signed-in dashboard on the app whose judge is the fake server. A module that asks
    for it imports `eval_app` and `judge` from tests.evals.conftest."""
    judge.reset()
    transport = httpx.ASGITransport(app=eval_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sightline.test") as api:
        tenant = await new_tenant(eval_app, api)
        api.headers.update(tenant.headers())
        ui = await signed_in(eval_app, tenant)
        try:
            yield ui
        finally:
            await ui.client.aclose()

"""Redis-backed buckets (SIGHTLINE_REDIS_URL): two app instances share one bucket per key,
on Redis's clock; an unreachable Redis fails no request (the in-process buckets stand in,
with one warning)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI

from sightline.ratelimit.redis import KEY_PREFIX, redacted
from tests.conftest import make_settings, new_tenant, running_app
from tests.evals.factories import agent_trace
from tests.support.server import free_port

# Refills in 0.5 s, so the test can wait for it for real (Redis keeps its own time).
PER_SECOND, BURST = 2.0, 2


def _settings(database_url: str, data_dir: Path, redis_url: str) -> Any:
    return make_settings(
        database_url,
        data_dir,
        redis_url=redis_url,
        rate_limit_ingest_per_second=PER_SECOND,
        rate_limit_ingest_burst=BURST,
    )


def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://s.test")


async def test_two_app_instances_share_one_bucket(
    database_url: str, data_dir: Path, redis_url: str
) -> None:
    settings = _settings(database_url, data_dir, redis_url)
    async with (
        running_app(settings) as first,
        running_app(settings) as second,
        _client(first) as one,
        _client(second) as two,
    ):
        tenant = await new_tenant(first, one)
        headers = tenant.headers()
        assert (await one.post("/traces", json=agent_trace(), headers=headers)).status_code == 202
        assert (await two.post("/traces", json=agent_trace(), headers=headers)).status_code == 202
        for client in (one, two):
            refused = await client.post("/traces", json=agent_trace(), headers=headers)
            assert refused.status_code == 429
            assert refused.headers["Retry-After"] == "1"
        other = (await new_tenant(first, one)).headers()
        assert (await two.post("/traces", json=agent_trace(), headers=other)).status_code == 202

        key = await _bucket_key(first, headers)
        store = aioredis.Redis.from_url(redis_url)
        try:
            assert 0 < await store.pttl(key) <= 2000  # gone once it would be full again
        finally:
            await store.aclose()

        await asyncio.sleep(1 / PER_SECOND + 0.1)
        assert (await two.post("/traces", json=agent_trace(), headers=headers)).status_code == 202
        assert (await one.post("/traces", json=agent_trace(), headers=headers)).status_code == 429


async def _bucket_key(app: FastAPI, headers: dict[str, str]) -> str:
    scope = await app.state.auth.resolve_api_key(headers["X-API-Key"], headers["X-Project-Name"])
    assert scope.key_id is not None
    return f"{KEY_PREFIX}ingest:{scope.key_id.hex}"


async def test_unreachable_redis_falls_back_to_in_process_buckets(
    database_url: str, data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    down = f"redis://:secret@127.0.0.1:{free_port()}/0"  # nothing listens there
    caplog.set_level(logging.WARNING, logger="sightline")
    async with running_app(_settings(database_url, data_dir, down)) as app, _client(app) as c:
        headers = (await new_tenant(app, c)).headers()
        for _ in range(BURST):
            assert (await c.post("/traces", json=agent_trace(), headers=headers)).status_code == 202
        refused = await c.post("/traces", json=agent_trace(), headers=headers)
        assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
        assert (await c.get("/traces", headers=headers)).json()["total"] == BURST
    warnings = [r.getMessage() for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(warnings) == 1, warnings
    assert redacted(down) in warnings[0] and "secret" not in warnings[0]

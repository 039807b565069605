"""GET /health's judge state: loaded (LiteLLM imported), configured (a run with the default
judge model would be accepted) and the resolved model. Each case builds its settings
explicitly and clears the judge's env vars, so the developer's shell cannot decide it."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import make_settings, new_tenant, running_app
from tests.evals.factories import create_traces

PROVIDER_KEYS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY")


@pytest.fixture
def no_judge_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith("SIGHTLINE_JUDGE") or name in PROVIDER_KEYS:
            monkeypatch.delenv(name)
    return monkeypatch


@asynccontextmanager
async def _client(
    database_url: str, data_dir: Path, **overrides: Any
) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(database_url, data_dir, **overrides)
    async with running_app(settings) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sightline.test") as c:
            tenant = await new_tenant(app, c)
            c.headers.update(tenant.headers())
            yield c


async def _judge(client: httpx.AsyncClient) -> dict[str, Any]:
    body = (await client.get("/health")).json()
    assert isinstance(body["judge_ready"], bool)  # kept for existing clients
    judge: dict[str, Any] = body["judge"]
    return judge


async def test_without_credentials_health_says_what_to_set(
    database_url: str, data_dir: Path, no_judge_env: pytest.MonkeyPatch
) -> None:
    async with _client(database_url, data_dir, judge_model="gpt-4o-mini") as client:
        judge = await _judge(client)
        assert judge["configured"] is False
        assert judge["model"] == "openai/gpt-4o-mini"  # resolved as a run would use it
        assert "OPENAI_API_KEY" in judge["message"]
        assert "SIGHTLINE_JUDGE_API_BASE" in judge["message"]
        # What /health says is what run creation does.
        trace_ids = await create_traces(client, 1)
        refused = await client.post(
            "/evaluations/trace-runs/batch",
            json={"trace_ids": trace_ids, "metrics": ["confidence"]},
        )
        assert refused.status_code == 422
        assert refused.json()["detail"] == judge["message"]


@pytest.mark.parametrize(
    ("overrides", "env", "model"),
    [
        ({}, {"OPENAI_API_KEY": "sk-from-env"}, "openai/gpt-4o-mini"),
        ({"judge_api_base": "http://127.0.0.1:9/v1"}, {}, "openai/gpt-4o-mini"),
        ({"judge_api_key": "sk-setting"}, {}, "openai/gpt-4o-mini"),
        ({"judge_model": "ollama/llama3"}, {}, "ollama/llama3"),  # a local, keyless server
        ({"judge_model": "claude-3-5-haiku"}, {"ANTHROPIC_API_KEY": "k"},
         "anthropic/claude-3-5-haiku"),
    ],
)  # fmt: skip
async def test_with_credentials_the_judge_is_configured(
    database_url: str,
    data_dir: Path,
    no_judge_env: pytest.MonkeyPatch,
    overrides: dict[str, Any],
    env: dict[str, str],
    model: str,
) -> None:
    for name, value in env.items():
        no_judge_env.setenv(name, value)
    overrides = {"judge_model": "openai/gpt-4o-mini", **overrides}
    async with _client(database_url, data_dir, **overrides) as client:
        judge = await _judge(client)
        assert (judge["configured"], judge["model"], judge["message"]) == (True, model, None)


async def test_another_providers_key_does_not_configure_the_default_judge(
    database_url: str, data_dir: Path, no_judge_env: pytest.MonkeyPatch
) -> None:
    no_judge_env.setenv("OPENAI_API_KEY", "sk-openai")
    async with _client(database_url, data_dir, judge_model="anthropic/claude-3-5-haiku") as c:
        judge = await _judge(c)
        assert judge["configured"] is False and "ANTHROPIC_API_KEY" in judge["message"]


async def test_loaded_turns_true_once_litellm_is_imported(
    database_url: str, data_dir: Path, no_judge_env: pytest.MonkeyPatch
) -> None:
    async with _client(database_url, data_dir) as client:
        for _ in range(600):
            judge = await _judge(client)
            if judge["loaded"]:
                break
            await asyncio.sleep(0.1)
        assert judge["loaded"] is True
        assert (await client.get("/health")).json()["judge_ready"] is True

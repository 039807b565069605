"""An app whose judge is the fake OpenAI-compatible server (over real HTTP, via LiteLLM)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import Tenant, make_settings, new_tenant, running_app
from tests.fakes.openai_server import FakeJudgeServer

# A priced model name (LiteLLM's bundled price map), so cost accounting is exercised.
JUDGE_MODEL = "openai/gpt-4o-mini"


def task_from_prompt(body: dict[str, Any]) -> dict[str, str]:
    """Each trace gets its own extracted task (as a real judge would), so later prompts of
    different traces differ and the judge cache cannot blur call counts across traces."""
    prompt = str(body["messages"][-1]["content"])
    digest = hashlib.sha256(prompt.encode()).hexdigest()[:12]
    return {"task": f"Answer the order question {digest}", "outcome": "The order ships today."}


@pytest.fixture(scope="session")
def judge() -> Iterator[FakeJudgeServer]:
    with FakeJudgeServer() as server:
        yield server


def judge_overrides(judge: FakeJudgeServer) -> dict[str, object]:
    return {
        "judge_model": JUDGE_MODEL,
        "judge_api_base": judge.url,
        "judge_api_key": "sk-test",
        "embedding_model": "openai/text-embedding-3-small",
        "embedding_api_base": judge.url,
        "embedding_api_key": "sk-test",
        "judge": {"backoff_base_seconds": 0.02, "backoff_max_seconds": 0.5, "timeout_seconds": 20},
    }


@pytest.fixture(scope="session")
async def eval_app(
    database_url: str, data_dir: Path, judge: FakeJudgeServer
) -> AsyncIterator[FastAPI]:
    settings = make_settings(database_url, data_dir, **judge_overrides(judge))
    async with running_app(settings) as application:
        yield application


@pytest.fixture
async def eval_client(eval_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=eval_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sightline.test") as c:
        yield c


@pytest.fixture
async def et(eval_app: FastAPI, eval_client: httpx.AsyncClient, judge: FakeJudgeServer) -> Tenant:
    """A fresh tenant on the judge-backed app, with a clean fake judge."""
    judge.reset()
    judge.api_key = None
    judge.context_limit_tokens = None
    judge.latency_seconds = 0.0
    judge.answers["TaskAnswer"] = task_from_prompt
    tenant = await new_tenant(eval_app, eval_client)
    eval_client.headers.update(tenant.headers())
    return tenant

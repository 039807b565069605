"""`sightline scheduler --once` as a separate process against the test database."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import Tenant
from tests.evals.factories import create_traces, wait_for_run
from tests.fakes.openai_server import FakeJudgeServer
from tests.monitors.clock import pause_other_monitors
from tests.monitors.test_monitor_api import BASE, create

pytestmark = pytest.mark.slow


async def test_scheduler_command_fires_a_due_monitor(
    et: Tenant,
    eval_app: FastAPI,
    eval_client: httpx.AsyncClient,
    judge: FakeJudgeServer,
    database_url: str,
    tmp_path: Path,
) -> None:
    await pause_other_monitors(eval_app)
    await create_traces(eval_client, 2)
    monitor = await create(eval_client, cadence="cron:* * * * * *")  # due within a second
    await asyncio.sleep(1.1)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGHTLINE_")}
    env.update(
        SIGHTLINE_DATABASE_URL=database_url,
        SIGHTLINE_DATA_DIR=str(tmp_path),
        SIGHTLINE_JUDGE_MODEL="openai/gpt-4o-mini",
        SIGHTLINE_JUDGE_API_BASE=judge.url,
        SIGHTLINE_JUDGE_API_KEY="sk-test",
        SIGHTLINE_EMBEDDING_API_BASE=judge.url,
        SIGHTLINE_EMBEDDING_API_KEY="sk-test",
    )
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "sightline", "scheduler", "--once"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "fired 1, skipped 0, failed 0" in done.stdout
    runs = (await eval_client.get(f"{BASE}/{monitor['id']}/runs")).json()
    assert runs["total"] == 1
    run = await wait_for_run(eval_client, runs["items"][0]["id"])
    assert run["status"] == "COMPLETED" and run["total_targets"] == 2
    await eval_client.post(f"{BASE}/{monitor['id']}/pause")

"""End to end with real processes: `sightline serve` killed with SIGKILL mid-run resumes and
finishes with exactly one score per (trace, metric); the `sightline eval` CLI."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from tests.evals.factories import create_traces, wait_for_run, wait_until
from tests.fakes.openai_server import FakeJudgeServer
from tests.support.server import ServerProcess, start_server

pytestmark = pytest.mark.slow

METRICS = ["task_completion", "step_efficiency"]


@pytest.fixture
def slow_judge() -> Iterator[FakeJudgeServer]:
    with FakeJudgeServer(latency_seconds=0.3) as server:
        yield server


@pytest.fixture
def server_env(database_url: str, slow_judge: FakeJudgeServer) -> dict[str, str]:
    return {
        "SIGHTLINE_DATABASE_URL": database_url,
        "SIGHTLINE_INIT_ORG": f"org-{uuid.uuid4().hex[:8]}",
        "SIGHTLINE_INIT_API_KEY": f"sk_sl_{uuid.uuid4().hex}{uuid.uuid4().hex}",
        "SIGHTLINE_JUDGE_MODEL": "openai/gpt-4o-mini",
        "SIGHTLINE_JUDGE_API_BASE": slow_judge.url,
        "SIGHTLINE_JUDGE_API_KEY": "sk-test",
        "SIGHTLINE_JUDGE_MAX_CONCURRENCY": "4",
        "SIGHTLINE_EVAL_TASK_LEASE_SECONDS": "3",
        "SIGHTLINE_RUN_SCHEDULER": "false",
        "SIGHTLINE_LOG_LEVEL": "warning",
    }


@asynccontextmanager
async def serve(
    env: dict[str, str], data_dir: Path, project: str
) -> AsyncIterator[tuple[ServerProcess, httpx.AsyncClient]]:
    """`sightline serve` on a free port, plus a client of one of its projects."""
    server = await asyncio.to_thread(start_server, data_dir, env)
    headers = {"X-API-Key": env["SIGHTLINE_INIT_API_KEY"], "X-Project-Name": project}
    try:
        async with httpx.AsyncClient(base_url=server.base_url, headers=headers, timeout=30) as api:
            yield server, api
    finally:
        await asyncio.to_thread(server.stop)


async def test_sigkill_mid_run_then_restart_finishes_with_exactly_one_score_per_pair(
    server_env: dict[str, str], tmp_path: Path
) -> None:
    async with serve(server_env, tmp_path, "crash-test") as (server, api):
        trace_ids = await create_traces(api, 20)
        created = await api.post(
            "/evaluations/trace-runs/batch", json={"trace_ids": trace_ids, "metrics": METRICS}
        )
        run_id = created.json()["id"]
        before = await wait_until(api, run_id, lambda r: r["evaluated_count"] >= 2)
        await asyncio.to_thread(server.kill)
    assert before["status"] == "RUNNING" and before["evaluated_count"] < 20

    async with serve(server_env, tmp_path, "crash-test") as (_, api):
        run = await wait_for_run(api, run_id, within=180)
        scores = (await api.get(f"/evaluations/trace-runs/{run_id}/scores")).json()

    assert run["status"] == "COMPLETED", run
    assert run["evaluated_count"] == 20 and run["failed_count"] == 0
    pairs = [(s["trace_id"], s["name"]) for s in scores]
    assert sorted(pairs) == sorted((t, m) for t in trace_ids for m in METRICS)
    assert all(s["status"] == "SUCCESS" for s in scores)


async def _cli(server: ServerProcess, env: dict[str, str], *args: str) -> tuple[int, str]:
    cli_env = {
        **os.environ,
        "SIGHTLINE_ENDPOINT": server.base_url,
        "PANDAPROBE_API_KEY": env["SIGHTLINE_INIT_API_KEY"],
        "PANDAPROBE_PROJECT_NAME": "cli-test",
        "COLUMNS": "200",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sightline", "eval", *args,
        env=cli_env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, output.decode()


async def test_cli_runs_and_shows_an_evaluation(server_env: dict[str, str], tmp_path: Path) -> None:
    server_env["SIGHTLINE_JUDGE_MAX_CONCURRENCY"] = "16"
    async with serve(server_env, tmp_path, "cli-test") as (server, api):
        trace_ids = await create_traces(api, 3, name="cli-agent")
        await create_traces(api, 2, name="other-agent")
        args = ["run", "--metrics", "task_completion,confidence", "--wait"]
        for trace_id in trace_ids:
            args += ["--trace-id", trace_id]
        code, output = await _cli(server, server_env, *args)
        assert code == 0, output
        assert "3 traces × 2 metrics" in output and "COMPLETED" in output, output
        run_id = output.split("run ", 1)[1].split(":", 1)[0].strip()

        code, shown = await _cli(server, server_env, "show", run_id)
        assert code == 0, shown
        assert "task_completion" in shown and "confidence" in shown, shown
        assert "COMPLETED" in shown, shown

        code, filtered = await _cli(
            server, server_env, "run", "--metrics", "confidence", "--filter", "name=cli-agent",
            "--wait",
        )  # fmt: skip
        assert code == 0 and "3 traces × 1 metrics" in filtered, filtered

        code, refused = await _cli(
            server, server_env, "run", "--metrics", "nope", "--filter", "name=x"
        )
        assert code == 1 and "Unknown metrics: nope" in refused, refused

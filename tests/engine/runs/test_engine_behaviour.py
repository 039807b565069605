"""How runs behave when the judge is cached, expensive, throttled, broken or too small."""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from sightline.engine.executor import Executor
from tests.conftest import Tenant, make_settings, running_app
from tests.evals.conftest import judge_overrides
from tests.evals.factories import create_traces, wait_for_run, wait_until
from tests.fakes.openai_server import FakeJudgeServer

METRICS = ["task_completion", "step_efficiency"]


async def _batch(client: httpx.AsyncClient, trace_ids: list[str], **extra: Any) -> dict[str, Any]:
    body = {"trace_ids": trace_ids, "metrics": extra.pop("metrics", METRICS), **extra}
    response = await client.post("/evaluations/trace-runs/batch", json=body)
    assert response.status_code == 202, response.text
    created: dict[str, Any] = response.json()
    return created


async def _scores(client: httpx.AsyncClient, run_id: str) -> list[dict[str, Any]]:
    response = await client.get(f"/evaluations/trace-runs/{run_id}/scores")
    assert response.status_code == 200
    scores: list[dict[str, Any]] = response.json()
    return scores


def _pairs(scores: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return sorted((s["trace_id"], s["name"]) for s in scores)


async def test_second_run_is_served_by_the_judge_cache(
    et: Tenant, eval_client: httpx.AsyncClient, judge: FakeJudgeServer
) -> None:
    trace_ids = await create_traces(eval_client, 3)
    first = await wait_for_run(eval_client, (await _batch(eval_client, trace_ids))["id"])
    assert first["judge_calls"] == 9
    calls_before = len(judge.chat_requests())

    second = await wait_for_run(eval_client, (await _batch(eval_client, trace_ids))["id"])
    assert second["status"] == "COMPLETED" and second["failed_count"] == 0
    assert second["judge_calls"] == 0 and second["cost_usd"] == 0
    assert len(judge.chat_requests()) == calls_before
    scores = await _scores(eval_client, second["id"])
    assert len(scores) == 6
    assert all(s["metadata"]["judge"]["cached"] >= 1 for s in scores)

    uncached = await _batch(eval_client, trace_ids, use_cache=False)
    assert uncached["use_cache"] is False
    third = await wait_for_run(eval_client, uncached["id"])
    assert third["judge_calls"] == 9
    assert len(judge.chat_requests()) == calls_before + 9


async def test_budget_stops_new_judge_calls(
    et: Tenant, eval_client: httpx.AsyncClient, judge: FakeJudgeServer
) -> None:
    trace_ids = await create_traces(eval_client, 12)
    judge.latency_seconds = 0.05
    created = await _batch(
        eval_client, trace_ids, metrics=["task_completion"], max_cost_usd=0.0003, use_cache=False
    )
    assert created["max_cost_usd"] == 0.0003
    run = await wait_for_run(eval_client, created["id"])
    scores = await _scores(eval_client, run["id"])
    assert len(scores) == 12  # every pair has exactly one outcome
    exhausted = [s for s in scores if s["status"] == "FAILED"]
    assert exhausted, "the budget should have stopped some pairs"
    assert all(s["reason"] == "budget_exhausted" and s["value"] is None for s in exhausted)
    assert run["failed_count"] == len(exhausted)
    # Calls already in flight may finish, nothing new starts: far fewer than 12 × 2 calls.
    assert len(judge.chat_requests()) < 24
    assert run["judge_calls"] <= len(judge.chat_requests())


async def test_trace_too_large_for_the_judge_fails_with_context_overflow(
    et: Tenant, eval_client: httpx.AsyncClient, judge: FakeJudgeServer
) -> None:
    small = await create_traces(eval_client, 1, tool_calls=1, payload_chars=50)
    large = await create_traces(eval_client, 1, tool_calls=12, payload_chars=4000)
    judge.context_limit_tokens = 2500
    run = await wait_for_run(
        eval_client, (await _batch(eval_client, small + large, use_cache=False))["id"]
    )
    assert run["status"] == "COMPLETED" and run["failed_count"] == 2
    by_trace = {(s["trace_id"], s["name"]): s for s in await _scores(eval_client, run["id"])}
    for metric in METRICS:
        assert by_trace[(small[0], metric)]["status"] == "SUCCESS"
        overflow = by_trace[(large[0], metric)]
        assert overflow["status"] == "FAILED"
        assert overflow["value"] is None  # never a low score
        assert overflow["reason"] == "context_overflow"
        assert overflow["metadata"]["error"] == "context_overflow"


async def test_429_storm_loses_no_pair(
    et: Tenant, eval_client: httpx.AsyncClient, judge: FakeJudgeServer
) -> None:
    trace_ids = await create_traces(eval_client, 6)
    judge.fail_next(429, times=15, retry_after=0.05)
    run = await wait_for_run(eval_client, (await _batch(eval_client, trace_ids))["id"])
    assert run["status"] == "COMPLETED"
    assert run["failed_count"] == 0 and run["evaluated_count"] == 6
    scores = await _scores(eval_client, run["id"])
    assert _pairs(scores) == sorted((t, m) for t in trace_ids for m in METRICS)
    assert all(s["status"] == "SUCCESS" for s in scores)
    assert len(judge.chat_requests()) == 18 + 15  # every 429 was retried, nothing else
    assert run["judge_calls"] == 18 + 15


async def test_rejected_credentials_fail_the_run_with_an_actionable_message(
    et: Tenant, eval_client: httpx.AsyncClient, judge: FakeJudgeServer
) -> None:
    trace_ids = await create_traces(eval_client, 2)
    judge.api_key = "sk-the-right-one"
    run = await wait_for_run(
        eval_client, (await _batch(eval_client, trace_ids, use_cache=False))["id"]
    )
    assert run["status"] == "FAILED"
    assert run["failed_count"] == 4 and run["evaluated_count"] == 2
    assert "judge_auth_error" in run["error_message"]
    assert "SIGHTLINE_JUDGE_API_KEY" in run["error_message"]
    # permanent: one request per extraction, no retries
    assert len(judge.chat_requests()) == 2


async def test_duplicate_delivery_and_concurrent_executors_score_each_pair_once(
    et: Tenant, eval_client: httpx.AsyncClient, eval_app: FastAPI, judge: FakeJudgeServer
) -> None:
    trace_ids = await create_traces(eval_client, 8)
    judge.latency_seconds = 0.05
    created = await _batch(eval_client, trace_ids, use_cache=False)
    run_id = created["id"]
    queue = eval_app.state.eval_queue
    queue.enqueue(run_id)  # a repeated message
    settings = eval_app.state.settings
    factory = eval_app.state.session_factory
    others = [Executor(settings, factory) for _ in range(2)]  # e.g. other replicas
    await asyncio.gather(*(executor.execute(uuid.UUID(run_id)) for executor in others))
    run = await wait_for_run(eval_client, run_id)
    assert run["status"] == "COMPLETED" and run["failed_count"] == 0
    scores = await _scores(eval_client, run_id)
    assert _pairs(scores) == sorted((t, m) for t in trace_ids for m in METRICS)
    # No pair was evaluated twice: exactly 3 judge calls per trace went out.
    assert len(judge.chat_requests()) == 24
    assert run["judge_calls"] == 24


async def test_deleting_a_running_run_stops_its_executor_quietly(
    et: Tenant,
    eval_client: httpx.AsyncClient,
    eval_app: FastAPI,
    judge: FakeJudgeServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    trace_ids = await create_traces(eval_client, 12)
    judge.latency_seconds = 0.2
    created = await _batch(eval_client, trace_ids, use_cache=False)
    await wait_until(eval_client, created["id"], lambda r: r["evaluated_count"] >= 1)
    with caplog.at_level(logging.WARNING, logger="sightline"):
        deleted = await eval_client.delete(
            f"/evaluations/trace-runs/{created['id']}", params={"delete_scores": "true"}
        )
        assert deleted.status_code == 204
        await asyncio.wait_for(eval_app.state.eval_queue.join(), timeout=60)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert (await eval_client.get(f"/evaluations/trace-runs/{created['id']}")).status_code == 404
    for trace_id in trace_ids:  # nothing was written after the delete
        leftover = await eval_client.get("/evaluations/trace-scores", params={"trace_id": trace_id})
        assert leftover.json()["total"] == 0


async def test_judge_cache_is_durable_across_restarts(
    et: Tenant,
    eval_client: httpx.AsyncClient,
    judge: FakeJudgeServer,
    database_url: str,
    tmp_path: Path,
) -> None:
    trace_ids = await create_traces(eval_client, 2)
    first = await wait_for_run(eval_client, (await _batch(eval_client, trace_ids))["id"])
    assert first["judge_calls"] == 6
    settings = make_settings(database_url, tmp_path, **judge_overrides(judge))
    async with running_app(settings) as restarted:  # a new process: empty memory caches
        transport = httpx.ASGITransport(app=restarted)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://t", headers=et.headers()
        ) as client:
            second = await wait_for_run(client, (await _batch(client, trace_ids))["id"])
    assert second["status"] == "COMPLETED" and second["judge_calls"] == 0
    assert len(judge.chat_requests()) == 6


async def test_nul_characters_in_judge_answers_are_stored_safely(
    et: Tenant, eval_client: httpx.AsyncClient, judge: FakeJudgeServer
) -> None:
    trace_ids = await create_traces(eval_client, 1)
    judge.answers["ConfidenceAnswer"] = {"confidence": 0.7, "reason": "odd\u0000answer"}
    run = await wait_for_run(
        eval_client, (await _batch(eval_client, trace_ids, metrics=["confidence"]))["id"]
    )
    assert run["status"] == "COMPLETED"
    [score] = await _scores(eval_client, run["id"])
    assert score["value"] == "0.7" and score["reason"] == "oddanswer"


async def test_run_cost_is_what_its_scores_cost_and_what_the_judge_was_sent(
    et: Tenant, eval_client: httpx.AsyncClient, judge: FakeJudgeServer
) -> None:
    """The shared task extraction is split between the three metrics of each trace, and
    the run's totals are both the sum over its scores and what reached the judge."""

    def all_yes(body: dict[str, Any]) -> dict[str, Any]:
        found = re.search(r"The agent's (\d+) tool calls", str(body["messages"][-1]["content"]))
        assert found is not None
        calls = range(1, int(found.group(1)) + 1)
        verdicts = [{"call": n, "reason": "right order id", "verdict": "yes"} for n in calls]
        return {"verdicts": verdicts, "reason": "all arguments right"}

    judge.answers["ArgumentVerdicts"] = all_yes
    trace_ids = await create_traces(eval_client, 2)
    metrics = ["task_completion", "step_efficiency", "argument_correctness"]
    before = len(judge.chat_requests())
    created = await _batch(eval_client, trace_ids, metrics=metrics, use_cache=False)
    run = await wait_for_run(eval_client, created["id"])
    sent = judge.chat_requests()[before:]
    assert run["status"] == "COMPLETED" and run["failed_count"] == 0
    assert run["judge_calls"] == len(sent) == 2 * (1 + len(metrics))
    assert run["prompt_tokens"] == sum(r.prompt_tokens for r in sent)
    scores = await _scores(eval_client, run["id"])
    assert len(scores) == 6 and all(s["value"] is not None for s in scores)
    spent = [s["metadata"]["judge"] for s in scores]
    assert run["cost_usd"] > 0
    assert abs(run["cost_usd"] - sum(j["cost_usd"] for j in spent)) < 1e-7  # 8-place metadata
    assert all(s["metadata"]["shared_extractions"] == {"task": "1/3"} for s in scores)
    for trace_id in trace_ids:  # the extraction's one request goes to one of the three
        mine = [s["metadata"]["judge"]["requests"] for s in scores if s["trace_id"] == trace_id]
        assert sorted(mine) == [1, 1, 2]

"""Not applicable is not a score: a trace without tool calls gets no argument_correctness
and no tool_correctness number. Stored as SUCCESS with a null value, a reason starting
``not_applicable:`` and ``metadata.not_applicable``; never a failed pair, never in a mean,
and done as far as a monitor's only_unscored is concerned."""

from __future__ import annotations

from typing import Any

import httpx
from pandaprobe.api.models import Score

from tests.conftest import Tenant
from tests.evals.factories import create_traces, wait_for_run
from tests.fakes.openai_server import FakeJudgeServer
from tests.monitors.test_monitor_api import BASE as MONITORS
from tests.monitors.test_monitor_api import create as create_monitor

ANALYTICS = "/evaluations/analytics/trace-scores"


async def run_batch(client: httpx.AsyncClient, trace_ids: list[str], metrics: list[str]) -> Any:
    body = {"trace_ids": trace_ids, "metrics": metrics}
    response = await client.post("/evaluations/trace-runs/batch", json=body)
    assert response.status_code == 202, response.text
    return await wait_for_run(client, response.json()["id"])


async def test_no_tools_is_stored_as_not_applicable_without_a_judge_call(
    et: Tenant, eval_client: httpx.AsyncClient, judge: FakeJudgeServer
) -> None:
    trace_ids = await create_traces(eval_client, 2, tool_calls=0)
    before = len(judge.requests)
    run = await run_batch(eval_client, trace_ids, ["argument_correctness", "tool_correctness"])

    assert len(judge.requests) == before  # nothing to judge: no request at all
    assert run["status"] == "COMPLETED" and run["failed_count"] == 0
    assert run["evaluated_count"] == 2 and run["judge_calls"] == 0
    scores = (await eval_client.get(f"/evaluations/trace-runs/{run['id']}/scores")).json()
    assert len(scores) == 4
    for score in scores:
        assert score["status"] == "SUCCESS" and score["value"] is None
        assert score["reason"].startswith("not_applicable: No tool calls")
        assert score["metadata"]["not_applicable"] is True
        assert score["metadata"]["success"] is None and score["metadata"]["threshold"] == 0.5
        assert score["metadata"]["judge"]["requests"] == 0
        # PandaProbe's SDK reads it: a SUCCESS score without a number
        assert Score.model_validate(score).numeric_value is None
    # nothing failed, so nothing to retry
    retry = await eval_client.post(f"/evaluations/trace-runs/{run['id']}/retry")
    assert retry.status_code == 422


async def test_not_applicable_is_left_out_of_the_analytics(
    et: Tenant, eval_client: httpx.AsyncClient, judge: FakeJudgeServer
) -> None:
    judge.answers["ScoreAnswer"] = {"score": 0.6, "reason": "right tools"}
    with_tools = await create_traces(eval_client, 2, tool_calls=1)
    without = await create_traces(eval_client, 3, tool_calls=0)
    run = await run_batch(eval_client, with_tools + without, ["tool_correctness"])
    assert run["failed_count"] == 0

    [summary] = (await eval_client.get(f"{ANALYTICS}/summary")).json()
    assert summary["metric_name"] == "tool_correctness"
    # the mean of 0.6 and 0.6, not of 0.6, 0.6 and three perfect (or null) scores
    assert (summary["avg_score"], summary["min_score"], summary["max_score"]) == (0.6, 0.6, 0.6)
    assert summary["median_score"] == 0.6
    assert summary["success_count"] == 5 and summary["failed_count"] == 0
    assert summary["not_applicable_count"] == 3
    params = {"metric_name": "tool_correctness"}
    [point] = (await eval_client.get(f"{ANALYTICS}/trend", params=params)).json()
    assert (point["avg_score"], point["count"]) == (0.6, 2)
    buckets = (await eval_client.get(f"{ANALYTICS}/distribution", params=params)).json()
    assert [(b["bucket"], b["count"]) for b in buckets] == [(7, 2)]


async def test_a_monitor_counts_not_applicable_pairs_as_done(
    et: Tenant, eval_client: httpx.AsyncClient, judge: FakeJudgeServer
) -> None:
    await create_traces(eval_client, 2, tool_calls=0)
    monitor = await create_monitor(eval_client, metrics=["tool_correctness"])
    url = f"{MONITORS}/{monitor['id']}"
    first = await eval_client.post(f"{url}/trigger")
    assert first.status_code == 202, first.text
    done = await wait_for_run(eval_client, first.json()["id"])
    assert done["failed_count"] == 0 and done["total_targets"] == 2

    again = await eval_client.post(f"{url}/trigger")
    assert again.status_code == 422  # not re-scored on every tick
    assert again.json()["detail"].startswith("Every matching trace already has a successful")

from __future__ import annotations

import httpx

from tests.conftest import Tenant
from tests.evals.factories import create_traces, wait_for_run
from tests.fakes.openai_server import FakeJudgeServer

METRICS = ["task_completion", "step_efficiency"]


async def test_batch_run_scores_every_pair_once(
    et: Tenant, eval_client: httpx.AsyncClient, judge: FakeJudgeServer
) -> None:
    trace_ids = await create_traces(eval_client, 3)
    response = await eval_client.post(
        "/evaluations/trace-runs/batch",
        json={"trace_ids": trace_ids, "metrics": METRICS, "name": "smoke"},
    )
    assert response.status_code == 202, response.text
    created = response.json()
    assert created["status"] == "PENDING"
    assert created["total_targets"] == 3 == created["total_traces"]
    assert created["filters"] == {"trace_ids": trace_ids}
    assert created["model"] == "openai/gpt-4o-mini"

    run = await wait_for_run(eval_client, created["id"])
    assert run["status"] == "COMPLETED", run
    assert run["evaluated_count"] == 3
    assert run["failed_count"] == 0
    # task extraction is shared: 1 extraction + 2 scoring calls per trace
    assert run["judge_calls"] == 9 == len(judge.chat_requests())
    assert run["prompt_tokens"] > 0 and run["cost_usd"] > 0
    assert run["completed_at"] is not None

    scores = (await eval_client.get(f"/evaluations/trace-runs/{created['id']}/scores")).json()
    assert sorted((s["trace_id"], s["name"]) for s in scores) == sorted(
        (t, m) for t in trace_ids for m in METRICS
    )
    for score in scores:
        assert score["status"] == "SUCCESS" and score["source"] == "AUTOMATED"
        assert score["value"] == "0.8"
        assert score["metadata"]["threshold"] == 0.5 and score["metadata"]["success"] is True
        assert score["environment"] == "test"
        assert score["judge_calls"] >= 1

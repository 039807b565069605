"""Which earlier trace scores may stand in for a session run's signals (API.md §6 item 13):
only AUTOMATED, SUCCESS, NUMERIC scores of the same metric from the same judge model."""

from __future__ import annotations

import httpx

from tests.conftest import Tenant
from tests.evals.sessions.helpers import post_session
from tests.evals.sessions.test_session_runs import run_batch
from tests.fakes.openai_server import FakeJudgeServer


async def test_only_automated_scores_of_the_same_model_are_reused(
    et: Tenant, eval_client: httpx.AsyncClient, judge: FakeJudgeServer
) -> None:
    sid, (first, second) = await post_session(eval_client, 2)
    lookalikes = [
        {"value": "0.1", "source": "PROGRAMMATIC"},  # the SDK's own "confidence" score
        {"value": "0.2", "source": "ANNOTATION"},  # a human's
        {"value": "0.3", "source": "AUTOMATED"},  # posted through the API: no judge model
        {"value": "true", "source": "AUTOMATED", "data_type": "BOOLEAN"},  # crashed PandaProbe
        {"value": "high", "source": "PROGRAMMATIC", "data_type": "CATEGORICAL"},
    ]
    for extra in lookalikes:
        response = await eval_client.post(
            "/evaluations/trace-scores", json={"trace_id": first, "name": "confidence", **extra}
        )
        assert response.status_code == 201, response.text

    run = await run_batch(eval_client, [sid])
    assert run["status"] == "COMPLETED" and run["failed_count"] == 0
    assert len(judge.chat_requests("ConfidenceAnswer")) == 2  # judged for both traces
    scores = (await eval_client.get(f"/evaluations/session-runs/{run['id']}/scores")).json()
    assert {s["metadata"]["signals"]["reused"] for s in scores} == {0}
    per_trace = scores[0]["metadata"]["per_trace_signals"]
    assert per_trace[first]["confidence_risk"] == 0.2  # the judge's 0.8, not 0.1/0.2/0.3

    # the same judge model again: every signal is reused, no judge call at all
    judge.reset()
    again = await run_batch(eval_client, [sid], use_cache=False)
    assert again["status"] == "COMPLETED" and len(judge.requests) == 0
    assert again["judge_calls"] == 0
    reused = (await eval_client.get(f"/evaluations/session-runs/{again['id']}/scores")).json()
    assert {s["metadata"]["signals"]["reused"] for s in reused} == {8}
    assert {s["value"] for s in reused} == {s["value"] for s in scores}

    # another judge model does not reuse the first model's signals
    other = await run_batch(eval_client, [sid], model="gpt-4.1-mini")
    assert other["model"] == "openai/gpt-4.1-mini"
    assert len(judge.chat_requests("ConfidenceAnswer")) == 2
    assert {r.body["model"] for r in judge.chat_requests()} == {"gpt-4.1-mini"}
    assert second

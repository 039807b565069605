"""Which earlier trace scores may stand in for a session run's signals (API.md §6 item 13):
only AUTOMATED, SUCCESS, NUMERIC scores of the same metric from the same judge model."""

from __future__ import annotations

import httpx

from sightline.db.models import TraceScore
from sightline.engine.session.evaluator import _reusable
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


async def test_not_applicable_signals_are_stored_reused_and_not_evidence(
    et: Tenant, eval_client: httpx.AsyncClient, judge: FakeJudgeServer
) -> None:
    """Traces without tools: tool_correctness is not applicable (no judge call), as is the
    first turn's loop check (no tool calls, nothing earlier to compare)."""
    sid, (first, second) = await post_session(eval_client, 2, tool_calls=0)
    before = len(judge.chat_requests("ScoreAnswer"))
    run = await run_batch(eval_client, [sid])
    assert run["status"] == "COMPLETED" and run["failed_count"] == 0
    assert len(judge.chat_requests("ScoreAnswer")) == before  # tool_correctness never asked

    signals = (
        await eval_client.get("/evaluations/trace-scores", params={"eval_run_id": run["id"]})
    ).json()["items"]
    not_applicable = sorted(
        (s["trace_id"] == first, s["name"]) for s in signals if s["value"] is None
    )
    assert not_applicable == [
        (False, "tool_correctness"), (True, "loop_detection"), (True, "tool_correctness"),
    ]  # fmt: skip
    for signal in signals:
        if signal["value"] is None:
            assert signal["status"] == "SUCCESS" and signal["metadata"]["not_applicable"]
            assert signal["reason"].startswith("not_applicable: ")
    scores = (await eval_client.get(f"/evaluations/session-runs/{run['id']}/scores")).json()
    for score in scores:
        assert score["status"] == "SUCCESS"
        assert score["metadata"]["signals"]["no_evidence"] == 3
        assert score["metadata"]["evidence"]["applicable_signals"] == 5
        assert "not counted" not in score["reason"]  # nothing failed
        assert "tool_risk" not in score["metadata"]["per_trace_signals"][first]

    # run again: the not-applicable findings are reused, not recomputed
    requests = len(judge.requests)
    again = await run_batch(eval_client, [sid], use_cache=False)
    assert len(judge.requests) == requests and again["judge_calls"] == 0
    reused = (await eval_client.get(f"/evaluations/session-runs/{again['id']}/scores")).json()
    for score in reused:
        assert score["metadata"]["signals"] == {
            "reused": 8, "computed": 0, "failed": 0, "no_evidence": 3,
        }  # fmt: skip
    assert {s["value"] for s in reused} == {s["value"] for s in scores}
    assert second


def test_signals_of_an_older_metric_version_are_computed_again() -> None:
    """loop_detection before it looked at repeated tool calls (no metric_version) said "1.0,
    nothing to compare" on a first turn that may hold ten identical calls: not reused."""

    def row(value: str | None, **metadata: object) -> TraceScore:
        return TraceScore(value=value, metadata_=metadata)

    assert not _reusable("loop_detection", row("1.0", note="no_previous_outputs"))
    assert _reusable("loop_detection", row("0.1111", metric_version=2))
    assert _reusable("loop_detection", row(None, not_applicable=True, metric_version=2))
    assert not _reusable("tool_correctness", row("0.03"))  # judge noise on a tool-less trace
    assert _reusable("confidence", row("0.8"))  # unchanged metric: version 1
    assert not _reusable("confidence", row(None))  # null without not_applicable
    assert not _reusable("confidence", row("high"))

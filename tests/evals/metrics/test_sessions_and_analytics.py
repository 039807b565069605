"""A custom metric's name where a built-in's works: session runs (the deterministic kinds,
over the session's traces as one whole), session monitors, the run template and the score
analytics (a check's average is its pass rate)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx

from tests.conftest import Tenant
from tests.evals.factories import wait_for_run
from tests.evals.metrics.helpers import define, post_trace, run_scores, say
from tests.fakes.openai_server import FakeJudgeServer

ANALYTICS = "/evaluations/analytics/trace-scores"


async def _session(
    client: httpx.AsyncClient, outputs: list[str], tools: list[tuple[str, ...]]
) -> str:
    sid = f"sess-{uuid.uuid4().hex[:8]}"
    start = datetime.now(UTC) - timedelta(hours=1)
    for turn, (text, used) in enumerate(zip(outputs, tools, strict=True)):
        await post_trace(
            client, output=say(text), tools=used, session_id=sid, seconds=1.0,
            started_at=start + timedelta(minutes=turn),
        )  # fmt: skip
    return sid


async def test_session_run_with_checks_needs_no_signal(
    et: Tenant, eval_client: httpx.AsyncClient, judge: FakeJudgeServer
) -> None:
    await define(eval_client, "no_apology", "contains", {"phrases": ["sorry"], "mode": "none"})
    await define(
        eval_client, "looked_up_twice", "tool_called", {"tool": "lookup_order", "min_times": 2}
    )
    await define(eval_client, "session_fast", "threshold", {"measure": "latency_ms", "max": 2500})
    good = await _session(eval_client, ["On its way.", "Delivered."], [("lookup_order",)] * 2)
    bad = await _session(
        eval_client, ["On its way.", "Sorry, lost.", "Sorry again."], [("lookup_order",), (), ()]
    )
    body = {
        "session_ids": [good, bad],
        "metrics": ["no_apology", "looked_up_twice", "session_fast"],
    }
    response = await eval_client.post("/evaluations/session-runs/batch", json=body)
    assert response.status_code == 202, response.text
    run = await wait_for_run(eval_client, response.json()["id"], kind="session")
    assert run["status"] == "COMPLETED" and run["judge_calls"] == 0
    assert judge.requests == []  # no signal computed, no embedding
    scores = (await eval_client.get(f"/evaluations/session-runs/{run['id']}/scores")).json()
    got = {(s["session_id"], s["name"]): s for s in scores}
    for name in body["metrics"]:
        assert got[(good, name)]["value"] == "true", got[(good, name)]
        assert got[(bad, name)]["value"] == "false", got[(bad, name)]
        assert got[(good, name)]["data_type"] == "BOOLEAN"
    assert got[(bad, "no_apology")]["reason"].startswith("2 of 3 traces fail; ")
    assert got[(bad, "looked_up_twice")]["reason"].startswith("lookup_order was called 1 time,")
    assert got[(bad, "session_fast")]["reason"] == "latency_ms = 3000 is above the max 2500"
    trace_scores = (await eval_client.get("/evaluations/trace-scores")).json()
    assert trace_scores["total"] == 0  # no per-trace signals were written


async def test_session_runs_refuse_a_judge_metric(
    et: Tenant, eval_client: httpx.AsyncClient
) -> None:
    await define(eval_client, "polite", "llm_judge", {"criteria": "Polite."})
    sid = await _session(eval_client, ["Hi."], [()])
    for path, body in (
        ("/evaluations/session-runs/batch", {"session_ids": [sid], "metrics": ["polite"]}),
        ("/evaluations/monitors", {"name": "m", "target_type": "SESSION",
                                   "metrics": ["polite"], "cadence": "daily"}),
    ):  # fmt: skip
        response = await eval_client.post(path, json=body)
        assert response.status_code == 422
        assert response.json()["detail"].startswith("polite: an llm_judge metric judges one trace")


async def test_session_monitor_with_a_check(et: Tenant, eval_client: httpx.AsyncClient) -> None:
    await define(eval_client, "no_apology", "contains", {"phrases": ["sorry"], "mode": "none"})
    await _session(eval_client, ["Fine."], [()])
    body = {"name": "m", "target_type": "SESSION", "metrics": ["no_apology"], "cadence": "daily"}
    monitor = (await eval_client.post("/evaluations/monitors", json=body)).json()
    first = await eval_client.post(f"/evaluations/monitors/{monitor['id']}/trigger")
    assert first.status_code == 202, first.text
    await wait_for_run(eval_client, first.json()["id"], kind="session")
    again = await eval_client.post(f"/evaluations/monitors/{monitor['id']}/trigger")
    assert again.status_code == 422  # scored at this version, and the session has not grown


async def test_analytics_and_template(et: Tenant, eval_client: httpx.AsyncClient) -> None:
    await define(
        eval_client, "no_apology", "regex", {"pattern": "(?i)sorry", "must_match": False},
        description="never apologises",
    )  # fmt: skip
    ids = [
        await post_trace(eval_client, output=say(text))
        for text in ("Fine.", "Sorry.", "Great.", "All good.")
    ]
    await run_scores(eval_client, ids, ["no_apology"])
    [summary] = (await eval_client.get(f"{ANALYTICS}/summary")).json()
    assert summary["metric_name"] == "no_apology" and summary["success_count"] == 4
    assert summary["avg_score"] == 0.75 and summary["median_score"] == 1.0  # the pass rate
    assert summary["min_score"] == 0.0 and summary["max_score"] == 1.0
    [point] = (
        await eval_client.get(f"{ANALYTICS}/trend", params={"metric_name": "no_apology"})
    ).json()
    assert point["avg_score"] == 0.75 and point["count"] == 4
    buckets = (
        await eval_client.get(f"{ANALYTICS}/distribution", params={"metric_name": "no_apology"})
    ).json()
    assert [(b["bucket"], b["count"]) for b in buckets] == [(1, 1), (10, 3)]

    template = await eval_client.get(
        "/evaluations/trace-runs/template", params={"metric": "no_apology"}
    )
    assert template.status_code == 200, template.text
    metric = template.json()["metric"]
    assert metric == {
        "name": "no_apology", "description": "never apologises", "category": "custom",
        "default_threshold": 0.5, "prompt_preview": [],
    }  # fmt: skip

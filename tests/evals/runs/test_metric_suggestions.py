"""An unknown metric name is answered with the closest valid name and every valid one, on
every endpoint that takes metric names: trace runs (filter and batch), the run template,
session runs (filter and batch), and monitors (create and update, both target types)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Tenant
from tests.evals.factories import create_traces
from tests.evals.sessions.helpers import post_session

MONITORS = "/evaluations/monitors"


async def _valid(client: httpx.AsyncClient, kind: str) -> str:
    """The names the server lists, as the message must give them (sorted, comma-separated)."""
    response = await client.get(f"/evaluations/{kind}-metrics")
    assert response.status_code == 200, response.text
    return ", ".join(sorted(m["name"] for m in response.json()))


async def _refused(response: httpx.Response) -> str:
    assert response.status_code == 422, response.text
    detail: str = response.json()["detail"]
    return detail


async def test_trace_runs_suggest_the_closest_metric(
    et: Tenant, eval_client: httpx.AsyncClient
) -> None:
    valid = await _valid(eval_client, "trace")
    assert "task_completion" in valid and "loop_detection" not in valid  # hidden metric
    trace_ids = await create_traces(eval_client, 1)

    by_filter = await eval_client.post(
        "/evaluations/trace-runs", json={"metrics": ["task_compleshun"], "filters": {}}
    )
    assert await _refused(by_filter) == (
        f"Unknown metrics: task_compleshun (did you mean task_completion?). Valid metrics: {valid}."
    )

    # Several unknown names: each gets its own suggestion, or none when nothing is close;
    # a case slip is a typo too.
    batch = await eval_client.post(
        "/evaluations/trace-runs/batch",
        json={"trace_ids": trace_ids, "metrics": ["confidance", "nope", "Task_Completion"]},
    )
    assert await _refused(batch) == (
        "Unknown metrics: confidance (did you mean confidence?), nope, Task_Completion "
        f"(did you mean task_completion?). Valid metrics: {valid}."
    )
    runs = (await eval_client.get("/evaluations/trace-runs")).json()
    assert runs["total"] == 0  # refused before anything was stored

    template = await eval_client.get(
        "/evaluations/trace-runs/template", params={"metric": "tool_corectness"}
    )
    assert await _refused(template) == (
        f"Unknown metric: tool_corectness (did you mean tool_correctness?). Valid metrics: {valid}."
    )


async def test_session_runs_suggest_the_closest_metric(
    et: Tenant, eval_client: httpx.AsyncClient
) -> None:
    valid = await _valid(eval_client, "session")
    assert valid == "agent_consistency, agent_reliability"
    session_id, _ = await post_session(eval_client, 1)

    by_filter = await eval_client.post(
        "/evaluations/session-runs", json={"metrics": ["agent_reliabilty"]}
    )
    assert await _refused(by_filter) == (
        "Unknown session metrics: agent_reliabilty (did you mean agent_reliability?). "
        f"Valid session metrics: {valid}."
    )
    # A trace metric is not a session metric: no suggestion, but the valid names say so.
    batch = await eval_client.post(
        "/evaluations/session-runs/batch",
        json={"session_ids": [session_id], "metrics": ["task_completion", "agent_consistncy"]},
    )
    assert await _refused(batch) == (
        "Unknown session metrics: task_completion, agent_consistncy (did you mean "
        f"agent_consistency?). Valid session metrics: {valid}."
    )


def _monitor(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "nightly",
        "target_type": "TRACE",
        "metrics": ["confidence"],
        "cadence": "daily",
    }
    return {**body, **overrides}


async def test_monitors_suggest_the_closest_metric(
    et: Tenant, eval_client: httpx.AsyncClient
) -> None:
    trace_valid = await _valid(eval_client, "trace")
    session_valid = await _valid(eval_client, "session")

    created = await eval_client.post(MONITORS, json=_monitor(metrics=["coherance"]))
    assert await _refused(created) == (
        f"Unknown metrics: coherance (did you mean coherence?). Valid metrics: {trace_valid}."
    )
    session = await eval_client.post(
        MONITORS, json=_monitor(target_type="SESSION", metrics=["agent_reliabilty"])
    )
    assert await _refused(session) == (
        "Unknown session metrics: agent_reliabilty (did you mean agent_reliability?). "
        f"Valid session metrics: {session_valid}."
    )

    monitor = await eval_client.post(MONITORS, json=_monitor())
    assert monitor.status_code == 201, monitor.text
    patched = await eval_client.patch(
        f"{MONITORS}/{monitor.json()['id']}", json={"metrics": ["plan_qualty"]}
    )
    assert await _refused(patched) == (
        f"Unknown metrics: plan_qualty (did you mean plan_quality?). Valid metrics: {trace_valid}."
    )
    unchanged = (await eval_client.get(f"{MONITORS}/{monitor.json()['id']}")).json()
    assert unchanged["metric_names"] == ["confidence"]

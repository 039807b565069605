"""Discovery, list/get/delete/retry/scores of trace runs (API.md §3.3–§3.4)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from fastapi import FastAPI

from sightline.db.models import EvalRun
from sightline.db.session import transaction
from tests.conftest import Tenant
from tests.evals.factories import create_traces, wait_for_run
from tests.fakes.openai_server import FakeJudgeServer

RUNS = "/evaluations/trace-runs"
METRICS = ["task_completion", "step_efficiency"]


async def _completed_run(
    client: httpx.AsyncClient, count: int = 2, **extra: Any
) -> tuple[dict[str, Any], list[str]]:
    trace_ids = await create_traces(client, count)
    body = {"trace_ids": trace_ids, "metrics": METRICS, **extra}
    created = (await client.post(f"{RUNS}/batch", json=body)).json()
    return await wait_for_run(client, created["id"]), trace_ids


async def test_discovery_endpoints(et: Tenant, eval_client: httpx.AsyncClient) -> None:
    metrics = (await eval_client.get("/evaluations/trace-metrics")).json()
    assert [m["name"] for m in metrics] == [
        "argument_correctness", "coherence", "confidence", "plan_adherence", "plan_quality",
        "step_efficiency", "task_completion", "tool_correctness",
    ]  # fmt: skip
    assert all(m["category"] == "trace" and m["description"] for m in metrics)

    providers = (await eval_client.get("/evaluations/providers")).json()
    assert [p["key"] for p in providers] == ["openai", "anthropic", "google_genai", "vertex_ai"]
    openai = providers[0]
    assert openai["available"] is True  # the judge API base/key are configured for openai/
    assert set(openai) == {"key", "name", "description", "available", "message"}

    template = await eval_client.get(f"{RUNS}/template", params={"metric": "task_completion"})
    assert template.status_code == 200
    body = template.json()
    assert body["metric"]["name"] == "task_completion"
    assert body["metric"]["default_threshold"] == 0.5
    assert [s["stage"] for s in body["metric"]["prompt_preview"]] == ["extract", "score"]
    assert body["filters"] == dict.fromkeys(
        ["date_from", "date_to", "status", "session_id", "user_id", "tags", "name"]
    )
    assert body["sampling_rate"] == 1.0 and body["model"] == "openai/gpt-4o-mini"
    for bad in ("loop_detection", "nope"):
        refused = await eval_client.get(f"{RUNS}/template", params={"metric": bad})
        assert refused.status_code == 422
        detail = refused.json()["detail"]
        assert detail.startswith(f"Unknown metric: {bad}. Valid metrics: argument_correctness, ")
    missing = await eval_client.get(f"{RUNS}/template")
    assert missing.status_code == 422


async def test_discovery_requires_credentials(eval_client: httpx.AsyncClient) -> None:
    eval_client.headers.clear()
    for path in ("/evaluations/trace-metrics", "/evaluations/providers", RUNS):
        assert (await eval_client.get(path)).status_code == 401


async def test_list_and_get_runs(
    et: Tenant, eval_client: httpx.AsyncClient, eval_app: FastAPI
) -> None:
    first, _ = await _completed_run(eval_client, 1, name="first")
    second, _ = await _completed_run(eval_client, 1, name="second")
    session_run = await _insert_session_run(eval_app, uuid.UUID(first["project_id"]))

    page = (await eval_client.get(RUNS, params={"limit": 1})).json()
    assert page["total"] == 2 and page["limit"] == 1 and page["offset"] == 0
    assert [r["name"] for r in page["items"]] == ["second"]
    rest = (await eval_client.get(RUNS, params={"limit": 1, "offset": 1})).json()
    assert [r["name"] for r in rest["items"]] == ["first"]
    completed = (await eval_client.get(RUNS, params={"status": "COMPLETED"})).json()
    assert completed["total"] == 2
    assert (await eval_client.get(RUNS, params={"status": "RUNNING"})).json()["total"] == 0
    assert (await eval_client.get(RUNS, params={"status": "BOGUS"})).status_code == 422
    assert (await eval_client.get(RUNS, params={"limit": 500})).status_code == 422

    got = (await eval_client.get(f"{RUNS}/{second['id']}")).json()
    assert got == second
    for key in ("judge_calls", "prompt_tokens", "completion_tokens", "cost_usd", "total_traces"):
        assert key in got
    # A session run is not a trace run; unknown and malformed IDs
    wrong_type = await eval_client.get(f"{RUNS}/{session_run}")
    assert wrong_type.status_code == 404
    assert wrong_type.json() == {"detail": f"Eval run {session_run} not found."}
    assert (await eval_client.get(f"{RUNS}/{uuid.uuid4()}")).status_code == 404
    assert (await eval_client.get(f"{RUNS}/not-a-uuid")).status_code == 422


async def _insert_session_run(app: FastAPI, project_id: uuid.UUID) -> uuid.UUID:
    run_id = uuid.uuid4()
    async with transaction(app.state.session_factory) as session:
        session.add(
            EvalRun(
                id=run_id,
                project_id=project_id,
                target_type="SESSION",
                metric_names=["agent_reliability"],
                filters={},
                status="COMPLETED",
            )
        )
    return run_id


async def test_runs_of_another_project_are_invisible(
    et: Tenant, eval_client: httpx.AsyncClient
) -> None:
    run, _ = await _completed_run(eval_client, 1)
    other_project = {"X-Project-Name": "another-project"}
    assert (await eval_client.get(f"{RUNS}/{run['id']}", headers=other_project)).status_code == 404
    listing = (await eval_client.get(RUNS, headers=other_project)).json()
    assert listing["total"] == 0
    scores = await eval_client.get(f"{RUNS}/{run['id']}/scores", headers=other_project)
    assert scores.status_code == 404
    deleted = await eval_client.delete(f"{RUNS}/{run['id']}", headers=other_project)
    assert deleted.status_code == 404


async def test_scores_of_an_unknown_run_are_404(et: Tenant, eval_client: httpx.AsyncClient) -> None:
    unknown = uuid.uuid4()
    response = await eval_client.get(f"{RUNS}/{unknown}/scores")
    assert response.status_code == 404
    assert response.json() == {"detail": f"Eval run {unknown} not found."}


async def test_delete_keeps_scores_unless_asked(et: Tenant, eval_client: httpx.AsyncClient) -> None:
    kept, kept_traces = await _completed_run(eval_client, 1)
    assert (await eval_client.delete(f"{RUNS}/{kept['id']}")).status_code == 204
    assert (await eval_client.get(f"{RUNS}/{kept['id']}")).status_code == 404
    assert (await eval_client.get(f"{RUNS}/{kept['id']}/scores")).status_code == 404
    orphans = await eval_client.get(
        "/evaluations/trace-scores", params={"trace_id": kept_traces[0]}
    )
    assert orphans.json()["total"] == 2
    assert all(s["eval_run_id"] is None for s in orphans.json()["items"])

    gone, gone_traces = await _completed_run(eval_client, 1)
    response = await eval_client.delete(f"{RUNS}/{gone['id']}", params={"delete_scores": True})
    assert response.status_code == 204
    left = await eval_client.get("/evaluations/trace-scores", params={"trace_id": gone_traces[0]})
    assert left.json()["total"] == 0
    assert (await eval_client.delete(f"{RUNS}/{gone['id']}")).status_code == 404


async def test_retry_reruns_only_the_failed_pairs(
    et: Tenant, eval_client: httpx.AsyncClient, judge: FakeJudgeServer
) -> None:
    judge.answers["ScoreAnswer"] = "I think it was fine."  # step_efficiency cannot be parsed
    original, trace_ids = await _completed_run(eval_client, 3, name="nightly", use_cache=False)
    assert original["status"] == "COMPLETED"
    assert original["failed_count"] == 3
    failed = [s for s in (await eval_client.get(f"{RUNS}/{original['id']}/scores")).json()
              if s["status"] == "FAILED"]  # fmt: skip
    assert {s["name"] for s in failed} == {"step_efficiency"}
    assert all(s["reason"].startswith("unparseable_answer:") for s in failed)
    # The unparseable answer and its repair were paid for: the failed pairs are accounted.
    assert all(s["metadata"]["judge"]["requests"] >= 2 for s in failed)
    assert all(s["metadata"]["judge"]["prompt_tokens"] > 0 for s in failed)
    assert original["judge_calls"] >= 3 * 2 + 3 * 2  # both metrics' calls, repairs included

    del judge.answers["ScoreAnswer"]
    retried = await eval_client.post(f"{RUNS}/{original['id']}/retry")
    assert retried.status_code == 202
    retry = retried.json()
    assert retry["name"] == "Retry: nightly"
    assert retry["metric_names"] == ["step_efficiency"]
    assert retry["total_targets"] == 3
    assert retry["filters"] == {"retry_of": original["id"], "trace_ids": trace_ids}
    assert retry["model"] == original["model"]
    done = await wait_for_run(eval_client, retry["id"])
    assert done["status"] == "COMPLETED" and done["failed_count"] == 0
    scores = (await eval_client.get(f"{RUNS}/{retry['id']}/scores")).json()
    assert sorted((s["trace_id"], s["name"]) for s in scores) == sorted(
        (t, "step_efficiency") for t in trace_ids
    )
    # The latest score per trace is now the successful retry.
    latest = (await eval_client.get(f"/evaluations/trace-scores/{trace_ids[0]}")).json()
    assert {s["name"]: s["status"] for s in latest} == {
        "step_efficiency": "SUCCESS",
        "task_completion": "SUCCESS",
    }

    nothing = await eval_client.post(f"{RUNS}/{retry['id']}/retry")
    assert nothing.status_code == 422
    assert nothing.json() == {"detail": "No failed scores to retry in this run."}
    assert (await eval_client.post(f"{RUNS}/{uuid.uuid4()}/retry")).status_code == 404

"""Bad run requests get a clear 422 and create nothing (PandaProbe bugs 15, 16, 17, 25, 31)."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Tenant, make_settings, new_tenant, running_app
from tests.evals.conftest import judge_overrides
from tests.evals.factories import create_traces, wait_for_run
from tests.fakes.openai_server import FakeJudgeServer

BATCH = "/evaluations/trace-runs/batch"
RUNS = "/evaluations/trace-runs"


async def _run_count(client: httpx.AsyncClient) -> int:
    total: int = (await client.get(RUNS)).json()["total"]
    return total


async def test_unknown_metrics_are_named(et: Tenant, eval_client: httpx.AsyncClient) -> None:
    trace_ids = await create_traces(eval_client, 1)
    response = await eval_client.post(
        BATCH,
        json={"trace_ids": trace_ids, "metrics": ["task_completion", "nope", "loop_detection"]},
    )
    assert response.status_code == 422
    listed = (await eval_client.get("/evaluations/trace-metrics")).json()
    valid = ", ".join(sorted(m["name"] for m in listed))
    assert response.json() == {
        "detail": f"Unknown metrics: nope, loop_detection. Valid metrics: {valid}."
    }
    assert await _run_count(eval_client) == 0


async def test_duplicate_metrics_and_ids_are_deduplicated(
    et: Tenant, eval_client: httpx.AsyncClient
) -> None:
    trace_ids = await create_traces(eval_client, 2)
    response = await eval_client.post(
        BATCH,
        json={
            "trace_ids": [*trace_ids, trace_ids[0]],
            "metrics": ["confidence", "confidence", "task_completion"],
        },
    )
    assert response.status_code == 202
    run = response.json()
    assert run["metric_names"] == ["confidence", "task_completion"]
    assert run["total_targets"] == 2
    finished = await wait_for_run(eval_client, run["id"])
    scores = (await eval_client.get(f"{RUNS}/{run['id']}/scores")).json()
    assert len(scores) == 4 and finished["failed_count"] == 0


async def test_trace_ids_outside_the_project_are_named_and_no_run_is_created(
    et: Tenant, eval_client: httpx.AsyncClient, eval_app: Any
) -> None:
    mine = await create_traces(eval_client, 1)
    other = await new_tenant(eval_app, eval_client)
    foreign = await create_traces_as(eval_client, other)
    missing = str(uuid.uuid4())
    response = await eval_client.post(
        BATCH, json={"trace_ids": [*mine, foreign, missing], "metrics": ["confidence"]}
    )
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert foreign in detail and missing in detail and mine[0] not in detail
    assert await _run_count(eval_client) == 0


async def create_traces_as(client: httpx.AsyncClient, tenant: Tenant) -> str:
    saved = dict(client.headers)
    client.headers.update(tenant.headers())
    try:
        return (await create_traces(client, 1))[0]
    finally:
        client.headers.clear()
        client.headers.update(saved)


async def test_more_targets_than_the_limit_is_refused(
    database_url: str, tmp_path: Path, judge: FakeJudgeServer
) -> None:
    settings = make_settings(database_url, tmp_path, max_run_targets=2, **judge_overrides(judge))
    async with running_app(settings) as application:
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            tenant = await new_tenant(application, client)
            client.headers.update(tenant.headers())
            trace_ids = await create_traces(client, 3)
            response = await client.post(
                BATCH, json={"trace_ids": trace_ids, "metrics": ["confidence"]}
            )
            assert response.status_code == 422
            assert "at most 2 traces" in response.json()["detail"]
            by_filter = await client.post(RUNS, json={"metrics": ["confidence"]})
            assert by_filter.status_code == 422
            assert "at most 2 traces" in by_filter.json()["detail"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"filters": {"date_from": "yesterday"}}, "filters -> date_from"),
        ({"filters": {"date_to": "2025-13-45"}}, "filters -> date_to"),
        ({"filters": {"status": "FOO"}}, "filters -> status"),
        ({"filters": {"trace_ids": ["x"]}}, "filters -> trace_ids"),
        ({"sampling_rate": 0}, "sampling_rate"),
        ({"sampling_rate": 1.5}, "sampling_rate"),
        ({"sampling_rate": -0.1}, "sampling_rate"),
        ({"name": "x" * 256}, "name"),
        ({"metrics": []}, "metrics"),
        ({"max_cost_usd": 0}, "max_cost_usd"),
    ],
)
async def test_malformed_filter_runs_are_422_naming_the_field(
    et: Tenant, eval_client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    await create_traces(eval_client, 1)
    response = await eval_client.post(RUNS, json={"metrics": ["confidence"], **body})
    assert response.status_code == 422, response.text
    payload = response.json()
    assert payload["detail"] == "Validation error"
    assert [e["field"] for e in payload["errors"]] == [field]
    assert await _run_count(eval_client) == 0


async def test_filters_matching_nothing_are_422(et: Tenant, eval_client: httpx.AsyncClient) -> None:
    await create_traces(eval_client, 1, name="checkout")
    response = await eval_client.post(
        RUNS, json={"metrics": ["confidence"], "filters": {"name": "no-such-agent"}}
    )
    assert response.status_code == 422
    assert response.json() == {"detail": "No traces match the provided filters."}


async def test_judge_without_credentials_is_refused_at_creation(
    tenant: Tenant, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The default app has no judge API base or key configured.
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    trace_ids = await create_traces(client, 1)
    response = await client.post(BATCH, json={"trace_ids": trace_ids, "metrics": ["confidence"]})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "openai/gpt-4o-mini" in detail and "OPENAI_API_KEY" in detail
    assert "SIGHTLINE_JUDGE_API_BASE" in detail
    other = await client.post(
        BATCH,
        json={"trace_ids": trace_ids, "metrics": ["confidence"], "model": "claude-3-5-haiku"},
    )
    assert other.status_code == 422
    assert "anthropic/claude-3-5-haiku" in other.json()["detail"]
    unprefixed = await client.post(
        BATCH, json={"trace_ids": trace_ids, "metrics": ["confidence"], "model": "mystery"}
    )
    assert unprefixed.status_code == 422
    assert "provider prefix" in unprefixed.json()["detail"]
    assert (await client.get(RUNS)).json()["total"] == 0


def _in_sample(salt: str, target: str, rate: float) -> bool:
    digest = hashlib.sha256(f"{salt}{target}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < rate


async def test_sampling_is_deterministic(et: Tenant, eval_client: httpx.AsyncClient) -> None:
    trace_ids = await create_traces(eval_client, 30, name="sampled-agent")
    body = {"metrics": ["confidence"], "filters": {"name": "SAMPLED"}, "sampling_rate": 0.5}
    first = (await eval_client.post(RUNS, json=body)).json()
    salt = first["project_id"]
    expected = sorted(t for t in trace_ids if _in_sample(salt, t, 0.5))
    assert 0 < len(expected) < 30
    assert first["total_targets"] == len(expected)
    assert first["filters"] == {"name": "SAMPLED"}
    assert first["sampling_rate"] == 0.5

    second_body = {**body, "metrics": ["task_completion"]}
    second = (await eval_client.post(RUNS, json=second_body)).json()
    for run in (first, second):
        await wait_for_run(eval_client, run["id"])
        scores = (await eval_client.get(f"{RUNS}/{run['id']}/scores")).json()
        assert sorted(s["trace_id"] for s in scores) == expected


async def test_filter_run_uses_trace_filters(et: Tenant, eval_client: httpx.AsyncClient) -> None:
    tagged = await create_traces(eval_client, 2, tags=["vip"], session_id="s-1")
    await create_traces(eval_client, 2, tags=["other"])
    response = await eval_client.post(
        RUNS,
        json={
            "metrics": ["confidence"],
            "filters": {"tags": ["vip", "gold"], "session_id": "s-1", "status": "COMPLETED"},
            "name": "vip only",
        },
    )
    assert response.status_code == 202
    run = response.json()
    assert run["total_targets"] == 2 and run["name"] == "vip only"
    assert run["filters"] == {"tags": ["vip", "gold"], "session_id": "s-1", "status": "COMPLETED"}
    await wait_for_run(eval_client, run["id"])
    scores = (await eval_client.get(f"{RUNS}/{run['id']}/scores")).json()
    assert sorted(s["trace_id"] for s in scores) == sorted(tagged)

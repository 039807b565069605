"""Runs in the dashboard over HTTP, on both databases, with the fake judge: the new-run form
and its estimate, creation through the API's service, the run page and its live part,
retry and delete, and the refusals (bad input, no CSRF token, another organization)."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import markupsafe
import pytest
from fastapi import FastAPI

from tests.conftest import make_settings, new_tenant, running_app
from tests.evals.conftest import judge_overrides, task_from_prompt
from tests.evals.factories import create_traces
from tests.fakes.openai_server import FakeJudgeServer, Reply
from tests.web.conftest import Ui, signed_in

RUN_URL = re.compile(r"^/ui/runs/([0-9a-f-]{36})$")


@pytest.fixture(scope="module")
def judge() -> Iterator[FakeJudgeServer]:
    with FakeJudgeServer() as server:
        server.answers["TaskAnswer"] = task_from_prompt
        yield server


@pytest.fixture(scope="module")
async def judged_app(
    database_url: str, data_dir: Path, judge: FakeJudgeServer
) -> AsyncIterator[FastAPI]:
    settings = make_settings(database_url, data_dir, **judge_overrides(judge))
    async with running_app(settings) as application:
        yield application


@pytest.fixture
async def rui(judged_app: FastAPI, judge: FakeJudgeServer) -> AsyncIterator[Ui]:
    judge.responder = None
    transport = httpx.ASGITransport(app=judged_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sightline.test") as api:
        tenant = await new_tenant(judged_app, api)
        api.headers.update(tenant.headers())
        signed = await signed_in(judged_app, tenant)
        try:
            yield signed
        finally:
            await signed.client.aclose()


async def _wait_done(ui: Ui, run_id: str) -> str:
    """Polls the live fragment as the page does, until it stops asking to be polled."""
    for _ in range(300):
        live = await ui.page(f"/ui/runs/{run_id}/live")
        assert live.status_code == 200
        if "hx-trigger" not in live.text:
            return live.text
        await asyncio.sleep(0.1)
    raise AssertionError("the run did not finish")


def _status(text: str) -> str:
    found = re.search(r"data-run-status>(\w+)<", text)
    assert found
    return found.group(1)


async def _start(ui: Ui, data: dict[str, Any]) -> str:
    answer = await ui.form("/ui/runs", data)
    assert answer.status_code == 303, answer.text
    found = RUN_URL.match(answer.headers["location"])
    assert found
    return found.group(1)


async def test_the_form_lists_metrics_and_estimates_the_cost(rui: Ui) -> None:
    ids = await create_traces(rui.api, 2)
    page = await rui.page("/ui/runs/new", params={"trace_id": ids})
    assert page.status_code == 200
    metrics = (await rui.api.get("/evaluations/trace-metrics")).json()
    for metric in metrics:
        assert f'value="{metric["name"]}"' in page.text
        assert str(markupsafe.escape(metric["description"][:40])) in page.text
    assert "openai/gpt-4o-mini" in page.text  # the default judge model
    assert 'value="task_completion" checked' in page.text
    assert "How it is estimated" in page.text
    cost = re.search(r"<strong>\$([0-9.]+)</strong> for 2 traces × 1 metric:", page.text)
    assert cost and float(cost.group(1)) > 0
    two = await rui.page(
        "/ui/runs/new/estimate",
        params={"trace_id": ids, "metrics": ["task_completion", "confidence"]},
    )
    assert "for 2 traces × 2 metrics:" in two.text
    assert "6 judge calls" in two.text  # 2 traces × (2 task_completion + 1 confidence)
    refused = await rui.page("/ui/runs/new/estimate", params={"trace_id": ids, "metrics": "x"})
    assert "Unknown metrics: x" in refused.text


async def test_evaluate_selected_makes_the_apis_batch_run(rui: Ui) -> None:
    ids = await create_traces(rui.api, 3)
    run_id = await _start(
        rui, {"mode": "ids", "trace_id": ids, "metrics": ["task_completion"], "name": "ui run"}
    )
    run = (await rui.api.get(f"/evaluations/trace-runs/{run_id}")).json()
    assert run["name"] == "ui run" and run["total_targets"] == 3
    assert run["filters"] == {"trace_ids": ids}
    page = await rui.page(f"/ui/runs/{run_id}")
    assert page.status_code == 200
    assert _status(page.text) in {"PENDING", "RUNNING", "COMPLETED"}
    done = await _wait_done(rui, run_id)
    assert _status(done) == "COMPLETED"
    assert done.count("<td>task_completion</td>") == 4  # the summary row and three scores
    assert '<svg class="chart"' in done and "data-evaluated>3</span> of 3 traces" in done
    listed = await rui.page("/ui/runs")
    assert "ui run" in listed.text and "COMPLETED" in listed.text


async def test_evaluate_all_matching_samples_the_filtered_traces(rui: Ui) -> None:
    await create_traces(rui.api, 4, name="wanted")
    await create_traces(rui.api, 2, name="other")
    form = await rui.page("/ui/runs/new", params={"mode": "filter", "name": "wanted"})
    assert "for 4 traces" in form.text and 'name="sampling_rate"' in form.text
    refused = await rui.form(
        "/ui/runs",
        {"mode": "filter", "name": "wanted", "metrics": ["confidence"], "sampling_rate": "2"},
    )
    assert refused.status_code == 422
    assert 'id="sampling_rate-error"' in refused.text
    run_id = await _start(
        rui, {"mode": "filter", "name": "wanted", "metrics": ["confidence"], "sampling_rate": "1"}
    )
    run = (await rui.api.get(f"/evaluations/trace-runs/{run_id}")).json()
    assert run["filters"] == {"name": "wanted"} and run["total_targets"] == 4


async def test_bad_input_is_refused_beside_its_field_and_creates_nothing(rui: Ui) -> None:
    ids = await create_traces(rui.api, 1)
    cases = [
        ({"mode": "ids", "trace_id": ids, "metrics": ["nope"]}, "metrics"),
        ({"mode": "ids", "trace_id": ids}, "metrics"),
        ({"mode": "ids", "trace_id": ["not-a-uuid"], "metrics": ["confidence"]}, "trace_id"),
        ({"mode": "ids", "trace_id": [str(uuid.uuid4())], "metrics": ["confidence"]}, "trace_id"),
        ({"mode": "ids", "trace_id": ids, "metrics": ["confidence"], "name": "n" * 300}, "name"),
    ]
    for data, field in cases:
        answer = await rui.form("/ui/runs", data)
        assert answer.status_code == 422, data
        assert f'id="{field}-error"' in answer.text, (data, answer.text[-800:])
    assert (await rui.api.get("/evaluations/trace-runs")).json()["total"] == 0
    no_token = await rui.client.post(
        "/ui/runs", data={"mode": "ids", "trace_id": ids, "metrics": ["confidence"]}
    )
    assert no_token.status_code == 403
    assert (await rui.api.get("/evaluations/trace-runs")).json()["total"] == 0


async def test_retry_failed_pairs_and_delete(rui: Ui, judge: FakeJudgeServer) -> None:
    ids = await create_traces(rui.api, 2)
    judge.responder = lambda _request: Reply(status=401, body={"error": {"message": "no"}})
    run_id = await _start(rui, {"mode": "ids", "trace_id": ids, "metrics": ["confidence"]})
    done = await _wait_done(rui, run_id)
    judge.responder = None
    assert _status(done) == "FAILED"
    assert "Retry failed pairs (2)" in done
    retried = await rui.form(f"/ui/runs/{run_id}/retry")
    assert retried.status_code == 303
    found = RUN_URL.match(retried.headers["location"])
    assert found and found.group(1) != run_id
    again = await _wait_done(rui, found.group(1))
    assert _status(again) == "COMPLETED"
    assert again.count("status-SUCCESS") == 2
    nothing = await rui.form(f"/ui/runs/{found.group(1)}/retry")
    assert nothing.status_code == 422 and "No failed scores to retry" in nothing.text
    unconfirmed = await rui.form(f"/ui/runs/{run_id}/delete")
    assert unconfirmed.status_code == 422
    assert (await rui.page(f"/ui/runs/{run_id}")).status_code == 200
    deleted = await rui.form(f"/ui/runs/{run_id}/delete", {"confirm": "yes"})
    assert deleted.status_code == 303
    assert (await rui.page(f"/ui/runs/{run_id}")).status_code == 404


async def test_another_organizations_run_is_a_404(rui: Ui, judged_app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=judged_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sightline.test") as api:
        other = await new_tenant(judged_app, api)
        api.headers.update(other.headers())
        ids = await create_traces(api, 1)
        created = await api.post(
            "/evaluations/trace-runs/batch", json={"trace_ids": ids, "metrics": ["confidence"]}
        )
        run_id = created.json()["id"]
    for path in (f"/ui/runs/{run_id}", f"/ui/runs/{run_id}/live"):
        assert (await rui.page(path)).status_code == 404
    assert (await rui.form(f"/ui/runs/{run_id}/retry")).status_code == 404
    assert (await rui.form(f"/ui/runs/{run_id}/delete", {"confirm": "yes"})).status_code == 404
    page = await rui.page("/ui/runs/new", params={"trace_id": ids})
    assert "for 0 traces" in page.text
    refused = await rui.form(
        "/ui/runs", {"mode": "ids", "trace_id": ids, "metrics": ["confidence"]}
    )
    assert refused.status_code == 422 and "Traces not found in this project" in refused.text


async def test_the_form_offers_the_projects_own_metrics(rui: Ui) -> None:
    ids = await create_traces(rui.api, 2)
    check = {"name": "looked_up", "kind": "tool_called", "description": "looked the order up",
             "config": {"tool": "lookup_order", "called": True}}  # fmt: skip
    assert (await rui.api.post("/evaluations/metrics", json=check)).status_code == 201
    page = await rui.page("/ui/runs/new", params={"trace_id": ids})
    assert 'value="looked_up"' in page.text and "looked the order up" in page.text
    run_id = await _start(rui, {"mode": "ids", "trace_id": ids, "metrics": ["looked_up"]})
    run = (await rui.api.get(f"/evaluations/trace-runs/{run_id}")).json()
    assert run["metric_names"] == ["looked_up"]

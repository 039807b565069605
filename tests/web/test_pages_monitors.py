"""The Monitors pages over HTTP (issue 13, page 5): list, create and edit with the API's
messages beside their fields, the cadence preview, pause / resume / trigger now / delete,
recent runs; CSRF refusal and other organizations' monitors as 404 pages."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import httpx
from fastapi import FastAPI

from tests.conftest import new_tenant
from tests.evals.conftest import eval_app, judge  # noqa: F401
from tests.evals.factories import create_traces, wait_for_run
from tests.web.conftest import Ui, signed_in

MONITORS = "/evaluations/monitors"


def form(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": "nightly quality",
        "target_type": "TRACE",
        "metrics": ["confidence"],
        "cadence_kind": "daily",
        "cron": "",
        "sampling_rate": "1",
        "model": "",
        "only_if_changed": "true",
        "only_unscored": "true",
        "max_cost_usd": "",
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}  # None: an unchecked box


def error_beside(html: str, field: str) -> str:
    found = re.search(
        rf'<p class="error" id="{re.escape(field)}-error" role="alert">([^<]*)</p>', html
    )
    assert found, f"no error beside {field}"
    return found.group(1)


def monitor_id(response: httpx.Response) -> str:
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    found = re.fullmatch(r"/ui/monitors/([0-9a-f-]{36})", location)
    assert found, location
    return found.group(1)


async def test_empty_list_teaches_and_form_renders(jui: Ui) -> None:
    page = await jui.page("/ui/monitors")
    assert page.status_code == 200
    assert "No monitors in proj-main yet" in page.text
    assert "Create the first monitor" in page.text
    new = await jui.page("/ui/monitors/new")
    assert new.status_code == 200
    for metric in ("confidence", "task_completion", "agent_reliability"):
        assert f'value="{metric}"' in new.text
    assert 'for="m-name"' in new.text and 'for="m-cadence-kind"' in new.text
    assert "openai/gpt-4o-mini" in new.text  # the default judge, shown
    assert len(re.findall(r'<li class="mono">', new.text)) == 3  # the daily preview


async def test_cadence_preview(jui: Ui) -> None:
    daily = await jui.page("/ui/monitors/cadence-preview", params={"cadence_kind": "daily"})
    times = re.findall(r'<li class="mono">([^<]+)</li>', daily.text)
    assert len(times) == 3
    parsed = [datetime.strptime(t, "%Y-%m-%d %H:%M:%S UTC") for t in times]
    assert (parsed[1] - parsed[0]).days == 1 and (parsed[2] - parsed[1]).days == 1
    cron = await jui.page(
        "/ui/monitors/cadence-preview", params={"cadence_kind": "cron", "cron": "30 9 * * 1"}
    )
    weekly = re.findall(r'<li class="mono">([^<]+)</li>', cron.text)
    assert len(weekly) == 3 and all(t.endswith("09:30:00 UTC") for t in weekly)
    bad = await jui.page(
        "/ui/monitors/cadence-preview", params={"cadence_kind": "cron", "cron": "99 * * * *"}
    )
    assert "Invalid cron expression: &#39;99 * * * *&#39;" in bad.text


async def test_create_refused_with_messages_beside_fields(jui: Ui) -> None:
    answer = await jui.form(
        "/ui/monitors",
        form(
            name="",
            cadence_kind="cron",
            cron="99 * * * *",
            sampling_rate="0",
            trace_date_to="next tuesday",
            model="no-provider-model",
        ),
    )
    assert answer.status_code == 422
    html = answer.text
    assert error_beside(html, "name").startswith("Value should have at least 1 item")
    assert error_beside(html, "cadence") == "Invalid cron expression: &#39;99 * * * *&#39;"
    assert error_beside(html, "sampling_rate") == "Input should be greater than 0"
    assert error_beside(html, "trace_date_to").startswith("Invalid filters: date_to: ")
    assert error_beside(html, "model")
    assert 'value="next tuesday"' in html  # what was typed is kept
    no_metrics = await jui.form("/ui/monitors", form(metrics=[]))
    assert no_metrics.status_code == 422
    assert error_beside(no_metrics.text, "metrics").startswith("List should have at least 1")
    wrong_kind = await jui.form("/ui/monitors", form(target_type="SESSION"))
    assert error_beside(wrong_kind.text, "metrics").startswith(
        "Unknown session metrics: confidence"
    )
    assert (await jui.api.get(MONITORS)).json()["total"] == 0


async def test_create_edit_pause_resume_trigger_delete(jui: Ui) -> None:
    await create_traces(jui.api, 2, tags=["prod"])
    created = await jui.form(
        "/ui/monitors",
        form(metrics=["confidence", "task_completion"], trace_tags="prod, beta",
             trace_status="COMPLETED", trace_date_from="2026-01-01T00:00", sampling_rate="0.5",
             max_cost_usd="2.5", only_if_changed=None),
    )  # fmt: skip
    mid = monitor_id(created)
    stored = (await jui.api.get(f"{MONITORS}/{mid}")).json()
    assert stored["metric_names"] == ["confidence", "task_completion"]
    assert stored["filters"] == {
        "tags": ["prod", "beta"], "status": "COMPLETED", "date_from": "2026-01-01T00:00:00+00:00"
    }  # fmt: skip
    assert stored["sampling_rate"] == 0.5 and stored["max_cost_usd"] == 2.5
    assert stored["only_if_changed"] is False and stored["only_unscored"] is True
    assert stored["cadence"] == "daily" and stored["status"] == "ACTIVE"

    detail = await jui.page(f"/ui/monitors/{mid}")
    assert detail.status_code == 200
    assert 'id="monitor-status">ACTIVE<' in detail.text
    assert "No run yet" in detail.text
    listed = await jui.page("/ui/monitors")
    assert "nightly quality" in listed.text and f"/ui/monitors/{mid}" in listed.text

    edit = await jui.page(f"/ui/monitors/{mid}/edit")
    assert edit.status_code == 200
    assert 'value="prod,beta"' in edit.text and 'value="2026-01-01T00:00:00"' in edit.text
    saved = await jui.form(
        f"/ui/monitors/{mid}",
        form(name="weekday mornings", cadence_kind="cron", cron="0 9 * * 1-5",
             trace_tags="prod", sampling_rate="1"),
    )  # fmt: skip
    assert saved.status_code == 303 and saved.headers["location"].endswith("?notice=saved")
    stored = (await jui.api.get(f"{MONITORS}/{mid}")).json()
    assert stored["name"] == "weekday mornings" and stored["cadence"] == "cron:0 9 * * 1-5"
    assert stored["filters"] == {"tags": ["prod"]} and stored["metric_names"] == ["confidence"]
    assert stored["max_cost_usd"] is None and stored["only_if_changed"] is True
    refused = await jui.form(f"/ui/monitors/{mid}", form(cadence_kind="cron", cron="nope"))
    assert refused.status_code == 422 and error_beside(refused.text, "cadence")

    paused = await jui.form(f"/ui/monitors/{mid}/pause")
    assert paused.status_code == 303
    page = await jui.page(paused.headers["location"])
    assert 'id="monitor-status">PAUSED<' in page.text and "Paused: it will not run" in page.text
    assert (await jui.api.get(f"{MONITORS}/{mid}")).json()["next_run_at"] is None
    while_paused = await jui.form(f"/ui/monitors/{mid}/trigger")
    assert while_paused.status_code == 409
    assert "is paused; resume it before triggering a run." in while_paused.text
    assert (await jui.api.get(f"{MONITORS}/{mid}/runs")).json()["total"] == 0

    resumed = await jui.form(f"/ui/monitors/{mid}/resume")
    assert resumed.status_code == 303
    assert (await jui.api.get(f"{MONITORS}/{mid}")).json()["status"] == "ACTIVE"
    triggered = await jui.form(f"/ui/monitors/{mid}/trigger")
    assert triggered.status_code == 303 and triggered.headers["location"].endswith("triggered")
    runs = (await jui.api.get(f"{MONITORS}/{mid}/runs")).json()["items"]
    assert len(runs) == 1
    run = await wait_for_run(jui.api, runs[0]["id"])
    assert run["status"] == "COMPLETED" and run["total_targets"] == 2
    page = await jui.page(triggered.headers["location"])
    assert f'href="/ui/runs/{run["id"]}"' in page.text and "[Monitor] weekday mornings" in page.text

    deleted = await jui.form(f"/ui/monitors/{mid}/delete")
    assert deleted.status_code == 303 and deleted.headers["location"] == "/ui/monitors"
    assert (await jui.api.get(f"{MONITORS}/{mid}")).status_code == 404
    assert (await jui.page(f"/ui/monitors/{mid}")).status_code == 404


async def test_trigger_with_nothing_to_evaluate_shows_the_reason(jui: Ui) -> None:
    mid = monitor_id(await jui.form("/ui/monitors", form(trace_tags="nothing-has-this")))
    answer = await jui.form(f"/ui/monitors/{mid}/trigger")
    assert answer.status_code == 422
    assert "No traces match the monitor&#39;s filters." in answer.text


async def test_csrf_and_other_organizations(jui: Ui, eval_app: FastAPI) -> None:  # noqa: F811
    mid = monitor_id(await jui.form("/ui/monitors", form()))
    for path in (f"/ui/monitors/{mid}/pause", f"/ui/monitors/{mid}/delete", "/ui/monitors"):
        refused = await jui.client.post(path, data=form())
        assert refused.status_code == 403, path
        assert "did not come from this dashboard" in refused.text
    assert (await jui.api.get(f"{MONITORS}/{mid}")).json()["status"] == "ACTIVE"
    assert (await jui.api.get(MONITORS)).json()["total"] == 1

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=eval_app), base_url="http://sightline.test"
    ) as api:
        other = await signed_in(eval_app, await new_tenant(eval_app, api))
        try:
            for path in (f"/ui/monitors/{mid}", f"/ui/monitors/{mid}/edit"):
                page = await other.page(path)
                assert page.status_code == 404 and "Not found" in page.text
            for action in ("pause", "resume", "trigger", "delete"):
                answer = await other.form(f"/ui/monitors/{mid}/{action}")
                assert answer.status_code == 404, action
            assert (await other.form(f"/ui/monitors/{mid}", form())).status_code == 404
            assert "nightly quality" not in (await other.page("/ui/monitors")).text
        finally:
            await other.client.aclose()
    assert (await jui.api.get(f"{MONITORS}/{mid}")).json()["status"] == "ACTIVE"


async def test_session_monitor_filters(jui: Ui) -> None:
    refused = await jui.form(
        "/ui/monitors",
        form(target_type="SESSION", metrics=["agent_reliability"], session_min_trace_count="0"),
    )
    assert refused.status_code == 422
    assert error_beside(refused.text, "session_min_trace_count").startswith(
        "Invalid filters: min_trace_count: "
    )
    mid = monitor_id(
        await jui.form(
            "/ui/monitors",
            form(
                target_type="SESSION",
                metrics=["agent_reliability", "agent_consistency"],
                session_has_error="true",
                session_min_trace_count="2",
                session_user_id="user-7",
                trace_name="ignored: a trace filter",
            ),
        )  # fmt: skip
    )
    stored = (await jui.api.get(f"{MONITORS}/{mid}")).json()
    assert stored["target_type"] == "SESSION"
    assert stored["metric_names"] == ["agent_reliability", "agent_consistency"]
    assert stored["filters"] == {"has_error": True, "min_trace_count": 2, "user_id": "user-7"}
    edit = await jui.page(f"/ui/monitors/{mid}/edit")
    assert "a monitor's target type cannot change" in edit.text
    assert 'value="true" selected' in edit.text and 'value="2"' in edit.text
    assert 'name="trace_name"' not in edit.text
    saved = await jui.form(
        f"/ui/monitors/{mid}",
        form(target_type="TRACE", metrics=["agent_reliability"], session_has_error="false"),
    )
    assert saved.status_code == 303
    stored = (await jui.api.get(f"{MONITORS}/{mid}")).json()
    assert stored["target_type"] == "SESSION" and stored["filters"] == {"has_error": False}


async def test_the_form_offers_the_projects_own_metrics(jui: Ui) -> None:
    """A custom check is offered for traces and sessions; a judge rubric for traces only
    (a session run judges no single trace)."""
    never = {"field": "output", "pattern": "(?i)sorry", "must_match": False}
    check = {"name": "no_apology", "kind": "regex", "description": "never apologises",
             "config": never}  # fmt: skip
    rubric = {"name": "polite", "kind": "llm_judge", "description": "is polite",
              "config": {"criteria": "The agent is polite.", "score_type": "BOOLEAN",
                         "sees": "input_output"}}  # fmt: skip
    for body in (check, rubric):
        assert (await jui.api.post("/evaluations/metrics", json=body)).status_code == 201
    new = (await jui.page("/ui/monitors/new")).text
    trace, session = new.split('data-group="SESSION"', 1)
    assert 'value="no_apology"' in trace and 'value="polite"' in trace
    assert 'value="no_apology"' in session and 'value="polite"' not in session
    created = await jui.form("/ui/monitors", form(metrics=["no_apology", "polite"]))
    assert created.status_code == 303, created.text
    monitors = (await jui.api.get("/evaluations/monitors")).json()
    assert [m["metric_names"] for m in monitors["items"]] == [["no_apology", "polite"]]

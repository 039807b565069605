"""Monitor endpoints (API.md §3.10) over HTTP."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx

from sightline.db.types import utcnow
from tests.conftest import Tenant
from tests.evals.factories import create_traces, wait_for_run
from tests.evals.sessions.helpers import post_session

BASE = "/evaluations/monitors"


def monitor_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "nightly quality",
        "target_type": "TRACE",
        "metrics": ["confidence"],
        "cadence": "daily",
    }
    body.update(overrides)
    return body


async def create(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    response = await client.post(BASE, json=monitor_body(**overrides))
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_create_and_read(et: Tenant, eval_client: httpx.AsyncClient) -> None:
    before = utcnow()
    monitor = await create(
        eval_client,
        metrics=["confidence", "coherence", "confidence"],
        filters={"tags": ["prod"], "date_from": "2026-01-01", "status": "COMPLETED"},
        cadence="  cron: 0 9 * * * ",
        sampling_rate=0.5,
        max_cost_usd=2.5,
    )
    assert monitor["status"] == "ACTIVE" and monitor["target_type"] == "TRACE"
    assert monitor["metric_names"] == ["confidence", "coherence"]
    assert monitor["cadence"] == "cron:0 9 * * *"
    assert monitor["filters"] == {
        "tags": ["prod"], "date_from": "2026-01-01T00:00:00+00:00", "status": "COMPLETED"
    }  # fmt: skip
    assert monitor["only_if_changed"] is True and monitor["only_unscored"] is True
    assert monitor["model"] is None and monitor["max_cost_usd"] == 2.5
    assert monitor["last_run_at"] is None and monitor["last_skip_reason"] is None
    next_run = datetime.fromisoformat(monitor["next_run_at"])
    assert (next_run.hour, next_run.minute) == (9, 0)
    assert before < next_run <= before + timedelta(days=1)

    daily = await create(eval_client, name="daily")
    assert datetime.fromisoformat(daily["next_run_at"]) - datetime.fromisoformat(
        daily["created_at"]
    ) == timedelta(days=1)

    got = await eval_client.get(f"{BASE}/{monitor['id']}")
    assert got.status_code == 200 and got.json() == monitor
    page = (await eval_client.get(BASE, params={"limit": 1})).json()
    assert page["total"] == 2 and [m["id"] for m in page["items"]] == [daily["id"]]
    assert (await eval_client.get(BASE, params={"status": "PAUSED"})).json()["total"] == 0
    assert (await eval_client.get(BASE, params={"status": "NOPE"})).status_code == 422
    elsewhere = await eval_client.get(f"{BASE}/{monitor['id']}", headers=et.headers("proj-2"))
    assert elsewhere.status_code == 404
    assert elsewhere.json()["detail"] == f"Eval monitor {monitor['id']} not found."


async def test_create_validation(et: Tenant, eval_client: httpx.AsyncClient) -> None:
    domain_errors: list[tuple[dict[str, Any], str]] = [
        ({"target_type": "trace"}, "target_type must be 'TRACE' or 'SESSION'."),
        ({"signal_weights": {"confidence": 1}},
         "signal_weights is only valid for SESSION monitors."),
        ({"metrics": ["confidence", "bogus"]}, "Unknown metrics: bogus"),
        ({"metrics": ["loop_detection"]}, "Unknown metrics: loop_detection"),
        ({"target_type": "SESSION", "metrics": ["confidence"]},
         "Unknown session metrics: confidence"),
        ({"cadence": "hourly"}, "Invalid cadence 'hourly'. Must be one of "
                                "['daily', 'every_6h', 'weekly'] or 'cron:<expression>'."),
        ({"cadence": "cron:"}, "Cron expression must not be empty after 'cron:' prefix."),
        ({"cadence": "cron:99 * * * *"}, "Invalid cron expression: '99 * * * *'"),
        ({"filters": {"trace_ids": ["x"]}},
         "Invalid filters: trace_ids: Extra inputs are not permitted"),
        ({"filters": {"status": "FOO"}}, "Invalid filters: status: "),
        ({"filters": {"date_to": "next tuesday"}}, "Invalid filters: date_to: "),
        ({"target_type": "SESSION", "metrics": ["agent_reliability"],
          "filters": {"min_trace_count": 0}}, "Invalid filters: min_trace_count: "),
        ({"target_type": "SESSION", "metrics": ["agent_reliability"],
          "filters": {"signal_weights": {"confidence": -2}}}, "Invalid filters: signal_weights"),
    ]  # fmt: skip
    for overrides, detail in domain_errors:
        response = await eval_client.post(BASE, json=monitor_body(**overrides))
        assert response.status_code == 422, (overrides, response.text)
        assert response.json()["detail"].startswith(detail), response.text
    schema_errors: list[tuple[dict[str, Any], str]] = [
        ({"metrics": []}, "metrics"),
        ({"name": "x" * 256}, "name"),
        ({"cadence": "cron:" + "1," * 60 + "2 * * * *"}, "cadence"),
        ({"sampling_rate": 0}, "sampling_rate"),
        ({"max_cost_usd": -1}, "max_cost_usd"),
        ({"target_type": "SESSION", "metrics": ["agent_reliability"],
          "signal_weights": {"confidence": -1}}, "signal_weights -> confidence"),
    ]  # fmt: skip
    for overrides, field in schema_errors:
        response = await eval_client.post(BASE, json=monitor_body(**overrides))
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == field
    assert (await eval_client.get(BASE)).json()["total"] == 0


async def test_patch_semantics(et: Tenant, eval_client: httpx.AsyncClient) -> None:
    monitor = await create(
        eval_client, target_type="SESSION", metrics=["agent_reliability"],
        filters={"user_id": "u1"}, signal_weights={"confidence": 0.5}, sampling_rate=0.3,
        model="gpt-4o-mini", only_unscored=False, max_cost_usd=1.0,
    )  # fmt: skip
    url = f"{BASE}/{monitor['id']}"
    assert monitor["filters"] == {"user_id": "u1", "signal_weights": {"confidence": 0.5}}

    async def patch(body: dict[str, Any], status: int = 200) -> dict[str, Any]:
        response = await eval_client.patch(url, json=body)
        assert response.status_code == status, response.text
        return dict(response.json())

    # nulls reset fields that have a default ...
    reset = await patch({"sampling_rate": None, "model": None, "only_unscored": None,
                         "only_if_changed": None, "max_cost_usd": None})  # fmt: skip
    assert reset["sampling_rate"] == 1.0 and reset["model"] is None
    assert reset["only_unscored"] is True and reset["max_cost_usd"] is None
    # ... and are a 422 for the ones that have none
    for field in ("name", "metrics", "cadence", "target_type"):
        detail = (await patch({field: None}, 422))["detail"]
        assert detail == f"{field} cannot be null."
    assert (await patch({"metrics": []}, 422))["errors"][0]["field"] == "metrics"
    assert (await patch({"target_type": "TRACE"}, 422))[
        "detail"
    ] == "target_type cannot be changed."
    assert (await patch({"metrics": ["confidence"]}, 422))["detail"].startswith(
        "Unknown session metrics"
    )
    assert (await patch({"filters": {"status": "ERROR"}}, 422))["detail"].startswith(
        "Invalid filters: status"
    )
    # filters: new filters keep the weights; null resets filters to {}
    kept = await patch({"filters": {"has_error": True}})
    assert kept["filters"] == {"has_error": True, "signal_weights": {"confidence": 0.5}}
    cleared = await patch({"filters": None})
    assert cleared["filters"] == {"signal_weights": {"confidence": 0.5}}
    # a GET response sent back as it is works (weights inside filters)
    echoed = await patch({"filters": {"min_trace_count": 2, "signal_weights": {"coherence": 2}}})
    assert echoed["filters"] == {"min_trace_count": 2, "signal_weights": {"coherence": 2.0}}
    merged = await patch({"signal_weights": {"loop_detection": 0.1}})
    assert merged["filters"] == {"min_trace_count": 2, "signal_weights": {"loop_detection": 0.1}}
    removed = await patch({"signal_weights": None})
    assert removed["filters"] == {"min_trace_count": 2}

    renamed = await patch({"name": "renamed", "cadence": "weekly"})
    assert renamed["name"] == "renamed" and renamed["cadence"] == "weekly"
    assert datetime.fromisoformat(renamed["next_run_at"]) - utcnow() > timedelta(days=6, hours=23)
    assert renamed["updated_at"] > monitor["updated_at"]
    assert (await eval_client.patch(f"{BASE}/00000000-0000-0000-0000-000000000000",
                                    json={"name": "x"})).status_code == 404  # fmt: skip


async def test_pause_resume_and_trigger(et: Tenant, eval_client: httpx.AsyncClient) -> None:
    trace_ids = await create_traces(eval_client, 2)
    monitor = await create(eval_client, cadence="every_6h", max_cost_usd=0.5)
    url = f"{BASE}/{monitor['id']}"

    paused = (await eval_client.post(f"{url}/pause")).json()
    assert paused["status"] == "PAUSED" and paused["next_run_at"] is None
    assert (await eval_client.post(f"{url}/pause")).json() == paused  # idempotent
    refused = await eval_client.post(f"{url}/trigger")
    assert refused.status_code == 409
    assert refused.json()["detail"] == (
        f"Eval monitor {monitor['id']} is paused; resume it before triggering a run."
    )
    resumed = (await eval_client.post(f"{url}/resume")).json()
    assert resumed["status"] == "ACTIVE" and resumed["next_run_at"] is not None
    assert (await eval_client.post(f"{url}/resume")).json() == resumed

    response = await eval_client.post(f"{url}/trigger")
    assert response.status_code == 202, response.text
    run = response.json()
    assert run["monitor_id"] == monitor["id"] and run["name"] == "[Monitor] nightly quality"
    assert run["target_type"] == "TRACE" and run["total_targets"] == 2
    assert run["status"] == "PENDING" and run["filters"] == {}
    assert run["max_cost_usd"] == 0.5  # the monitor's cap applies to every run it starts
    done = await wait_for_run(eval_client, run["id"])
    assert done["status"] == "COMPLETED" and done["failed_count"] == 0

    after = (await eval_client.get(url)).json()
    assert after["last_run_id"] == run["id"] and after["last_run_at"] is not None
    assert after["next_run_at"] == resumed["next_run_at"]  # a manual run leaves the schedule
    runs = (await eval_client.get(f"{url}/runs")).json()
    assert runs["total"] == 1 and runs["items"][0]["id"] == run["id"]

    # every matching trace is scored now: only_unscored leaves nothing to pay for
    again = await eval_client.post(f"{url}/trigger")
    assert again.status_code == 422
    assert again.json()["detail"] == (
        "Every matching trace already has a successful score for confidence from "
        "openai/gpt-4o-mini."
    )
    assert len(trace_ids) == 2


async def test_trigger_with_no_targets_and_delete(
    et: Tenant, eval_client: httpx.AsyncClient
) -> None:
    empty = await create(eval_client, filters={"name": "nothing-like-this"})
    response = await eval_client.post(f"{BASE}/{empty['id']}/trigger")
    assert response.status_code == 422
    assert response.json()["detail"] == "No traces match the monitor's filters."

    sid, _ = await post_session(eval_client, 1)
    sessions = await create(eval_client, target_type="SESSION", metrics=["agent_reliability"])
    run = (await eval_client.post(f"{BASE}/{sessions['id']}/trigger")).json()
    assert run["target_type"] == "SESSION" and run["total_targets"] == 1
    await wait_for_run(eval_client, run["id"], kind="session")

    assert (await eval_client.delete(f"{BASE}/{sessions['id']}")).status_code == 204
    assert (await eval_client.get(f"{BASE}/{sessions['id']}")).status_code == 404
    assert (await eval_client.get(f"{BASE}/{sessions['id']}/runs")).status_code == 404
    assert (await eval_client.delete(f"{BASE}/{sessions['id']}")).status_code == 404
    kept = (await eval_client.get(f"/evaluations/session-runs/{run['id']}")).json()
    assert kept["monitor_id"] is None
    assert (await eval_client.get(f"/evaluations/session-scores/{sid}")).json()[0]["value"]

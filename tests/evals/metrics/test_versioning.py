"""Versions in use: each score records the version it was computed with, a run keeps the
version it was created with, and an ``only_unscored`` monitor scores an edited metric's
traces again while the old scores keep their version."""

from __future__ import annotations

import httpx

from tests.conftest import Tenant
from tests.evals.factories import wait_for_run
from tests.evals.metrics.helpers import METRICS, define, post_trace, say

MONITORS = "/evaluations/monitors"


async def _trigger(client: httpx.AsyncClient, monitor_id: str) -> httpx.Response:
    return await client.post(f"{MONITORS}/{monitor_id}/trigger")


async def _scores(client: httpx.AsyncClient, name: str) -> list[dict[str, object]]:
    page = await client.get("/evaluations/trace-scores", params={"name": name, "limit": 200})
    assert page.status_code == 200, page.text
    return list(page.json()["items"])


async def test_only_unscored_monitor_rescores_after_a_new_version(
    et: Tenant, eval_client: httpx.AsyncClient
) -> None:
    await define(eval_client, "no_apology", "regex", {"pattern": "(?i)sorry", "must_match": False})
    polite = await post_trace(eval_client, output=say("It ships today."))
    sorry = await post_trace(eval_client, output=say("Sorry, it is late. I apologise."))
    body = {"name": "checks", "target_type": "TRACE", "metrics": ["no_apology"],
            "cadence": "daily", "only_unscored": True}  # fmt: skip
    created = await eval_client.post(MONITORS, json=body)
    assert created.status_code == 201, created.text
    monitor = created.json()

    first = await _trigger(eval_client, monitor["id"])
    assert first.status_code == 202, first.text
    assert (await wait_for_run(eval_client, first.json()["id"]))["evaluated_count"] == 2
    skipped = await _trigger(eval_client, monitor["id"])
    assert skipped.status_code == 422
    assert skipped.json()["detail"].startswith("Every matching trace already has a successful")

    edited = await eval_client.patch(
        f"{METRICS}/no_apology", json={"config": {"pattern": "(?i)apolog", "must_match": False}}
    )
    assert edited.json()["version"] == 2
    second = await _trigger(eval_client, monitor["id"])
    assert second.status_code == 202, second.text
    run = await wait_for_run(eval_client, second.json()["id"])
    assert run["evaluated_count"] == 2 and run["total_targets"] == 2
    assert (await _trigger(eval_client, monitor["id"])).status_code == 422  # v2 scored now

    scores = await _scores(eval_client, "no_apology")
    by_version = {
        (s["trace_id"], s["metadata"]["metric_version"]): s["value"]  # type: ignore[index]
        for s in scores
    }
    assert by_version == {
        (polite, 1): "true", (sorry, 1): "false",  # "Sorry" matched v1's pattern
        (polite, 2): "true", (sorry, 2): "false",  # "apologise" matches v2's
    }  # fmt: skip


async def test_a_run_keeps_the_version_it_was_created_with(
    et: Tenant, eval_client: httpx.AsyncClient
) -> None:
    await define(eval_client, "mentions_order", "contains", {"phrases": ["order"]})
    trace = await post_trace(eval_client, output=say("Your order ships."))
    response = await eval_client.post(
        "/evaluations/trace-runs/batch", json={"trace_ids": [trace], "metrics": ["mentions_order"]}
    )
    assert response.status_code == 202
    # Edited and then deleted before the run is looked at: it still scores with version 1.
    await eval_client.patch(f"{METRICS}/mentions_order", json={"config": {"phrases": ["zzz"]}})
    await eval_client.delete(f"{METRICS}/mentions_order")
    run = await wait_for_run(eval_client, response.json()["id"])
    assert run["status"] == "COMPLETED"
    [score] = (await eval_client.get(f"/evaluations/trace-runs/{run['id']}/scores")).json()
    assert score["value"] == "true" and score["metadata"]["metric_version"] == 1


async def test_a_monitor_whose_metric_was_deleted_is_skipped(
    et: Tenant, eval_client: httpx.AsyncClient
) -> None:
    await define(eval_client, "mentions_order", "contains", {"phrases": ["order"]})
    await post_trace(eval_client)
    body = {"name": "m", "target_type": "TRACE", "metrics": ["mentions_order"], "cadence": "daily"}
    monitor = (await eval_client.post(MONITORS, json=body)).json()
    await eval_client.delete(f"{METRICS}/mentions_order")
    response = await _trigger(eval_client, monitor["id"])
    assert response.status_code == 422
    assert response.json()["detail"] == (
        "The monitor's metrics mentions_order no longer exist in the project."
    )

"""Score analytics (API.md §3.6): an exact 1.0 belongs in the top bucket (§6 item 21)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from tests.conftest import Tenant
from tests.evals.factories import create_traces

BASE = "/evaluations/analytics/trace-scores"


async def _seed(client: httpx.AsyncClient) -> None:
    [trace_id] = await create_traces(client, 1)
    for value in ("0.0", "0.3", "0.5", "1.0", "1"):
        body = {"trace_id": trace_id, "name": "helpfulness", "value": value}
        assert (await client.post("/evaluations/trace-scores", json=body)).status_code == 201
    flag = {"trace_id": trace_id, "name": "helpfulness", "value": "true", "data_type": "BOOLEAN"}
    assert (await client.post("/evaluations/trace-scores", json=flag)).status_code == 201
    other = {"trace_id": trace_id, "name": "tone", "value": "0.25"}
    assert (await client.post("/evaluations/trace-scores", json=other)).status_code == 201


async def test_summary(et: Tenant, eval_client: httpx.AsyncClient) -> None:
    await _seed(eval_client)
    rows = {r["metric_name"]: r for r in (await eval_client.get(f"{BASE}/summary")).json()}
    helpfulness = rows["helpfulness"]
    assert helpfulness["avg_score"] == 0.56
    assert helpfulness["min_score"] == 0.0 and helpfulness["max_score"] == 1.0
    assert helpfulness["median_score"] == 0.5
    assert helpfulness["success_count"] == 6  # the BOOLEAN score counts, not in the stats
    assert helpfulness["failed_count"] == 0
    assert helpfulness["latest_score_at"].endswith("+00:00")
    assert rows["tone"]["median_score"] == 0.25
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert (await eval_client.get(f"{BASE}/summary", params={"date_from": future})).json() == []


async def test_trend(et: Tenant, eval_client: httpx.AsyncClient) -> None:
    await _seed(eval_client)
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    day = (await eval_client.get(f"{BASE}/trend", params={"metric_name": "helpfulness"})).json()
    assert day == [
        {"bucket": today.isoformat(), "metric_name": "helpfulness", "avg_score": 0.56, "count": 5}
    ]
    week = await eval_client.get(
        f"{BASE}/trend", params={"metric_name": "helpfulness", "granularity": "week"}
    )
    monday = today - timedelta(days=today.weekday())
    assert [p["bucket"] for p in week.json()] == [monday.isoformat()]
    hour = await eval_client.get(
        f"{BASE}/trend", params={"metric_name": "tone", "granularity": "hour"}
    )
    [point] = hour.json()
    assert point["bucket"].endswith(":00:00+00:00") and point["count"] == 1
    assert (await eval_client.get(f"{BASE}/trend")).status_code == 422
    bad = await eval_client.get(f"{BASE}/trend", params={"metric_name": "x", "granularity": "year"})
    assert bad.status_code == 422


async def test_distribution_puts_one_in_the_top_bucket(
    et: Tenant, eval_client: httpx.AsyncClient
) -> None:
    await _seed(eval_client)
    response = await eval_client.get(f"{BASE}/distribution", params={"metric_name": "helpfulness"})
    assert response.json() == [
        {"bucket": 1, "bucket_min": 0.0, "bucket_max": 0.1, "count": 1},
        {"bucket": 4, "bucket_min": 0.3, "bucket_max": 0.4, "count": 1},
        {"bucket": 6, "bucket_min": 0.5, "bucket_max": 0.6, "count": 1},
        {"bucket": 10, "bucket_min": 0.9, "bucket_max": 1.0, "count": 2},
    ]
    two = await eval_client.get(
        f"{BASE}/distribution", params={"metric_name": "helpfulness", "buckets": 2}
    )
    assert [(b["bucket"], b["count"]) for b in two.json()] == [(1, 2), (2, 3)]
    for buckets in (0, 101):
        refused = await eval_client.get(
            f"{BASE}/distribution", params={"metric_name": "helpfulness", "buckets": buckets}
        )
        assert refused.status_code == 422

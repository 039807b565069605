"""Session scores and their analytics (API.md §3.8–§3.9). Score rows are written straight
into the database (as a finished run would) so the numbers are exact."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from sightline.db.models import Project, SessionScore
from sightline.db.session import transaction
from tests.conftest import Tenant

DAY = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)  # a Monday


async def project_id(app: FastAPI, client: httpx.AsyncClient, tenant: Tenant) -> uuid.UUID:
    await client.get("/evaluations/session-runs")  # creates the project on first use
    async with transaction(app.state.session_factory) as session:
        from sqlalchemy import select

        found = await session.scalar(
            select(Project.id).where(
                Project.org_id == tenant.org_id, Project.name == tenant.project
            )
        )
    assert found is not None
    return found


async def add_scores(app: FastAPI, project: uuid.UUID, rows: list[dict[str, Any]]) -> list[str]:
    ids = []
    async with transaction(app.state.session_factory) as session:
        for row in rows:
            values = {
                "id": uuid.uuid4(), "project_id": project, "source": "AUTOMATED",
                "data_type": "NUMERIC", "status": "SUCCESS", "metadata_": {},
                "model": "openai/gpt-4o-mini", "updated_at": row.get("created_at", DAY), **row,
            }  # fmt: skip
            score = SessionScore(**values)
            session.add(score)
            ids.append(str(score.id))
    return ids


def at(hours: float) -> datetime:
    return DAY + timedelta(hours=hours)


async def test_list_per_session_and_delete(
    et: Tenant, eval_app: FastAPI, eval_client: httpx.AsyncClient
) -> None:
    project = await project_id(eval_app, eval_client, et)
    ids = await add_scores(eval_app, project, [
        {"session_id": "a", "name": "agent_reliability", "value": "0.5", "created_at": at(0)},
        {"session_id": "a", "name": "agent_consistency", "value": "0.7", "created_at": at(1)},
        {"session_id": "b", "name": "agent_reliability", "value": None, "status": "FAILED",
         "created_at": at(2)},
    ])  # fmt: skip
    page = (await eval_client.get("/evaluations/session-scores", params={"limit": 2})).json()
    assert page["total"] == 3 and page["limit"] == 2
    assert [s["id"] for s in page["items"]] == [ids[2], ids[1]]  # newest first
    filtered = await eval_client.get(
        "/evaluations/session-scores",
        params={"name": "agent_reliability", "status": "SUCCESS", "date_from": at(0).isoformat(),
                "date_to": at(1).isoformat()},
    )  # fmt: skip
    assert [s["id"] for s in filtered.json()["items"]] == [ids[0]]
    assert (
        await eval_client.get("/evaluations/session-scores", params={"status": "X"})
    ).status_code == 422

    per_session = (await eval_client.get("/evaluations/session-scores/a")).json()
    assert [s["id"] for s in per_session] == [ids[1], ids[0]]  # all scores, newest first
    assert per_session[0]["metadata"] == {} and per_session[0]["value"] == "0.7"
    assert (await eval_client.get("/evaluations/session-scores/nope")).json() == []

    assert (await eval_client.delete(f"/evaluations/session-scores/{ids[0]}")).status_code == 204
    again = await eval_client.delete(f"/evaluations/session-scores/{ids[0]}")
    assert again.status_code == 404
    assert again.json()["detail"] == f"Session score {ids[0]} not found."
    other_project = await eval_client.delete(
        f"/evaluations/session-scores/{ids[1]}", headers=et.headers("proj-2")
    )
    assert other_project.status_code == 404


async def test_summary_trend_and_distribution(
    et: Tenant, eval_app: FastAPI, eval_client: httpx.AsyncClient
) -> None:
    project = await project_id(eval_app, eval_client, et)
    values = ["0.0", "0.25", "0.5", "0.95", "1.0"]
    rows: list[dict[str, Any]] = [
        {"session_id": f"s{i}", "name": "agent_reliability", "value": v, "created_at": at(i * 24)}
        for i, v in enumerate(values)
    ]
    rows.append({"session_id": "x", "name": "agent_reliability", "value": None,
                 "status": "FAILED", "created_at": at(200)})  # fmt: skip
    rows.append({"session_id": "x", "name": "agent_consistency", "value": "0.4",
                 "created_at": at(1)})  # fmt: skip
    await add_scores(eval_app, project, rows)

    summary = (await eval_client.get("/evaluations/analytics/session-scores/summary")).json()
    by_name = {row["metric_name"]: row for row in summary}
    reliability = by_name["agent_reliability"]
    assert reliability["avg_score"] == 0.54 and reliability["median_score"] == 0.5
    assert reliability["min_score"] == 0.0 and reliability["max_score"] == 1.0
    assert reliability["success_count"] == 5 and reliability["failed_count"] == 1
    assert reliability["latest_score_at"] == at(200).isoformat()
    windowed = await eval_client.get(
        "/evaluations/analytics/session-scores/summary",
        params={"date_from": at(24).isoformat(), "date_to": at(72).isoformat()},
    )
    assert [(r["metric_name"], r["avg_score"]) for r in windowed.json()] == [
        ("agent_reliability", 0.375)
    ]

    trend = await eval_client.get(
        "/evaluations/analytics/session-scores/trend",
        params={"metric_name": "agent_reliability", "granularity": "week"},
    )
    assert trend.status_code == 200
    assert [(p["bucket"], p["count"], p["avg_score"]) for p in trend.json()] == [
        (DAY.replace(hour=0).isoformat(), 5, 0.54)  # Monday to Friday: one week bucket
    ]
    daily = (await eval_client.get(
        "/evaluations/analytics/session-scores/trend", params={"metric_name": "agent_reliability"}
    )).json()  # fmt: skip
    assert [p["count"] for p in daily] == [1] * 5 and daily[1]["avg_score"] == 0.25
    missing = await eval_client.get("/evaluations/analytics/session-scores/trend")
    assert missing.status_code == 422

    distribution = (await eval_client.get(
        "/evaluations/analytics/session-scores/distribution",
        params={"metric_name": "agent_reliability", "buckets": 4},
    )).json()  # fmt: skip
    # 0.0 -> 1, 0.25 -> 2, 0.5 -> 3, 0.95 and an exact 1.0 -> 4 (never a fifth bucket)
    assert distribution == [
        {"bucket": 1, "bucket_min": 0.0, "bucket_max": 0.25, "count": 1},
        {"bucket": 2, "bucket_min": 0.25, "bucket_max": 0.5, "count": 1},
        {"bucket": 3, "bucket_min": 0.5, "bucket_max": 0.75, "count": 1},
        {"bucket": 4, "bucket_min": 0.75, "bucket_max": 1.0, "count": 2},
    ]
    too_many = await eval_client.get(
        "/evaluations/analytics/session-scores/distribution",
        params={"metric_name": "agent_reliability", "buckets": 101},
    )
    assert too_many.status_code == 422


async def test_history_returns_the_newest_points_in_time_order(
    et: Tenant, eval_app: FastAPI, eval_client: httpx.AsyncClient
) -> None:
    project = await project_id(eval_app, eval_client, et)
    rows: list[dict[str, Any]] = [
        {"session_id": "h", "name": "agent_reliability", "value": f"0.{i}", "created_at": at(i)}
        for i in range(1, 6)
    ]
    rows.append({"session_id": "h", "name": "agent_reliability", "value": None,
                 "status": "FAILED", "created_at": at(7)})  # fmt: skip
    rows.append({"session_id": "h", "name": "agent_consistency", "value": "0.9",
                 "created_at": at(8)})  # fmt: skip
    await add_scores(eval_app, project, rows)
    history = (await eval_client.get(
        "/evaluations/analytics/session-scores/history/h",
        params={"metric_name": "agent_reliability", "limit": 3},
    )).json()  # fmt: skip
    assert [(p["score"], p["status"]) for p in history] == [
        (0.4, "SUCCESS"),
        (0.5, "SUCCESS"),
        (None, "FAILED"),
    ]
    assert history[0]["created_at"] == at(4).isoformat()
    everything = (await eval_client.get("/evaluations/analytics/session-scores/history/h")).json()
    assert len(everything) == 7 and everything[-1]["metric_name"] == "agent_consistency"


async def test_comparison_sorts_latest_scores_and_validates_the_order(
    et: Tenant, eval_app: FastAPI, eval_client: httpx.AsyncClient
) -> None:
    project = await project_id(eval_app, eval_client, et)
    await add_scores(eval_app, project, [
        {"session_id": "c1", "name": "agent_reliability", "value": "0.9", "created_at": at(0)},
        {"session_id": "c1", "name": "agent_reliability", "value": "0.2", "created_at": at(5)},
        {"session_id": "c2", "name": "agent_reliability", "value": "0.6", "created_at": at(1)},
        {"session_id": "c3", "name": "agent_reliability", "value": "0.6", "created_at": at(2)},
        {"session_id": "c4", "name": "agent_reliability", "value": None, "status": "FAILED",
         "created_at": at(9)},
    ])  # fmt: skip
    url = "/evaluations/analytics/session-scores/comparison"
    ascending = (await eval_client.get(url, params={"metric_name": "agent_reliability"})).json()
    assert ascending["total"] == 3 and ascending["limit"] == 20
    assert [(i["session_id"], i["score"]) for i in ascending["items"]] == [
        ("c1", 0.2),
        ("c2", 0.6),
        ("c3", 0.6),
    ]
    descending = (await eval_client.get(
        url, params={"metric_name": "agent_reliability", "sort_order": "desc", "limit": 2}
    )).json()  # fmt: skip
    assert [i["session_id"] for i in descending["items"]] == ["c2", "c3"]
    page_two = (await eval_client.get(
        url, params={"metric_name": "agent_reliability", "sort_order": "desc", "offset": 2}
    )).json()  # fmt: skip
    assert [i["session_id"] for i in page_two["items"]] == ["c1"]
    bad = await eval_client.get(
        url, params={"metric_name": "agent_reliability", "sort_order": "up"}
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query -> sort_order"
    assert (
        await eval_client.get(url, params={"metric_name": "x", "limit": 101})
    ).status_code == 422

"""Annotation queues over HTTP: two reviewers, leases, skip, progress, annotations stored as
ANNOTATION trace scores, and annotations and judge scores never replacing each other."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from fastapi import FastAPI

from tests.conftest import Tenant
from tests.evals.annotations.flow import QUEUES, annotate, create_queue, next_item, reviewer
from tests.evals.factories import create_traces, wait_for_run
from tests.fakes.openai_server import FakeJudgeServer

SCORES = "/evaluations/trace-scores"


async def _scores(client: httpx.AsyncClient, trace_id: str, name: str) -> list[dict[str, Any]]:
    response = await client.get(SCORES, params={"trace_id": trace_id, "name": name})
    assert response.status_code == 200
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def _progress(client: httpx.AsyncClient, queue_id: str) -> dict[str, int]:
    response = await client.get(f"{QUEUES}/{queue_id}")
    assert response.status_code == 200
    progress: dict[str, int] = response.json()["progress"]
    return progress


async def test_two_reviewers_share_a_queue(
    et: Tenant,
    eval_app: FastAPI,
    eval_client: httpx.AsyncClient,
    judge: FakeJudgeServer,
) -> None:
    alice = await reviewer(eval_app, et, "alice")
    bob = await reviewer(eval_app, et, "bob")
    traces = await create_traces(eval_client, 3)
    queue = await create_queue(
        eval_client, name="weekly review", metrics=["confidence", "task_completion"],
        trace_ids=traces,
    )  # fmt: skip
    assert queue["name"] == "weekly review" and queue["created_by"] == "test"
    assert queue["metrics"] == [
        {"name": "confidence", "data_type": "NUMERIC", "labels": None, "version": 1},
        {"name": "task_completion", "data_type": "NUMERIC", "labels": None, "version": 1},
    ]
    assert queue["progress"] == {"total": 3, "done": 0, "skipped": 0, "remaining": 3}
    qid = queue["id"]

    first = await next_item(eval_client, qid, alice)
    assert first is not None
    assert first["trace_id"] == traces[0] and first["position"] == 0
    assert first["status"] == "PENDING" and first["leased_by"] == "alice"
    assert [m["name"] for m in first["metrics"]] == ["confidence", "task_completion"]
    again = await next_item(eval_client, qid, alice)  # the same reviewer: the same item
    assert again is not None and again["id"] == first["id"]
    assert again["lease_expires_at"] >= first["lease_expires_at"]  # renewed
    second = await next_item(eval_client, qid, bob)  # never the item alice holds
    assert second is not None and second["trace_id"] == traces[1]
    assert second["leased_by"] == "bob"

    done = await annotate(
        eval_client, qid, first["id"], alice,
        [{"name": "confidence", "value": "0.8", "reason": "grounded in the lookup"}],
    )  # fmt: skip
    assert done.status_code == 201, done.text
    answer = done.json()
    assert answer["item"]["status"] == "DONE" and answer["item"]["completed_by"] == "alice"
    assert answer["item"]["leased_by"] is None
    [score] = answer["scores"]
    assert score["trace_id"] == traces[0] and score["name"] == "confidence"
    assert score["value"] == "0.8" and score["reason"] == "grounded in the lookup"
    assert score["source"] == "ANNOTATION" and score["status"] == "SUCCESS"
    assert score["author_user_id"] == "alice" and score["eval_run_id"] is None
    assert score["data_type"] == "NUMERIC"
    assert score["metadata"]["annotation_queue_id"] == qid
    [stored] = await _scores(eval_client, traces[0], "confidence")
    assert stored["id"] == score["id"] and stored["author_user_id"] == "alice"

    skipped = await eval_client.post(f"{QUEUES}/{qid}/items/{second['id']}/skip", headers=bob)
    assert skipped.status_code == 200
    assert skipped.json()["status"] == "SKIPPED" and skipped.json()["completed_by"] == "bob"
    assert await _progress(eval_client, qid) == {
        "total": 3, "done": 1, "skipped": 1, "remaining": 1,
    }  # fmt: skip

    third = await next_item(eval_client, qid, alice)
    assert third is not None and third["trace_id"] == traces[2]
    assert await next_item(eval_client, qid, bob) is None  # the last one is alice's
    both = await annotate(
        eval_client, qid, third["id"], alice,
        [{"name": "confidence", "value": "0.4"}, {"name": "task_completion", "value": "1"}],
    )  # fmt: skip
    assert both.status_code == 201
    assert sorted(s["name"] for s in both.json()["scores"]) == ["confidence", "task_completion"]
    assert await next_item(eval_client, qid, alice) is None
    assert await _progress(eval_client, qid) == {
        "total": 3, "done": 2, "skipped": 1, "remaining": 0,
    }  # fmt: skip

    # Re-annotating a done item is refused (a correction is a PATCH of the score); so is
    # skipping it. Skipping twice changes nothing; a skipped item may still be annotated.
    again_done = await annotate(
        eval_client, qid, first["id"], bob, [{"name": "confidence", "value": "0.1"}]
    )
    assert again_done.status_code == 409
    assert "already annotated" in again_done.json()["detail"]
    skip_done = await eval_client.post(f"{QUEUES}/{qid}/items/{first['id']}/skip", headers=bob)
    assert skip_done.status_code == 409
    twice = await eval_client.post(f"{QUEUES}/{qid}/items/{second['id']}/skip", headers=bob)
    assert twice.status_code == 200 and twice.json()["status"] == "SKIPPED"
    late = await annotate(
        eval_client, qid, second["id"], bob, [{"name": "confidence", "value": "0.5"}]
    )
    assert late.status_code == 201 and late.json()["item"]["status"] == "DONE"
    assert await _progress(eval_client, qid) == {
        "total": 3, "done": 3, "skipped": 0, "remaining": 0,
    }  # fmt: skip

    # A judge run over the same traces afterwards: its scores are rows of their own, and
    # the annotations are untouched.
    judge.answers["ConfidenceAnswer"] = {"confidence": 0.3, "reason": "the judge's view"}
    created = await eval_client.post(
        "/evaluations/trace-runs/batch", json={"trace_ids": traces, "metrics": ["confidence"]}
    )
    assert created.status_code == 202
    run = await wait_for_run(eval_client, created.json()["id"])
    assert run["status"] == "COMPLETED"
    rows = await _scores(eval_client, traces[0], "confidence")
    by_source = {r["source"]: r for r in rows}
    assert len(rows) == 2 and set(by_source) == {"ANNOTATION", "AUTOMATED"}
    assert by_source["ANNOTATION"]["value"] == "0.8"
    assert by_source["ANNOTATION"]["author_user_id"] == "alice"
    assert by_source["AUTOMATED"]["value"] == "0.3"
    assert by_source["AUTOMATED"]["eval_run_id"] == run["id"]


async def test_an_annotation_leaves_the_judge_score_alone(
    et: Tenant, eval_app: FastAPI, eval_client: httpx.AsyncClient, judge: FakeJudgeServer
) -> None:
    [trace_id] = await create_traces(eval_client, 1)
    judge.answers["ConfidenceAnswer"] = {"confidence": 0.9, "reason": "the judge's view"}
    created = await eval_client.post(
        "/evaluations/trace-runs/batch", json={"trace_ids": [trace_id], "metrics": ["confidence"]}
    )
    run = await wait_for_run(eval_client, created.json()["id"])
    [judged] = await _scores(eval_client, trace_id, "confidence")
    assert judged["source"] == "AUTOMATED"

    carol = await reviewer(eval_app, et, "carol")
    queue = await create_queue(eval_client, metrics=["confidence"], trace_ids=[trace_id])
    item = await next_item(eval_client, queue["id"], carol)
    assert item is not None
    response = await annotate(
        eval_client, queue["id"], item["id"], carol, [{"name": "confidence", "value": "0.2"}]
    )
    assert response.status_code == 201
    rows = {r["source"]: r for r in await _scores(eval_client, trace_id, "confidence")}
    assert rows["AUTOMATED"] == judged  # the very same row, value and all
    assert rows["ANNOTATION"]["value"] == "0.2" and rows["ANNOTATION"]["author_user_id"] == "carol"
    # Another judge run writes a row of its own; the annotation stays as it was.
    second = await eval_client.post(
        "/evaluations/trace-runs/batch", json={"trace_ids": [trace_id], "metrics": ["confidence"]}
    )
    assert (await wait_for_run(eval_client, second.json()["id"]))["status"] == "COMPLETED"
    after = await _scores(eval_client, trace_id, "confidence")
    assert sorted(r["source"] for r in after) == ["ANNOTATION", "AUTOMATED", "AUTOMATED"]
    assert [r for r in after if r["source"] == "ANNOTATION"] == [rows["ANNOTATION"]]
    assert judged in after and run["id"] in {r["eval_run_id"] for r in after}


async def test_a_lease_expires_and_binds_only_its_holder(
    et: Tenant, eval_app: FastAPI, eval_client: httpx.AsyncClient
) -> None:
    alice = await reviewer(eval_app, et, "alice")
    bob = await reviewer(eval_app, et, "bob")
    [trace_id] = await create_traces(eval_client, 1)
    queue = await create_queue(eval_client, metrics=["confidence"], trace_ids=[trace_id])
    qid = queue["id"]
    held = await next_item(eval_client, qid, alice, lease_seconds=1)
    assert held is not None and held["leased_by"] == "alice"
    assert await next_item(eval_client, qid, bob) is None
    refused = await annotate(
        eval_client, qid, held["id"], bob, [{"name": "confidence", "value": "0.5"}]
    )
    assert refused.status_code == 409 and "being reviewed by alice" in refused.json()["detail"]
    skip = await eval_client.post(f"{QUEUES}/{qid}/items/{held['id']}/skip", headers=bob)
    assert skip.status_code == 409
    assert await _scores(eval_client, trace_id, "confidence") == []  # nothing written

    await asyncio.sleep(1.2)  # the lease runs out: the item is free for anyone
    taken = await next_item(eval_client, qid, bob)
    assert taken is not None and taken["id"] == held["id"] and taken["leased_by"] == "bob"
    late = await annotate(
        eval_client, qid, held["id"], alice, [{"name": "confidence", "value": "1"}]
    )
    assert late.status_code == 409
    mine = await annotate(eval_client, qid, held["id"], bob, [{"name": "confidence", "value": "1"}])
    assert mine.status_code == 201
    assert mine.json()["scores"][0]["author_user_id"] == "bob"


async def test_list_get_and_pagination(et: Tenant, eval_client: httpx.AsyncClient) -> None:
    traces = await create_traces(eval_client, 2)
    made = [
        await create_queue(eval_client, name=f"queue {n}", metrics=["confidence"], trace_ids=traces)
        for n in range(3)
    ]
    page = (await eval_client.get(QUEUES, params={"limit": 2})).json()
    assert page["total"] == 3 and page["limit"] == 2 and page["offset"] == 0
    assert [q["name"] for q in page["items"]] == ["queue 2", "queue 1"]  # newest first
    assert page["items"][0]["progress"] == {"total": 2, "done": 0, "skipped": 0, "remaining": 2}
    rest = (await eval_client.get(QUEUES, params={"limit": 2, "offset": 2})).json()
    assert [q["id"] for q in rest["items"]] == [made[0]["id"]]
    one = (await eval_client.get(f"{QUEUES}/{made[1]['id']}")).json()
    assert one == made[1]
    for bad in ({"limit": 0}, {"limit": 201}, {"offset": -1}):
        response = await eval_client.get(QUEUES, params=bad)
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"].startswith("query -> ")


async def test_reviewers_asking_at_once_get_different_items(
    et: Tenant, eval_app: FastAPI, eval_client: httpx.AsyncClient
) -> None:
    traces = await create_traces(eval_client, 5)
    queue = await create_queue(eval_client, metrics=["confidence"], trace_ids=traces)
    people = [await reviewer(eval_app, et, f"reviewer-{n}") for n in range(4)]
    handed = await asyncio.gather(*(next_item(eval_client, queue["id"], p) for p in people))
    assert all(item is not None for item in handed)
    items = [item for item in handed if item is not None]
    assert len({item["id"] for item in items}) == 4
    assert sorted(item["leased_by"] for item in items) == [f"reviewer-{n}" for n in range(4)]
    # Asked again, at once, each gets back what it holds; the fifth item is still free.
    again = await asyncio.gather(*(next_item(eval_client, queue["id"], p) for p in people))
    assert [a["id"] if a else None for a in again] == [item["id"] for item in items]
    assert (await eval_client.get(f"{QUEUES}/{queue['id']}")).json()["progress"]["remaining"] == 5

"""Annotation queues: what a queue may hold, which values an annotation accepts (422s that
name the field, nothing stored), selection by filter and sample, and tenancy (404s)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from tests.conftest import Tenant, new_tenant
from tests.evals.annotations.flow import QUEUES, annotate, create_queue, next_item, reviewer
from tests.evals.factories import create_traces

METRICS = "/evaluations/metrics"


async def _custom_metrics(client: httpx.AsyncClient) -> None:
    """A BOOLEAN check and a CATEGORICAL rubric of the project's own."""
    regex = {
        "name": "no_apology", "kind": "regex", "description": "never apologises",
        "config": {"field": "output", "pattern": "(?i)sorry|apolog", "must_match": False},
    }  # fmt: skip
    rubric = {
        "name": "tone", "kind": "llm_judge", "description": "the answer's tone",
        "config": {
            "criteria": "The tone of the agent's answer.", "score_type": "CATEGORICAL",
            "labels": ["rude", "neutral", "warm"], "sees": "input_output",
        },
    }  # fmt: skip
    for body in (regex, rubric):
        response = await client.post(METRICS, json=body)
        assert response.status_code == 201, response.text


def _fields(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["detail"] == "Validation error"
    return [e["field"] for e in body["errors"]]


async def test_values_are_checked_against_each_metrics_score_type(
    et: Tenant, eval_app: FastAPI, eval_client: httpx.AsyncClient
) -> None:
    await _custom_metrics(eval_client)
    [trace_id] = await create_traces(eval_client, 1)
    queue = await create_queue(
        eval_client, metrics=["confidence", "no_apology", "tone"], trace_ids=[trace_id]
    )
    assert queue["metrics"] == [
        {"name": "confidence", "data_type": "NUMERIC", "labels": None, "version": 1},
        {"name": "no_apology", "data_type": "BOOLEAN", "labels": None, "version": 1},
        {"name": "tone", "data_type": "CATEGORICAL", "labels": ["rude", "neutral", "warm"],
         "version": 1},
    ]  # fmt: skip
    dana = await reviewer(eval_app, et, "dana")
    item = await next_item(eval_client, queue["id"], dana)
    assert item is not None
    qid, iid = queue["id"], item["id"]

    def one(name: str, value: Any) -> list[dict[str, Any]]:
        return [{"name": name, "value": value}]

    refused: list[tuple[list[dict[str, Any]], str]] = [
        (one("confidence", "1.5"), "scores -> 0 -> value"),
        (one("confidence", "-0.1"), "scores -> 0 -> value"),
        (one("confidence", "high"), "scores -> 0 -> value"),
        (one("confidence", "nan"), "scores -> 0 -> value"),
        (one("no_apology", "yes"), "scores -> 0 -> value"),
        (one("tone", "grumpy"), "scores -> 0 -> value"),
        (one("tone", "Warm"), "scores -> 0 -> value"),  # labels are exact
        (one("task_completion", "0.5"), "scores -> 0 -> name"),  # not a metric of the queue
        (one("confidence", 0.5), "scores -> 0 -> value"),  # values are strings, as everywhere
        ([*one("tone", "warm"), *one("no_apology", "maybe")], "scores -> 1 -> value"),
        ([*one("tone", "warm"), *one("tone", "rude")], "scores"),
        ([], "scores"),
        ([{"name": "tone"}], "scores -> 0 -> value"),
    ]
    for scores, field in refused:
        assert _fields(await annotate(eval_client, qid, iid, dana, scores)) == [field], scores
    extra = await eval_client.post(
        f"{QUEUES}/{qid}/items/{iid}/annotations",
        json={"scores": one("tone", "warm"), "verdict": "x"},
        headers=dana,
    )
    assert _fields(extra) == ["verdict"]
    stored = await eval_client.get("/evaluations/trace-scores", params={"trace_id": trace_id})
    assert stored.json()["total"] == 0  # nothing was written by any refused request
    assert (await eval_client.get(f"{QUEUES}/{qid}")).json()["progress"]["done"] == 0

    accepted = await annotate(
        eval_client, qid, iid, dana,
        [*one("confidence", "0.25"), *one("no_apology", "TRUE"), *one("tone", "warm")],
    )  # fmt: skip
    assert accepted.status_code == 201, accepted.text
    values = {s["name"]: (s["value"], s["data_type"]) for s in accepted.json()["scores"]}
    assert values == {
        "confidence": ("0.25", "NUMERIC"),
        "no_apology": ("true", "BOOLEAN"),  # stored as the API's lower-case string
        "tone": ("warm", "CATEGORICAL"),
    }


async def test_what_a_queue_may_hold(et: Tenant, eval_client: httpx.AsyncClient) -> None:
    traces = await create_traces(eval_client, 2)
    schema_errors: list[tuple[dict[str, Any], list[str]]] = [
        ({"metrics": ["confidence"]}, [""]),  # neither trace_ids nor filters
        ({"metrics": ["confidence"], "trace_ids": traces, "filters": {}}, [""]),
        ({"metrics": ["confidence"], "trace_ids": traces, "sample_size": 1}, [""]),
        ({"metrics": [], "trace_ids": traces}, ["metrics"]),
        ({"metrics": ["confidence"], "trace_ids": []}, ["trace_ids"]),
        ({"metrics": ["confidence"], "trace_ids": ["not-a-uuid"]}, ["trace_ids -> 0"]),
        ({"metrics": ["confidence"], "filters": {"colour": "red"}}, ["filters -> colour"]),
        ({"metrics": ["confidence"], "filters": {}, "sample_size": 0}, ["sample_size"]),
        ({"metrics": ["confidence"], "filters": {"date_from": "yesterday"}},
         ["filters -> date_from"]),
        ({"metrics": ["confidence"], "trace_ids": traces, "owner": "me"}, ["owner"]),
    ]  # fmt: skip
    for body, fields in schema_errors:
        response = await eval_client.post(QUEUES, json={"name": "q", **body})
        assert _fields(response) == fields, body
    nameless = await eval_client.post(QUEUES, json={"metrics": ["confidence"], "trace_ids": traces})
    assert _fields(nameless) == ["name"]

    domain_errors = [
        ({"metrics": ["confidence", "nope"], "trace_ids": traces}, "Unknown metrics: nope."),
        ({"metrics": ["agent_reliability"], "trace_ids": traces}, "Session metrics cannot"),
        ({"metrics": ["confidence"], "trace_ids": [str(uuid.uuid4())]}, "Traces not found"),
        ({"metrics": ["confidence"], "filters": {"name": "no-such-agent"}}, "No traces match"),
    ]
    for body, start in domain_errors:
        response = await eval_client.post(QUEUES, json={"name": "q", **body})
        assert response.status_code == 422, body
        assert response.json()["detail"].startswith(start), response.json()
    assert (await eval_client.get(QUEUES)).json()["total"] == 0  # nothing was stored

    # Metric and trace lists are deduplicated, in order.
    queue = await create_queue(
        eval_client, metrics=["confidence", "confidence"], trace_ids=[traces[1], *traces]
    )
    assert [m["name"] for m in queue["metrics"]] == ["confidence"]
    assert queue["progress"]["total"] == 2 and queue["filters"] is None


async def test_traces_by_filter_with_a_sample_size(
    et: Tenant, eval_client: httpx.AsyncClient
) -> None:
    start = datetime.now(UTC) - timedelta(hours=2)
    tagged = [
        *await create_traces(eval_client, 3, tags=["refund"], started_at=start),
        *await create_traces(
            eval_client, 3, tags=["refund"], started_at=start + timedelta(hours=1)
        ),
    ]
    await create_traces(eval_client, 2, tags=["other"], started_at=start)
    everything = await create_queue(
        eval_client, metrics=["confidence"], filters={"tags": ["refund"]}
    )
    assert everything["progress"]["total"] == 6
    assert everything["filters"] == {"tags": ["refund"]} and everything["sample_size"] is None

    body = {"metrics": ["confidence"], "filters": {"tags": ["refund"]}, "sample_size": 4}
    sampled = await create_queue(eval_client, **body)
    assert sampled["progress"]["total"] == 4 and sampled["sample_size"] == 4
    again = await create_queue(eval_client, **body)

    async def traces_of(queue: dict[str, Any]) -> list[str]:
        headers = dict(eval_client.headers)
        found = []
        while (item := await next_item(eval_client, queue["id"], headers)) is not None:
            found.append(item["trace_id"])
            skip = f"{QUEUES}/{queue['id']}/items/{item['id']}/skip"
            assert (await eval_client.post(skip)).status_code == 200
        return found

    picked = await traces_of(sampled)
    assert len(picked) == 4 and set(picked) <= set(tagged)
    assert await traces_of(again) == picked  # the same sample, in the same order

    late = await create_queue(
        eval_client, metrics=["confidence"],
        filters={"tags": ["refund"], "date_from": (start + timedelta(minutes=30)).isoformat()},
    )  # fmt: skip
    assert sorted(await traces_of(late)) == sorted(tagged[3:])
    bigger = await create_queue(eval_client, **{**body, "sample_size": 50})
    assert bigger["progress"]["total"] == 6  # a sample larger than the match takes them all


async def test_queues_and_items_of_another_project_are_not_found(
    et: Tenant, eval_app: FastAPI, eval_client: httpx.AsyncClient
) -> None:
    traces = await create_traces(eval_client, 1)
    queue = await create_queue(eval_client, metrics=["confidence"], trace_ids=traces)
    mine = dict(eval_client.headers)
    item = await next_item(eval_client, queue["id"], mine)
    assert item is not None
    qid, iid = queue["id"], item["id"]

    other_org = await new_tenant(eval_app, eval_client)
    same_org_other_project = et.headers("proj-other")
    for headers in (other_org.headers(), same_org_other_project):
        assert (await eval_client.get(QUEUES, headers=headers)).json()["total"] == 0
        requests = [
            eval_client.get(f"{QUEUES}/{qid}", headers=headers),
            eval_client.get(f"{QUEUES}/{qid}/next", headers=headers),
            eval_client.post(f"{QUEUES}/{qid}/items/{iid}/skip", headers=headers),
            eval_client.post(
                f"{QUEUES}/{qid}/items/{iid}/annotations",
                json={"scores": [{"name": "confidence", "value": "0.5"}]},
                headers=headers,
            ),
        ]
        for request in requests:
            response = await request
            assert response.status_code == 404, response.text
        # Nor can they queue this project's traces.
        foreign = await eval_client.post(
            QUEUES, json={"name": "q", "metrics": ["confidence"], "trace_ids": traces},
            headers=headers,
        )  # fmt: skip
        assert foreign.status_code == 422
        assert foreign.json()["detail"].startswith("Traces not found")

    # An item of one queue is not found under another queue of the same project.
    other_queue = await create_queue(eval_client, metrics=["confidence"], trace_ids=traces)
    wrong = await eval_client.post(f"{QUEUES}/{other_queue['id']}/items/{iid}/skip")
    assert wrong.status_code == 404
    missing = await eval_client.get(f"{QUEUES}/{uuid.uuid4()}")
    assert missing.status_code == 404
    assert (await eval_client.get(f"{QUEUES}/not-a-uuid")).status_code == 422
    item_after = await next_item(eval_client, qid, mine)
    assert item_after is not None and item_after["status"] == "PENDING"  # untouched


async def test_the_document_declares_what_the_operations_answer(
    et: Tenant, eval_client: httpx.AsyncClient
) -> None:
    paths = (await eval_client.get("/openapi.json")).json()["paths"]

    def statuses(method: str, path: str) -> set[str]:
        return set(paths[path][method]["responses"])

    item = f"{QUEUES}/{{queue_id}}/items/{{item_id}}"
    assert statuses("post", QUEUES) == {"201", "401", "413", "422"}
    assert statuses("get", f"{QUEUES}/{{queue_id}}/next") == {"200", "204", "401", "404", "422"}
    assert statuses("post", f"{item}/annotations") == {"201", "401", "404", "409", "413", "422"}
    assert statuses("post", f"{item}/skip") == {"200", "401", "404", "409", "422"}
    agreement = "/evaluations/metrics/{name}/agreement"
    assert statuses("get", agreement) == {"200", "401", "404", "422"}

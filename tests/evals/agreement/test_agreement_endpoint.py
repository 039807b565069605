"""GET /evaluations/metrics/{name}/agreement over HTTP, against hand-computed values: the
judge's scores from a real trace run (fake judge) or the scores API, the people's through
an annotation queue."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from tests.conftest import Tenant, new_tenant
from tests.evals.annotations.flow import create_queue, review_all, reviewer
from tests.evals.conftest import JUDGE_MODEL
from tests.evals.factories import create_traces, wait_for_run
from tests.fakes.openai_server import FakeJudgeServer

CASE = re.compile(r"case-(\d+)\b")


def _agreement(name: str) -> str:
    return f"/evaluations/metrics/{name}/agreement"


async def _cases(client: httpx.AsyncClient, count: int) -> list[str]:
    """Traces whose prompt names their case number, so a scripted judge can tell them apart."""
    traces = []
    for k in range(count):
        question = f"case-{k} Where is my order #{uuid.uuid4().hex[:6]}?"
        [trace_id] = await create_traces(client, 1, question=question)
        traces.append(trace_id)
    return traces


async def _judge_score(
    client: httpx.AsyncClient, trace_id: str, name: str, value: str, data_type: str,
    version: int | None = None,
) -> None:  # fmt: skip
    """An automated score sent through the scores API (the contract accepts AUTOMATED)."""
    metadata = {} if version is None else {"metric_version": version}
    body = {"trace_id": trace_id, "name": name, "value": value, "data_type": data_type,
            "source": "AUTOMATED", "metadata": metadata}  # fmt: skip
    response = await client.post("/evaluations/trace-scores", json=body)
    assert response.status_code == 201, response.text


async def _metric(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    response = await client.post("/evaluations/metrics", json=body)
    assert response.status_code == 201, response.text


def _within(row: dict[str, Any], key: str) -> None:
    low, high = row[f"{key}_ci95"]
    assert low <= row[key] <= high, (key, row)


async def test_numeric_agreement_of_a_judge_run(
    et: Tenant, eval_app: FastAPI, eval_client: httpx.AsyncClient, judge: FakeJudgeServer
) -> None:
    traces = await _cases(eval_client, 10)
    # Reviewers rank the cases 1..10; the judge swaps each neighbouring pair: d = ±1 for
    # every item, Spearman = 1 − 6·10 / (10·99) = 0.939394; the spreads are equal, so
    # Pearson = 1 − Σ(x − y)² / (2 Σ(x − x̄)²) = 1 − 0.1 / 1.65 = 0.939394; MAE = 0.1.
    human = {t: f"{(k + 1) / 10:.1f}" for k, t in enumerate(traces)}
    judged = [0.2, 0.1, 0.4, 0.3, 0.6, 0.5, 0.8, 0.7, 1.0, 0.9]

    def confidence(body: dict[str, Any]) -> dict[str, Any]:
        [case] = set(CASE.findall(str(body["messages"][-1]["content"])))
        return {"reason": "scripted", "confidence": judged[int(case)]}

    judge.answers["ConfidenceAnswer"] = confidence
    created = await eval_client.post(
        "/evaluations/trace-runs/batch", json={"trace_ids": traces, "metrics": ["confidence"]}
    )
    before_run = datetime.now(UTC) - timedelta(seconds=1)
    assert (await wait_for_run(eval_client, created.json()["id"]))["status"] == "COMPLETED"

    queue = await create_queue(eval_client, metrics=["confidence"], trace_ids=traces)
    erin = await reviewer(eval_app, et, "erin")
    assert await review_all(eval_client, queue["id"], erin, human) == 10

    response = await eval_client.get(_agreement("confidence"))
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["metric"] == "confidence" and answer["message"] is None
    [row] = answer["rows"]
    assert {k: row[k] for k in ("model", "version", "data_type", "n")} == {
        "model": JUDGE_MODEL, "version": 1, "data_type": "NUMERIC", "n": 10,
    }  # fmt: skip
    assert row["spearman"] == 0.9394 and row["pearson"] == 0.9394
    assert row["mae"] == 0.1 and row["mae_ci95"] == [0.1, 0.1]
    for key in ("spearman", "pearson"):
        _within(row, key)
    assert row["notes"] == []
    assert "accuracy" not in row and "kappa" not in row
    assert (await eval_client.get(_agreement("confidence"))).json() == answer  # seeded

    # The filters: the judge model, the metric version, the judge scores' dates.
    assert (
        await eval_client.get(_agreement("confidence"), params={"model": JUDGE_MODEL})
    ).json() == answer
    empty: list[dict[str, Any]] = [
        {"model": "openai/another-model"},
        {"version": 2},
        {"date_to": before_run.isoformat()},
        {"date_from": (datetime.now(UTC) + timedelta(minutes=1)).isoformat()},
    ]
    for params in empty:
        none = (await eval_client.get(_agreement("confidence"), params=params)).json()
        assert none["rows"] == [], params
        assert none["message"].startswith("No trace has both a judge score and an annotation")
    since = {"date_from": before_run.isoformat(), "version": 1}
    assert (await eval_client.get(_agreement("confidence"), params=since)).json() == answer


async def test_boolean_agreement_has_a_known_kappa_and_rows_per_version(
    et: Tenant, eval_app: FastAPI, eval_client: httpx.AsyncClient
) -> None:
    await _metric(eval_client, {
        "name": "no_apology", "kind": "regex", "description": "never apologises",
        "config": {"field": "output", "pattern": "(?i)sorry|apolog", "must_match": False},
    })  # fmt: skip
    traces = await create_traces(eval_client, 10)
    # (human, judge): true/true 4, true/false 1, false/true 2, false/false 3.
    # p_o = 7/10; humans true 5/10, judge true 6/10: p_e = 0.5·0.6 + 0.5·0.4 = 0.5;
    # kappa = (0.7 − 0.5) / (1 − 0.5) = 0.4.
    table = [("true", "true")] * 4 + [("true", "false")] + [("false", "true")] * 2
    table += [("false", "false")] * 3
    for trace_id, (_, judged) in zip(traces, table, strict=True):
        await _judge_score(eval_client, trace_id, "no_apology", judged, "BOOLEAN")
    # Version 2 of the metric judged three of them: a row of its own, too small for numbers.
    for trace_id in traces[:3]:
        await _judge_score(eval_client, trace_id, "no_apology", "FALSE", "BOOLEAN", version=2)

    frank = await reviewer(eval_app, et, "frank")
    # An earlier review of the first trace that a later one corrects: the latest counts.
    first = await create_queue(eval_client, metrics=["no_apology"], trace_ids=traces[:1])
    assert await review_all(eval_client, first["id"], frank, {traces[0]: "false"}) == 1
    queue = await create_queue(eval_client, metrics=["no_apology"], trace_ids=traces)
    human = {t: h for t, (h, _) in zip(traces, table, strict=True)}
    assert await review_all(eval_client, queue["id"], frank, human) == 10

    answer = (await eval_client.get(_agreement("no_apology"))).json()
    assert answer["metric"] == "no_apology"
    assert answer["message"] == (
        "1 of 2 rows have fewer than 10 paired items: no statistics for them yet."
    )
    version_1, version_2 = answer["rows"]
    assert version_1["model"] is None and version_1["version"] == 1
    assert version_1["data_type"] == "BOOLEAN" and version_1["n"] == 10
    assert version_1["accuracy"] == 0.7 and version_1["kappa"] == 0.4
    assert version_1["confusion_matrix"] == {"labels": ["false", "true"], "rows": [[3, 2], [1, 4]]}
    _within(version_1, "accuracy")
    _within(version_1, "kappa")
    assert version_1["notes"] == []
    assert "spearman" not in version_1
    assert version_2 == {
        "model": None, "version": 2, "data_type": "BOOLEAN", "n": 3,
        "message": "Only 3 paired items; at least 10 are needed for agreement statistics.",
    }  # fmt: skip
    only_2 = (await eval_client.get(_agreement("no_apology"), params={"version": 2})).json()
    assert only_2["rows"] == [version_2]
    assert only_2["message"].startswith("1 of 1 rows have fewer than 10")


async def test_categorical_agreement_and_its_confusion_matrix(
    et: Tenant, eval_app: FastAPI, eval_client: httpx.AsyncClient
) -> None:
    labels = ["rude", "neutral", "warm"]
    await _metric(eval_client, {
        "name": "tone", "kind": "llm_judge", "description": "the answer's tone",
        "config": {"criteria": "The tone of the agent's answer.", "score_type": "CATEGORICAL",
                   "labels": labels, "sees": "input_output"},
    })  # fmt: skip
    traces = await create_traces(eval_client, 10)
    # (human, judge): warm/warm 3, neutral/neutral 2, rude/rude 1, warm/neutral 2,
    # neutral/rude 1, rude/warm 1. p_o = 6/10; human totals rude 2, neutral 3, warm 5; judge
    # totals rude 2, neutral 4, warm 4: p_e = (4 + 12 + 20)/100 = 0.36; kappa = 0.24/0.64.
    pairs = [("warm", "warm")] * 3 + [("neutral", "neutral")] * 2 + [("rude", "rude")]
    pairs += [("warm", "neutral")] * 2 + [("neutral", "rude"), ("rude", "warm")]
    for trace_id, (_, judged) in zip(traces, pairs, strict=True):
        await _judge_score(eval_client, trace_id, "tone", judged, "CATEGORICAL")
    queue = await create_queue(eval_client, metrics=["tone"], trace_ids=traces)
    gina = await reviewer(eval_app, et, "gina")
    human = {t: h for t, (h, _) in zip(traces, pairs, strict=True)}
    assert await review_all(eval_client, queue["id"], gina, human) == 10

    [row] = (await eval_client.get(_agreement("tone"))).json()["rows"]
    assert row["data_type"] == "CATEGORICAL" and row["n"] == 10
    assert row["accuracy"] == 0.6 and row["kappa"] == 0.375
    assert row["confusion_matrix"] == {
        "labels": labels, "rows": [[1, 0, 1], [1, 2, 0], [0, 2, 3]],
    }  # fmt: skip


async def test_fewer_than_ten_pairs_give_a_message_not_numbers(
    et: Tenant, eval_app: FastAPI, eval_client: httpx.AsyncClient, judge: FakeJudgeServer
) -> None:
    traces = await create_traces(eval_client, 4)
    judge.answers["ConfidenceAnswer"] = {"confidence": 0.6, "reason": "fine"}
    created = await eval_client.post(
        "/evaluations/trace-runs/batch", json={"trace_ids": traces, "metrics": ["confidence"]}
    )
    assert (await wait_for_run(eval_client, created.json()["id"]))["status"] == "COMPLETED"
    # Only three of the four judged traces are annotated: n counts the pairs.
    queue = await create_queue(eval_client, metrics=["confidence"], trace_ids=traces[:3])
    hana = await reviewer(eval_app, et, "hana")
    assert await review_all(eval_client, queue["id"], hana, dict.fromkeys(traces, "0.5")) == 3

    answer = (await eval_client.get(_agreement("confidence"))).json()
    assert answer == {
        "metric": "confidence",
        "rows": [{
            "model": JUDGE_MODEL, "version": 1, "data_type": "NUMERIC", "n": 3,
            "message": "Only 3 paired items; at least 10 are needed for agreement statistics.",
        }],
        "message": "1 of 1 rows have fewer than 10 paired items: no statistics for them yet.",
    }  # fmt: skip
    # A metric nobody annotated: no rows, and a message saying why.
    none = (await eval_client.get(_agreement("task_completion"))).json()
    assert none["rows"] == [] and none["message"].startswith("No trace has both")


async def test_unknown_metrics_and_other_projects(
    et: Tenant, eval_app: FastAPI, eval_client: httpx.AsyncClient
) -> None:
    await _metric(eval_client, {
        "name": "no_apology", "kind": "regex", "description": "never apologises",
        "config": {"field": "output", "pattern": "(?i)sorry", "must_match": False},
    })  # fmt: skip
    assert (await eval_client.get(_agreement("no_apology"))).status_code == 200
    missing = await eval_client.get(_agreement("no_such_metric"))
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Metric no_such_metric not found."}
    # Another project's own metric is unknown here, in another organization or the same one.
    other = await new_tenant(eval_app, eval_client)
    for headers in (other.headers(), et.headers("proj-other")):
        foreign = await eval_client.get(_agreement("no_apology"), headers=headers)
        assert foreign.status_code == 404
        builtin = await eval_client.get(_agreement("confidence"), headers=headers)
        assert builtin.status_code == 200 and builtin.json()["rows"] == []
    for params in ({"version": 0}, {"version": "two"}, {"date_from": "soon"}):
        bad = await eval_client.get(_agreement("confidence"), params=params)
        assert bad.status_code == 422
        assert bad.json()["errors"][0]["field"].startswith("query -> ")

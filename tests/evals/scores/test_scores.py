"""Trace scores (API.md §3.5) and their analytics (§3.6), PandaProbe bugs 2, 12, 21, 27 fixed."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import Tenant, new_tenant
from tests.evals.factories import create_traces, wait_for_run
from tests.fakes.openai_server import FakeJudgeServer

SCORES = "/evaluations/trace-scores"


async def _score(client: httpx.AsyncClient, trace_id: str, **fields: Any) -> dict[str, Any]:
    body = {"trace_id": trace_id, "name": "helpfulness", "value": "0.5", **fields}
    response = await client.post(SCORES, json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_create_score_like_the_sdk(et: Tenant, eval_client: httpx.AsyncClient) -> None:
    [trace_id] = await create_traces(eval_client, 1)
    score = await _score(
        eval_client,
        trace_id,
        value="0.85",
        source="PROGRAMMATIC",
        reason="user thumbs-up",
        metadata={"k": 1},
    )
    assert score["trace_id"] == trace_id and score["value"] == "0.85"
    assert score["status"] == "SUCCESS" and score["source"] == "PROGRAMMATIC"
    assert score["data_type"] == "NUMERIC" and score["metadata"] == {"k": 1}
    assert score["eval_run_id"] is None and score["environment"] is None
    for key in ("id", "created_at", "updated_at", "project_id", "author_user_id", "config_id"):
        assert key in score
    default = await _score(eval_client, trace_id, name="other")
    assert default["source"] == "ANNOTATION" and default["metadata"] == {}
    boolean = await _score(eval_client, trace_id, name="ok", value="TRUE", data_type="BOOLEAN")
    assert boolean["value"] == "TRUE"
    category = await _score(
        eval_client, trace_id, name="c", value="polite", data_type="CATEGORICAL"
    )
    assert category["value"] == "polite"


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"value": "1.5"}, "", "NUMERIC score must be in [0.0, 1.0]"),
        ({"value": "abc"}, "", "NUMERIC score must be a number"),
        ({"value": "nan"}, "", "NUMERIC score must be in [0.0, 1.0]"),
        ({"value": "yes", "data_type": "BOOLEAN"}, "", "BOOLEAN score must be"),
        ({"name": "n" * 256}, "name", "at most 255"),
        ({"value": "v" * 256, "data_type": "CATEGORICAL"}, "value", "at most 255"),
        ({"name": ""}, "name", "at least 1"),
        ({"source": "ROBOT"}, "source", "Input should be"),
        ({"trace_id": "nope"}, "trace_id", "UUID"),
        ({"metadata": {"big": 10**400}}, "metadata", "signed 64-bit range"),
    ],
)
async def test_invalid_scores_are_422(
    et: Tenant, eval_client: httpx.AsyncClient, fields: dict[str, Any], field: str, message: str
) -> None:
    [trace_id] = await create_traces(eval_client, 1)
    body = {"trace_id": trace_id, "name": "helpfulness", "value": "0.5", **fields}
    response = await eval_client.post(SCORES, json=body)
    assert response.status_code == 422
    payload = response.json()
    assert payload["detail"] == "Validation error"
    assert payload["errors"][0]["field"] == field
    assert message in payload["errors"][0]["message"]


async def test_nan_in_score_metadata_is_refused_and_changes_nothing(
    et: Tenant, eval_client: httpx.AsyncClient
) -> None:
    """NaN was stored as null; like traces, spans and runs, scores now refuse it."""
    [trace_id] = await create_traces(eval_client, 1)
    fields = f'"trace_id": "{trace_id}", "name": "nan-check", "value": "0.5"'
    raw = f'{{{fields}, "metadata": {{"x": NaN}}}}'
    json_type = {"Content-Type": "application/json"}
    refused = await eval_client.post(SCORES, content=raw, headers=json_type)
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0] == {
        "field": "metadata",
        "message": "Value error, must not contain NaN or Infinity",
    }
    listed = await eval_client.get(SCORES, params={"trace_id": trace_id, "name": "nan-check"})
    assert listed.json()["total"] == 0
    score = await _score(eval_client, trace_id, name="nan-check", metadata={"x": 1})
    patched = await eval_client.patch(
        f"{SCORES}/{score['id']}", content='{"metadata": {"x": Infinity}}', headers=json_type
    )
    assert patched.status_code == 422, patched.text
    assert patched.json()["errors"][0]["field"] == "metadata"
    again = await eval_client.get(SCORES, params={"trace_id": trace_id, "name": "nan-check"})
    assert again.json()["items"][0]["metadata"] == {"x": 1}


async def test_score_on_a_trace_outside_the_project_is_404(
    et: Tenant, eval_client: httpx.AsyncClient, eval_app: FastAPI
) -> None:
    missing = str(uuid.uuid4())
    response = await eval_client.post(SCORES, json={"trace_id": missing, "name": "x", "value": "1"})
    assert response.status_code == 404
    assert response.json() == {"detail": f"Trace {missing} not found."}
    [mine] = await create_traces(eval_client, 1)
    other = await new_tenant(eval_app, eval_client)
    response = await eval_client.post(
        SCORES, json={"trace_id": mine, "name": "x", "value": "1"}, headers=other.headers()
    )
    assert response.status_code == 404
    same_org = await eval_client.post(
        SCORES,
        json={"trace_id": mine, "name": "x", "value": "1"},
        headers={"X-Project-Name": "second-project"},
    )
    assert same_org.status_code == 404


async def test_list_filters_and_pagination(et: Tenant, eval_client: httpx.AsyncClient) -> None:
    first, second = await create_traces(eval_client, 2)
    a = await _score(eval_client, first, name="a", value="0.1")
    b = await _score(eval_client, first, name="b", value="true", data_type="BOOLEAN")
    c = await _score(eval_client, second, name="a", value="0.9", source="PROGRAMMATIC")

    everything = (await eval_client.get(SCORES)).json()
    assert everything["total"] == 3
    assert [s["id"] for s in everything["items"]] == [c["id"], b["id"], a["id"]]
    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({"trace_id": first}, [b["id"], a["id"]]),
        ({"name": "a"}, [c["id"], a["id"]]),
        ({"source": "PROGRAMMATIC"}, [c["id"]]),
        ({"data_type": "BOOLEAN"}, [b["id"]]),
        ({"status": "FAILED"}, []),
        ({"limit": 1, "offset": 1}, [b["id"]]),
        ({"date_from": a["created_at"], "date_to": c["created_at"]}, [b["id"], a["id"]]),
        ({"eval_run_id": str(uuid.uuid4())}, []),
    ]
    for params, expected in cases:
        page = (await eval_client.get(SCORES, params=params)).json()
        assert [s["id"] for s in page["items"]] == expected, params
    assert (await eval_client.get(SCORES, params={"date_from": "soon"})).status_code == 422
    assert (await eval_client.get(SCORES, params={"limit": 0})).status_code == 422


async def test_latest_score_per_name(et: Tenant, eval_client: httpx.AsyncClient) -> None:
    [trace_id] = await create_traces(eval_client, 1)
    await _score(eval_client, trace_id, name="b", value="0.1")
    newer_b = await _score(eval_client, trace_id, name="b", value="0.2")
    only_a = await _score(eval_client, trace_id, name="a", value="0.3")
    latest = (await eval_client.get(f"{SCORES}/{trace_id}")).json()
    assert [(s["name"], s["id"]) for s in latest] == [("a", only_a["id"]), ("b", newer_b["id"])]
    assert (await eval_client.get(f"{SCORES}/{uuid.uuid4()}")).json() == []


async def test_patch_changes_only_what_is_given(et: Tenant, eval_client: httpx.AsyncClient) -> None:
    [trace_id] = await create_traces(eval_client, 1)
    score = await _score(eval_client, trace_id, reason="first", metadata={"a": 1})
    url = f"{SCORES}/{score['id']}"

    reason_only = (await eval_client.patch(url, json={"reason": "second"})).json()
    assert reason_only["value"] == "0.5" and reason_only["reason"] == "second"
    assert reason_only["metadata"] == {"a": 1}
    assert reason_only["source"] == "ANNOTATION" and reason_only["status"] == "SUCCESS"
    assert reason_only["updated_at"] >= score["updated_at"]

    value = (await eval_client.patch(url, json={"value": "0.75", "metadata": {"b": 2}})).json()
    assert value["value"] == "0.75" and value["metadata"] == {"b": 2}
    assert value["reason"] == "second"
    cleared = (await eval_client.patch(url, json={"reason": None})).json()
    assert cleared["reason"] is None and cleared["value"] == "0.75"

    bad = await eval_client.patch(url, json={"value": "2"})
    assert bad.status_code == 422
    assert bad.json() == {"detail": "NUMERIC score must be in [0.0, 1.0]"}
    null_value = await eval_client.patch(url, json={"value": None})
    assert null_value.status_code == 422
    too_long = await eval_client.patch(url, json={"value": "1" * 256})
    assert too_long.status_code == 422
    missing = await eval_client.patch(f"{SCORES}/{uuid.uuid4()}", json={"reason": "x"})
    assert missing.status_code == 404


async def test_patch_does_not_turn_a_failed_score_into_a_success(
    et: Tenant, eval_client: httpx.AsyncClient, judge: FakeJudgeServer
) -> None:
    [trace_id] = await create_traces(eval_client, 1)
    judge.answers["ConfidenceAnswer"] = "no idea"
    created = await eval_client.post(
        "/evaluations/trace-runs/batch",
        json={"trace_ids": [trace_id], "metrics": ["confidence"], "use_cache": False},
    )
    run = await wait_for_run(eval_client, created.json()["id"])
    assert run["status"] == "FAILED"
    [failed] = (await eval_client.get(f"/evaluations/trace-runs/{run['id']}/scores")).json()
    assert failed["status"] == "FAILED" and failed["value"] is None
    url = f"{SCORES}/{failed['id']}"

    noted = (await eval_client.patch(url, json={"reason": "judge was down"})).json()
    assert noted["status"] == "FAILED" and noted["value"] is None
    assert noted["reason"] == "judge was down" and noted["source"] == "ANNOTATION"
    fixed = (await eval_client.patch(url, json={"value": "0.9"})).json()
    assert fixed["status"] == "SUCCESS" and fixed["value"] == "0.9"


async def test_delete_score(et: Tenant, eval_client: httpx.AsyncClient) -> None:
    [trace_id] = await create_traces(eval_client, 1)
    score = await _score(eval_client, trace_id)
    assert (await eval_client.delete(f"{SCORES}/{score['id']}")).status_code == 204
    assert (await eval_client.delete(f"{SCORES}/{score['id']}")).status_code == 404
    assert (await eval_client.get(SCORES)).json()["total"] == 0

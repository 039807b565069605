"""GET /evaluations/trace-scores/export: the list's scores as JSONL or CSV, a keyset page
at a time."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from sightline.evals.scores import service as scores_service
from tests.conftest import Tenant, new_tenant
from tests.traces.conftest import post_trace, trace

SCORES = "/evaluations/trace-scores"
EXPORT = f"{SCORES}/export"
FIELDS = [
    "id", "trace_id", "name", "value", "status", "source", "created_at", "project_id",
    "data_type", "eval_run_id", "author_user_id", "reason", "environment", "config_id",
    "metadata", "updated_at", "model", "judge_calls", "prompt_tokens", "completion_tokens",
    "cost_usd",
]  # fmt: skip


async def _score(
    client: httpx.AsyncClient, headers: dict[str, str] | None = None, **fields: Any
) -> dict[str, Any]:
    response = await client.post(SCORES, json=fields, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def _seed(tenant: Tenant) -> None:
    """14 scores on 3 traces: 9 `helpfulness` (NUMERIC), 5 `polite` (BOOLEAN)."""
    traces = [(await post_trace(tenant.client))["trace_id"] for _ in range(3)]
    for n in range(9):
        await _score(
            tenant.client,
            trace_id=traces[n % 3],
            name="helpfulness",
            value=f"0.{n}",
            source="PROGRAMMATIC" if n % 2 else "ANNOTATION",
            reason=None if n % 3 else f'because "{n}",\nreally',
            metadata={"n": n, "tags": ["a", "b"]},
        )
    for n in range(5):
        await _score(
            tenant.client, trace_id=traces[n % 3], name="polite", value="true", data_type="BOOLEAN"
        )


async def _foreign_trace(tenant: Tenant, headers: dict[str, str]) -> str:
    """A trace of another tenant, posted through the same client with its headers."""
    response = await tenant.client.post("/traces", json=trace(), headers=headers)
    assert response.status_code == 202, response.text
    trace_id: str = response.json()["trace_id"]
    return trace_id


async def _listed(tenant: Tenant, **params: Any) -> dict[str, dict[str, Any]]:
    response = await tenant.client.get(SCORES, params={**params, "limit": 200})
    assert response.status_code == 200, response.text
    return {item["id"]: item for item in response.json()["items"]}


async def _export(tenant: Tenant, **params: Any) -> httpx.Response:
    response = await tenant.client.get(EXPORT, params=params)
    assert response.status_code == 200, response.text
    return response


@pytest.mark.parametrize(
    "params",
    [{}, {"name": "helpfulness"}, {"data_type": "BOOLEAN"}, {"source": "PROGRAMMATIC"}],
)
async def test_score_export_with_filters(
    app: FastAPI, tenant: Tenant, params: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scores_service, "EXPORT_PAGE_ROWS", 4)  # several pages
    await _seed(tenant)
    other = await new_tenant(app, tenant.client)
    their_trace = await _foreign_trace(tenant, other.headers())
    await _score(
        tenant.client, other.headers(), trace_id=their_trace, name="helpfulness", value="0.9"
    )
    expected = await _listed(tenant, **params)
    assert expected

    jsonl = await _export(tenant, **params)
    assert jsonl.headers["content-type"] == "application/x-ndjson"
    assert jsonl.headers["content-disposition"].startswith('attachment; filename="trace-scores-')
    rows = [json.loads(line) for line in jsonl.text.splitlines()]
    assert len(rows) == len(expected)
    assert {r["id"]: r for r in rows} == expected  # the list's item shape, exactly
    assert [(r["created_at"], r["id"]) for r in rows] == sorted(
        (r["created_at"], r["id"]) for r in rows
    )

    response = await _export(tenant, **params, format="csv")
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    reader = csv.DictReader(io.StringIO(response.text, newline=""))
    assert reader.fieldnames == FIELDS
    records = list(reader)
    assert sorted(r["id"] for r in records) == sorted(expected)
    for record in records:
        item = expected[record["id"]]
        assert json.loads(record["metadata"]) == item["metadata"]
        for key in ("trace_id", "name", "value", "status", "source", "created_at", "reason"):
            assert record[key] == (item[key] or ""), key
        assert record["eval_run_id"] == "" and float(record["cost_usd"]) == item["cost_usd"]


async def test_score_export_is_scoped_and_checked(app: FastAPI, tenant: Tenant) -> None:
    other = await new_tenant(app, tenant.client)
    trace_id = await _foreign_trace(tenant, other.headers())
    await _score(tenant.client, other.headers(), trace_id=trace_id, name="n", value="0.1")
    assert (await _export(tenant)).text == ""
    header_only = await _export(tenant, format="csv")
    assert header_only.text == ",".join(FIELDS) + "\r\n"
    theirs = await tenant.client.get(EXPORT, headers=other.headers())
    assert [json.loads(line)["trace_id"] for line in theirs.text.splitlines()] == [trace_id]

    for params, field in (
        ({"format": "parquet"}, "query -> format"),
        ({"status": "MAYBE"}, "query -> status"),
        ({"trace_id": "nope"}, "query -> trace_id"),
        ({"name": "a\x00b"}, "query -> name"),
    ):
        response = await tenant.client.get(EXPORT, params=params)
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == field

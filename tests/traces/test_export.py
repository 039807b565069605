"""GET /traces/export: JSONL and CSV files of the list's filters, read a keyset page at a
time (traces/export)."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from sightline.traces.export import service as export_service
from tests.conftest import Tenant, new_tenant
from tests.traces.conftest import T0, get_trace, iso, post_trace, span, trace

EXPORT = "/traces/export"
LIST_COLUMNS = [
    "trace_id", "name", "status", "started_at", "ended_at", "session_id", "user_id", "tags",
    "environment", "release", "latency_ms", "span_count", "total_tokens", "total_cost",
]  # fmt: skip
CSV_COLUMNS = [*LIST_COLUMNS, "input", "output", "metadata"]
# Traces share a start time in groups larger than a page, so pages break inside ties.
TIE_GROUP = 700


def _bulk_trace(n: int) -> dict[str, Any]:
    started = T0 + timedelta(seconds=n // TIE_GROUP)
    return trace(
        name=f"agent-{n % 3}",
        status="ERROR" if n % 10 == 0 else "COMPLETED",
        started_at=iso(started),
        ended_at=iso(started + timedelta(milliseconds=1500)),
        input={"messages": [{"role": "user", "content": f'question {n}, "quoted", ü'}]},
        output="plain text answer" if n % 2 else {"answer": n, "ok": True},
        metadata={"n": n, "nested": {"list": [1, 2.5, None]}},
        session_id=f"session-{n // 50}",
        user_id=f"user-{n % 7}",
        tags=["bulk", "even" if n % 2 == 0 else "odd"],
        environment="production",
        release="1.2.3" if n % 2 else None,
        spans=[
            span(
                started_at=iso(started),
                model="gpt-4o-mini",
                token_usage={"prompt_tokens": n % 100, "completion_tokens": 3},
                cost={"total": 0.001},
                input={"prompt": f"p{n}"},
                output={"text": f"o{n}"},
            )
        ],
    )


async def _ingest(client: httpx.AsyncClient, traces: list[dict[str, Any]]) -> None:
    for start in range(0, len(traces), 1000):
        response = await client.post("/traces/batch", json={"traces": traces[start : start + 1000]})
        assert response.status_code == 200, response.text
        assert response.json()["rejected"] == 0, response.text


async def _export(client: httpx.AsyncClient, **params: Any) -> httpx.Response:
    response = await client.get(EXPORT, params=params)
    assert response.status_code == 200, response.text
    return response


def _jsonl(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.headers["content-type"] == "application/x-ndjson"
    return [json.loads(line) for line in response.text.splitlines()]


def _csv(response: httpx.Response) -> list[dict[str, str]]:
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    reader = csv.DictReader(io.StringIO(response.text, newline=""))
    assert reader.fieldnames == CSV_COLUMNS
    return list(reader)


def _exactly_once(ids: list[str], expected: set[str]) -> None:
    assert len(ids) == len(expected)
    assert set(ids) == expected


async def test_ten_thousand_traces_as_jsonl_and_csv(tenant: Tenant) -> None:
    sent = [_bulk_trace(n) for n in range(10_000)]
    await _ingest(tenant.client, sent)
    by_id = {t["trace_id"]: t for t in sent}

    response = await _export(tenant.client)
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="traces-') and disposition.endswith(
        '.jsonl"'
    )
    rows = _jsonl(response)
    _exactly_once([r["trace_id"] for r in rows], set(by_id))
    assert [(r["started_at"], r["trace_id"]) for r in rows] == sorted(
        (r["started_at"], r["trace_id"]) for r in rows
    )  # oldest first
    for row in rows:
        body = by_id[row["trace_id"]]
        for key in ("name", "status", "input", "output", "metadata", "started_at", "ended_at",
                    "session_id", "user_id", "tags", "environment", "release"):  # fmt: skip
            assert row[key] == body[key], key
        [got_span] = row["spans"]
        [sent_span] = body["spans"]
        for key in ("span_id", "model", "token_usage", "cost", "input", "output"):
            assert got_span[key] == sent_span[key], key
    for row in rows[:: len(rows) // 20]:  # the detail endpoint's shape, exactly
        assert row == await get_trace(tenant.client, row["trace_id"])

    records = _csv(await _export(tenant.client, format="csv"))
    _exactly_once([r["trace_id"] for r in records], set(by_id))
    listed = (await tenant.client.get("/traces", params={"limit": 1})).json()["items"][0]
    [same] = [r for r in records if r["trace_id"] == listed["trace_id"]]
    for key in LIST_COLUMNS:  # the list's values, as CSV text
        value = listed[key]
        expected = (
            json.dumps(value, separators=(",", ":")) if isinstance(value, list) else str(value)
        )
        assert same[key] == ("" if value is None else expected), key
    for record in records:
        body = by_id[record["trace_id"]]
        assert json.loads(record["tags"]) == body["tags"]
        for key in ("input", "output", "metadata"):  # JSON text: "text" stays a string
            assert json.loads(record[key]) == body[key], key
        assert record["release"] == (body["release"] or "")
        assert record["started_at"] == body["started_at"]
        assert (record["span_count"], record["total_cost"]) == ("1", "0.001")
        assert int(record["total_tokens"]) == body["spans"][0]["token_usage"]["prompt_tokens"] + 3


async def _seed_for_filters(tenant: Tenant) -> list[dict[str, Any]]:
    bodies = []
    for n in range(24):
        bodies.append(
            await post_trace(
                tenant.client,
                name=["Alpha_run", "beta 100%", "gamma"][n % 3],
                status=["COMPLETED", "ERROR", "RUNNING"][n % 3],
                started_at=iso(T0 + timedelta(minutes=n // 2)),  # pairs tie
                session_id=f"s{n % 4}",
                user_id=f"u{n % 5}",
                tags=[["prod", "eu"], ["beta"], []][n % 3],
                spans=[span()] if n % 2 else [],
            )
        )
    return bodies


FILTERS: list[dict[str, Any]] = [
    {},
    {"status": "ERROR"},
    {"user_id": "u1"},
    {"session_id": "s2"},
    {"tags": ["eu", "beta"]},
    {"tags": "beta"},
    {"name": "100%"},
    {"name": "alpha"},
    {"started_after": iso(T0 + timedelta(minutes=3)),
     "started_before": iso(T0 + timedelta(minutes=8))},
    {"status": "COMPLETED", "user_id": "u3", "tags": "prod"},
]  # fmt: skip


@pytest.mark.parametrize("params", FILTERS)
async def test_export_applies_the_list_filters(
    app: FastAPI, tenant: Tenant, params: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export_service, "PAGE_ROWS", 5)  # many pages from a few traces
    monkeypatch.setattr(export_service, "PAGE_ROWS_WITH_SPANS", 3)
    await _seed_for_filters(tenant)
    other = await new_tenant(app, tenant.client)  # same names, users, sessions and tags
    for n in range(6):
        await tenant.client.post(
            "/traces",
            json=trace(name="Alpha_run", status="ERROR", user_id="u1", session_id="s2",
                       tags=["eu", "beta", "prod"], started_at=iso(T0 + timedelta(minutes=n))),
            headers=other.headers(),
        )  # fmt: skip
    await tenant.client.post("/traces", json=trace(user_id="u1"), headers=tenant.headers("p2"))

    listed = await tenant.client.get("/traces", params={**params, "limit": 200})
    expected = {item["trace_id"] for item in listed.json()["items"]}
    assert expected or not params
    for fmt in ("jsonl", "csv"):
        response = await _export(tenant.client, **params, format=fmt)
        rows = _jsonl(response) if fmt == "jsonl" else _csv(response)
        _exactly_once([r["trace_id"] for r in rows], expected)


async def test_other_tenants_traces_never_appear(app: FastAPI, tenant: Tenant) -> None:
    mine = await post_trace(tenant.client, user_id="shared")
    other = await new_tenant(app, tenant.client)
    for _ in range(3):
        await tenant.client.post("/traces", json=trace(user_id="shared"), headers=other.headers())
    await tenant.client.post("/traces", json=trace(user_id="shared"), headers=tenant.headers("p2"))
    for fmt in ("jsonl", "csv"):
        response = await _export(tenant.client, format=fmt)
        rows = _jsonl(response) if fmt == "jsonl" else _csv(response)
        assert [r["trace_id"] for r in rows] == [mine["trace_id"]]
    other_rows = _jsonl(
        await tenant.client.get(EXPORT, params={"user_id": "shared"}, headers=other.headers())
    )
    assert len(other_rows) == 3 and mine["trace_id"] not in {r["trace_id"] for r in other_rows}


async def test_without_spans_and_empty_exports(tenant: Tenant) -> None:
    body = await post_trace(tenant.client, spans=[span(), span()])
    [row] = _jsonl(await _export(tenant.client, include_spans="false"))
    detail = await get_trace(tenant.client, body["trace_id"])
    assert "spans" not in row and row == {k: v for k, v in detail.items() if k != "spans"}
    [with_spans] = _jsonl(await _export(tenant.client, include_spans="true"))
    assert with_spans == detail
    assert _csv(await _export(tenant.client, format="csv", include_spans="false"))

    empty = await _export(tenant.client, user_id="nobody")
    assert empty.text == ""
    header_only = await _export(tenant.client, user_id="nobody", format="csv")
    assert header_only.text == ",".join(CSV_COLUMNS) + "\r\n"
    assert header_only.headers["content-disposition"].endswith('.csv"')


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"format": "xml"}, "query -> format"),
        ({"include_spans": "maybe"}, "query -> include_spans"),
        ({"status": "FOO"}, "query -> status"),
        ({"started_after": "not-a-date"}, "query -> started_after"),
        ({"name": "a\x00b"}, "query -> name"),
    ],
)
async def test_bad_parameters_are_422(tenant: Tenant, params: dict[str, str], field: str) -> None:
    response = await tenant.client.get(EXPORT, params=params)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field


async def test_csv_with_spans_is_refused(tenant: Tenant) -> None:
    response = await tenant.client.get(EXPORT, params={"format": "csv", "include_spans": "true"})
    assert response.status_code == 422
    assert "use format=jsonl to export spans" in response.json()["detail"]


async def test_export_needs_credentials(client: httpx.AsyncClient) -> None:
    assert (await client.get(EXPORT)).status_code == 401

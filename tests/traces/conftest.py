"""Payload builders for the trace tests (plain dicts: the tests speak JSON over HTTP)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday


def iso(value: datetime) -> str:
    return value.isoformat()


def _ends_after(start: Any, duration: timedelta) -> str:
    """The default end of a body whose start a test moved: the same duration after it."""
    if isinstance(start, str):
        try:
            return iso(datetime.fromisoformat(start.replace("Z", "+00:00")) + duration)
        except ValueError:
            pass  # a test of a bad started_at: the end does not matter
    return iso(T0 + duration)


def span(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "span_id": str(uuid.uuid4()),
        "name": "step",
        "kind": "LLM",
        "status": "OK",
        "started_at": iso(T0),
        "ended_at": _ends_after(fields.get("started_at"), timedelta(milliseconds=500)),
    }
    body.update(fields)
    return body


def trace(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "trace_id": str(uuid.uuid4()),
        "name": "agent-run",
        "status": "COMPLETED",
        "started_at": iso(T0),
        "ended_at": _ends_after(fields.get("started_at"), timedelta(seconds=2)),
        "spans": [],
    }
    body.update(fields)
    return body


async def post_trace(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    body = trace(**fields)
    response = await client.post("/traces", json=body)
    assert response.status_code == 202, response.text
    return body


async def get_trace(client: httpx.AsyncClient, trace_id: str) -> dict[str, Any]:
    response = await client.get(f"/traces/{trace_id}")
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def total_traces(client: httpx.AsyncClient) -> int:
    response = await client.get("/traces")
    assert response.status_code == 200, response.text
    return int(response.json()["total"])

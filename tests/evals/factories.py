"""Realistic agent traces for evaluation tests, created through POST /traces."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

TERMINAL = ("COMPLETED", "FAILED")


def agent_trace(
    *,
    name: str = "support-agent",
    question: str | None = None,
    tool_calls: int = 2,
    payload_chars: int = 200,
    session_id: str | None = None,
    tags: list[str] | None = None,
    environment: str | None = "test",
    started_at: datetime | None = None,
) -> dict[str, Any]:
    """An AGENT root with LLM and TOOL children: the shape the SDK sends."""
    trace_id = str(uuid.uuid4())
    start = started_at or datetime.now(UTC) - timedelta(minutes=5)
    question = question or f"Where is my order #{uuid.uuid4().hex[:6]}? It was due yesterday."
    root = str(uuid.uuid4())
    filler = ("Order details and shipping history. " * (payload_chars // 36 + 1))[:payload_chars]
    spans: list[dict[str, Any]] = [
        {
            "span_id": root,
            "name": "agent",
            "kind": "AGENT",
            "status": "OK",
            "input": {"messages": [{"role": "user", "content": question}]},
            "output": {"messages": [{"role": "assistant", "content": "Your order ships today."}]},
            "started_at": start.isoformat(),
            "ended_at": (start + timedelta(seconds=4)).isoformat(),
        }
    ]
    at = start
    for n in range(tool_calls):
        at += timedelta(milliseconds=300)
        spans.append(
            {
                "span_id": str(uuid.uuid4()),
                "parent_span_id": root,
                "name": "plan-step",
                "kind": "LLM",
                "status": "OK",
                "model": "gpt-4o-mini",
                "input": {"messages": [{"role": "user", "content": question}]},
                "output": {"role": "assistant", "content": f"I will call lookup_order ({n})."},
                "token_usage": {"prompt_tokens": 120, "completion_tokens": 30},
                "started_at": at.isoformat(),
                "ended_at": (at + timedelta(milliseconds=250)).isoformat(),
            }
        )
        spans.append(
            {
                "span_id": str(uuid.uuid4()),
                "parent_span_id": root,
                "name": "lookup_order",
                "kind": "TOOL",
                "status": "OK",
                "input": {"order_id": f"A{n}"},
                "output": {"status": "delayed", "details": filler},
                "started_at": (at + timedelta(milliseconds=260)).isoformat(),
                "ended_at": (at + timedelta(milliseconds=290)).isoformat(),
            }
        )
    return {
        "trace_id": trace_id,
        "name": name,
        "status": "COMPLETED",
        "input": {"messages": [{"role": "user", "content": question}]},
        "output": {"messages": [{"role": "assistant", "content": "Your order ships today."}]},
        "started_at": start.isoformat(),
        "ended_at": (start + timedelta(seconds=4)).isoformat(),
        "session_id": session_id,
        "tags": tags or [],
        "environment": environment,
        "spans": spans,
    }


async def create_traces(client: httpx.AsyncClient, count: int, **kwargs: Any) -> list[str]:
    ids = []
    for _ in range(count):
        body = agent_trace(**kwargs)
        response = await client.post("/traces", json=body)
        assert response.status_code == 202, response.text
        ids.append(body["trace_id"])
    return ids


async def wait_for_run(
    client: httpx.AsyncClient, run_id: str, *, kind: str = "trace", within: float = 90.0
) -> dict[str, Any]:
    """Poll until the run is COMPLETED or FAILED (generous: CI machines are slow)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        response = await client.get(f"/evaluations/{kind}-runs/{run_id}")
        assert response.status_code == 200, response.text
        run: dict[str, Any] = response.json()
        if run["status"] in TERMINAL:
            return run
        if loop.time() > deadline:
            raise AssertionError(f"run did not finish in {within}s: {run}")
        await asyncio.sleep(0.05)


async def wait_until(
    client: httpx.AsyncClient, run_id: str, predicate: Any, within: float = 60.0
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        run: dict[str, Any] = (await client.get(f"/evaluations/trace-runs/{run_id}")).json()
        if predicate(run):
            return run
        if loop.time() > deadline:
            raise AssertionError(f"condition not reached in {within}s: {run}")
        await asyncio.sleep(0.05)

"""Custom metrics and traces whose answers are known, through the HTTP API."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.evals.factories import wait_for_run

METRICS = "/evaluations/metrics"


async def define(
    client: httpx.AsyncClient, name: str, kind: str, config: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    body = {"name": name, "kind": kind, "config": config, **extra}
    response = await client.post(METRICS, json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def trace_body(
    *,
    output: Any = "Your order ships today.",
    question: str = "Where is my order?",
    tools: tuple[str, ...] = (),
    seconds: float = 2.0,
    llm_cost: float | None = None,
    tokens: tuple[int, int] = (100, 20),
    error_spans: int = 0,
    session_id: str | None = None,
    started_at: datetime | None = None,
) -> dict[str, Any]:
    """A trace with one AGENT root, one LLM step, a TOOL step per name in ``tools`` and
    ``error_spans`` failing steps; it lasts ``seconds``."""
    start = started_at or datetime.now(UTC) - timedelta(minutes=10)
    root = str(uuid.uuid4())

    def at(ms: float) -> str:
        return (start + timedelta(milliseconds=ms)).isoformat()

    llm: dict[str, Any] = {
        "span_id": str(uuid.uuid4()), "parent_span_id": root, "name": "plan", "kind": "LLM",
        "status": "OK", "model": "gpt-4o-mini",
        "input": {"messages": [{"role": "user", "content": question}]},
        "output": {"role": "assistant", "content": "LLM step says: look the order up."},
        "token_usage": {"prompt_tokens": tokens[0], "completion_tokens": tokens[1]},
        "started_at": at(10), "ended_at": at(20),
    }  # fmt: skip
    if llm_cost is not None:
        llm["cost"] = {"total": llm_cost}
    spans: list[dict[str, Any]] = [
        {
            "span_id": root, "name": "agent", "kind": "AGENT", "status": "OK",
            "started_at": at(0), "ended_at": at(seconds * 1000),
        },
        llm,
    ]  # fmt: skip
    for n, tool in enumerate(tools):
        spans.append(
            {
                "span_id": str(uuid.uuid4()), "parent_span_id": root, "name": tool,
                "kind": "TOOL", "status": "OK", "input": {"query": f"q{n}"},
                "output": {"result": f"tool result {n}"},
                "started_at": at(30 + n), "ended_at": at(31 + n),
            }
        )  # fmt: skip
    for n in range(error_spans):
        spans.append(
            {
                "span_id": str(uuid.uuid4()), "parent_span_id": root, "name": "flaky",
                "kind": "TOOL", "status": "ERROR", "error": "timeout",
                "started_at": at(40 + n), "ended_at": at(41 + n),
            }
        )  # fmt: skip
    return {
        "trace_id": str(uuid.uuid4()),
        "name": "support-agent",
        "status": "COMPLETED",
        "input": {"messages": [{"role": "user", "content": question}]},
        "output": output,
        "started_at": at(0),
        "ended_at": at(seconds * 1000),
        "session_id": session_id,
        "spans": spans,
    }


async def post_trace(client: httpx.AsyncClient, **kwargs: Any) -> str:
    body = trace_body(**kwargs)
    response = await client.post("/traces", json=body)
    assert response.status_code == 202, response.text
    return str(body["trace_id"])


def say(text: str) -> dict[str, Any]:
    """A trace output in the SDK's conversation shape."""
    return {"messages": [{"role": "assistant", "content": text}]}


async def run_scores(
    client: httpx.AsyncClient, trace_ids: list[str], metrics: list[str], **options: Any
) -> tuple[dict[str, Any], dict[tuple[str, str], dict[str, Any]]]:
    """A batch run to its end: (the run, its scores by (trace, metric))."""
    body = {"trace_ids": trace_ids, "metrics": metrics, **options}
    response = await client.post("/evaluations/trace-runs/batch", json=body)
    assert response.status_code == 202, response.text
    run = await wait_for_run(client, response.json()["id"])
    scores = (await client.get(f"/evaluations/trace-runs/{run['id']}/scores")).json()
    return run, {(s["trace_id"], s["name"]): s for s in scores}

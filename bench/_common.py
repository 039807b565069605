"""Shared pieces of the benchmarks: realistic traces and a server process."""

from __future__ import annotations

import os
import random
import statistics
import subprocess
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # so `tests.support` is importable when run as a script

from tests.support.server import ServerProcess, running_server, start_server  # noqa: E402

__all__ = [
    "ServerProcess",
    "agent_trace",
    "percentile",
    "running_server",
    "start_server",
]

TOOLS = ["search_docs", "lookup_order", "get_weather", "send_email", "query_db"]
QUESTIONS = [
    "Where is my order #{n}?",
    "Summarise the refund policy for order {n}.",
    "What's the weather in city {n} tomorrow?",
    "Email the team the Q{n} report.",
]


def _messages(role: str, content: str) -> dict[str, Any]:
    return {"messages": [{"role": role, "content": content}]}


def agent_trace(n: int, rng: random.Random, *, spans: int = 10) -> dict[str, Any]:
    """An agent run: AGENT root, alternating LLM and TOOL steps, ~`spans` spans."""
    start = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=n * 7 + rng.random())
    question = rng.choice(QUESTIONS).format(n=n)
    root = str(uuid.uuid4())
    at = start
    span_list: list[dict[str, Any]] = [
        {
            "span_id": root,
            "name": "agent",
            "kind": "AGENT",
            "status": "OK",
            "input": _messages("user", question),
            "started_at": start.isoformat(),
        }
    ]
    for i in range(spans - 1):
        at += timedelta(milliseconds=rng.randint(50, 900))
        end = at + timedelta(milliseconds=rng.randint(20, 1500))
        if i % 2 == 0:
            span_list.append(
                {
                    "span_id": str(uuid.uuid4()),
                    "parent_span_id": root,
                    "name": "chat",
                    "kind": "LLM",
                    "status": "OK",
                    "model": "gpt-4o-mini",
                    "input": _messages("user", question + " " + "context " * rng.randint(5, 60)),
                    "output": _messages("assistant", f"I will call {rng.choice(TOOLS)} next."),
                    "token_usage": {
                        "prompt_tokens": rng.randint(200, 2000),
                        "completion_tokens": rng.randint(10, 300),
                    },
                    "started_at": at.isoformat(),
                    "ended_at": end.isoformat(),
                }
            )
        else:
            tool = rng.choice(TOOLS)
            span_list.append(
                {
                    "span_id": str(uuid.uuid4()),
                    "parent_span_id": root,
                    "name": tool,
                    "kind": "TOOL",
                    "status": "OK" if rng.random() > 0.05 else "ERROR",
                    "input": {"query": question, "limit": rng.randint(1, 10)},
                    "output": {"result": f"{tool} result " + "x" * rng.randint(10, 400)},
                    "started_at": at.isoformat(),
                    "ended_at": end.isoformat(),
                }
            )
        at = end
    span_list[0]["ended_at"] = at.isoformat()
    span_list[0]["output"] = _messages("assistant", f"Here is the answer to: {question}")
    return {
        "trace_id": str(uuid.uuid4()),
        "name": rng.choice(["support-agent", "research-agent", "ops-agent"]),
        "status": "ERROR" if rng.random() < 0.05 else "COMPLETED",
        "input": _messages("user", question),
        "output": _messages("assistant", f"Here is the answer to: {question}"),
        "started_at": start.isoformat(),
        "ended_at": at.isoformat(),
        "session_id": f"session-{n // 5}",
        "user_id": f"user-{n % 97}",
        "tags": rng.sample(["prod", "beta", "eu", "us", "vip"], k=2),
        "environment": "production",
        "spans": span_list,
    }


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[int(pct) - 1]


def backend_env(
    backend: str, env: dict[str, str], postgres_url: Callable[[], str | None]
) -> dict[str, str] | None:
    """The server environment for one backend; on PostgreSQL a fresh database, migrated.
    None (and a line saying so) when PostgreSQL is not reachable."""
    result = dict(env)
    if backend != "postgres":
        return result
    url = postgres_url()
    if url is None:
        print("postgres: not reachable, skipped")
        return None
    result["SIGHTLINE_DATABASE_URL"] = url
    subprocess.run(
        [sys.executable, "-m", "sightline", "db", "upgrade"],
        check=True,
        env={**os.environ, **result, "PYTHONPATH": str(ROOT / "src")},
        capture_output=True,
    )
    return result

"""A `sightline serve` killed with SIGKILL in the middle of a run finishes it right after a
restart: the new process sees that the old one is gone (engine/holder.py) and takes its
tasks back at once instead of waiting out their two-minute leases; the spend of the judge
calls the old process made is still counted (engine/budget.py).

The fake judge holds every request from a point on, so at the kill no answer is in flight:
what it answered is exactly what the server could have seen, and judge_calls must match.
"""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from sightline.db import migrate
from tests.conftest import _create_pg_database, _pg_admin, in_thread
from tests.fakes.openai_server import FakeJudgeServer
from tests.support.server import ServerProcess, start_server

pytestmark = pytest.mark.slow

TRACES = 200
METRICS = ["task_completion", "step_efficiency"]
RESUME_LIMIT_SECONDS = 30.0
LEASE_SECONDS = "120"  # the default: a resume that waited for the lease would take 2 min


@pytest.fixture
def server_database(backend: str) -> Iterator[dict[str, str]]:
    """A database of its own: the restarted server resumes every unfinished run it finds,
    and other tests' runs must not reach this test's judge."""
    if backend == "sqlite":
        yield {}  # the data directory's own SQLite file
        return
    name = f"sightline_crash_{uuid.uuid4().hex[:12]}"
    url = _create_pg_database(name)
    in_thread(lambda: migrate.upgrade(url))  # serve migrates only SQLite by itself
    yield {"SIGHTLINE_DATABASE_URL": url}
    in_thread(lambda: asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')))


def _trace(n: int) -> dict[str, Any]:
    start = datetime(2026, 3, 1, tzinfo=UTC) + timedelta(minutes=n)
    root = str(uuid.uuid4())
    question = f"What is the delivery status of order {n}?"
    return {
        "trace_id": str(uuid.uuid4()),
        "name": "support-agent",
        "input": {"messages": [{"role": "user", "content": question}]},
        "output": {"messages": [{"role": "assistant", "content": f"Order {n} ships today."}]},
        "started_at": start.isoformat(),
        "ended_at": (start + timedelta(seconds=3)).isoformat(),
        "spans": [
            {"span_id": root, "name": "agent", "kind": "AGENT", "started_at": start.isoformat()},
            {
                "span_id": str(uuid.uuid4()),
                "parent_span_id": root,
                "name": "lookup_order",
                "kind": "TOOL",
                "input": {"order": n},
                "output": {"status": "ships today"},
                "started_at": (start + timedelta(seconds=1)).isoformat(),
                "ended_at": (start + timedelta(seconds=2)).isoformat(),
            },
        ],
    }


def _wait_for(check: Any, timeout: float, what: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"{what} not within {timeout} s")


def _run(client: httpx.Client, run_id: str) -> dict[str, Any]:
    response = client.get(f"/evaluations/trace-runs/{run_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_killed_server_finishes_its_run_within_seconds_of_a_restart(
    server_database: dict[str, str], tmp_path: Path
) -> None:
    key = "sk_sl_" + secrets.token_hex(32)
    headers = {"X-API-Key": key, "X-Project-Name": "crash"}
    data_dir = tmp_path / "data"
    with FakeJudgeServer(latency_seconds=0.02) as judge:
        env = {
            **server_database,
            "SIGHTLINE_INIT_ORG": "crash",
            "SIGHTLINE_INIT_API_KEY": key,
            "SIGHTLINE_JUDGE_MODEL": "openai/gpt-4o-mini",
            "SIGHTLINE_JUDGE_API_BASE": judge.url,
            "SIGHTLINE_JUDGE_API_KEY": "sk-test",
            "SIGHTLINE_RUN_SCHEDULER": "false",
            "SIGHTLINE_EVAL_TASK_LEASE_SECONDS": LEASE_SECONDS,
            "SIGHTLINE_LOG_LEVEL": "info",
        }
        first: ServerProcess = start_server(data_dir, env)
        try:
            with httpx.Client(base_url=first.base_url, headers=headers, timeout=60) as client:
                traces = [_trace(n) for n in range(TRACES)]
                sent = client.post(
                    "/traces/batch",
                    content=orjson.dumps({"traces": traces}),
                    headers={"Content-Type": "application/json"},
                )
                assert sent.json()["accepted"] == TRACES, sent.status_code
                created = client.post(
                    "/evaluations/trace-runs/batch",
                    json={"trace_ids": [t["trace_id"] for t in traces], "metrics": METRICS},
                )
                assert created.status_code == 202, created.text
                run_id = created.json()["id"]
                # A third of the way (3 calls a trace: a shared extraction, 2 scorings).
                _wait_for(lambda: judge.answered >= TRACES, 120, "200 judge answers")
                judge.hold()
                time.sleep(2.0)  # > SPEND_FLUSH_SECONDS: the answered calls are recorded
                before_kill = _run(client, run_id)
            first.kill()
        finally:
            first.stop()
        answered_before_kill = judge.answered
        judge.release(drop=True)
        assert before_kill["status"] == "RUNNING", before_kill
        assert before_kill["judge_calls"] == answered_before_kill, (before_kill, judge.answered)

        restarted_at = time.monotonic()
        second = start_server(data_dir, env)
        try:
            with httpx.Client(base_url=second.base_url, headers=headers, timeout=60) as client:
                took = _wait_for(
                    lambda: _run(client, run_id)["status"] in ("COMPLETED", "FAILED"),
                    RESUME_LIMIT_SECONDS * 3,
                    "the run's completion",
                )
                took = time.monotonic() - restarted_at
                run = _run(client, run_id)
                exported = client.get(
                    "/evaluations/trace-scores/export",
                    params={"eval_run_id": run_id, "format": "jsonl"},
                )
            log = second.log()
        finally:
            second.stop()
    assert run["status"] == "COMPLETED", run
    assert took < RESUME_LIMIT_SECONDS, f"resumed run took {took:.1f} s after the restart"
    assert "took back" in log, log
    scores = [orjson.loads(line) for line in exported.text.splitlines() if line]
    pairs = [(s["trace_id"], s["name"]) for s in scores]
    assert len(pairs) == TRACES * len(METRICS) == len(set(pairs))
    assert {s["status"] for s in scores} == {"SUCCESS"}, {s["status"] for s in scores}
    assert run["judge_calls"] == judge.answered, (run["judge_calls"], judge.answered)
    assert run["judge_calls"] > answered_before_kill
    print(f"resumed and completed {took:.1f} s after the restart; judge answered {judge.answered}")

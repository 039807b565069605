"""One judge rate limit for the whole deployment: 3 × `sightline worker` with
SIGHTLINE_JUDGE_RPM=300 against a fake judge that refuses (429 + Retry-After) whatever goes
beyond 300 requests in any sliding minute. The workers share one Redis bucket, paced
evenly, so at most 1% of the judge's answers are 429s, and every pair is scored.

Without the shared bucket each worker would keep to 300 on its own: 900 a minute offered,
two thirds refused. The run needs more than a minute's allowance (360 requests), so the
test takes a little over a minute by design: that is the limit at work.
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from sightline.db import migrate
from tests.conftest import _create_pg_database, _pg_admin, in_thread, skip_or_fail
from tests.fakes.openai_server import FakeJudgeServer
from tests.support.processes import new_redis, start_worker
from tests.support.server import start_server

pytestmark = [pytest.mark.slow, pytest.mark.postgres_only]

RPM = 300
TRACES = 120  # 3 judge calls each (a shared task extraction + 2 scorings): 360 requests
METRICS = ["task_completion", "step_efficiency"]


@pytest.fixture
def pg_url(backend: str) -> Iterator[str]:
    assert backend == "postgres"
    name = f"sightline_limit_{uuid.uuid4().hex[:12]}"
    url = _create_pg_database(name)
    in_thread(lambda: migrate.upgrade(url))
    yield url
    in_thread(lambda: asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')))


def _trace(n: int) -> dict[str, object]:
    started = "2026-05-01T09:00:00+00:00"
    return {
        "trace_id": str(uuid.uuid4()),
        "name": "support-agent",
        "input": {"messages": [{"role": "user", "content": f"Refund order {n}, please."}]},
        "output": {"messages": [{"role": "assistant", "content": f"Order {n} is refunded."}]},
        "started_at": started,
        "spans": [{"name": "refund", "kind": "TOOL", "input": {"order": n},
                   "output": {"ok": True}, "started_at": started}],
    }  # fmt: skip


def test_three_workers_keep_to_one_shared_judge_limit(pg_url: str, tmp_path: Path) -> None:
    if shutil.which("redis-server") is None:
        skip_or_fail("redis-server is not installed: the scaled deployment's tests need it")
    redis = new_redis(tmp_path / "redis").start()
    key = "sk_sl_" + secrets.token_hex(32)
    workers = []
    try:
        with FakeJudgeServer(latency_seconds=0.02, rpm_limit=RPM) as judge:
            env = {
                "SIGHTLINE_DATABASE_URL": pg_url,
                "SIGHTLINE_QUEUE": "celery",
                "SIGHTLINE_REDIS_URL": redis.url,
                "SIGHTLINE_INIT_ORG": "limit",
                "SIGHTLINE_INIT_API_KEY": key,
                "SIGHTLINE_JUDGE_MODEL": "openai/gpt-4o-mini",
                "SIGHTLINE_JUDGE_API_BASE": judge.url,
                "SIGHTLINE_JUDGE_API_KEY": "sk-test",
                "SIGHTLINE_JUDGE_RPM": str(RPM),
                "SIGHTLINE_RUN_SCHEDULER": "false",
            }
            server = start_server(tmp_path / "serve", env)
            try:
                workers = [start_worker(tmp_path / f"worker-{n}", env, f"w{n}") for n in range(3)]
                headers = {"X-API-Key": key, "X-Project-Name": "limit"}
                with httpx.Client(base_url=server.base_url, headers=headers, timeout=30) as c:
                    traces = [_trace(n) for n in range(TRACES)]
                    body = orjson.dumps({"traces": traces})
                    json_type = {"Content-Type": "application/json"}
                    assert (
                        c.post("/traces/batch", content=body, headers=json_type).json()["accepted"]
                        == TRACES
                    )
                    ids = [t["trace_id"] for t in traces]
                    created = c.post(
                        "/evaluations/trace-runs/batch", json={"trace_ids": ids, "metrics": METRICS}
                    )
                    assert created.status_code == 202, created.text
                    run_url = f"/evaluations/trace-runs/{created.json()['id']}"
                    deadline = time.monotonic() + 240
                    samples: list[int] = []  # active_workers every half second
                    while (run := c.get(run_url).json())["status"] not in ("COMPLETED", "FAILED"):
                        samples.append(run["active_workers"] or 0)
                        assert time.monotonic() < deadline, run
                        time.sleep(0.5)
            finally:
                server.stop()
            statuses = dict(judge.statuses)
    finally:
        for worker in workers:
            worker.stop(timeout=30)
        redis.kill()
    assert run["status"] == "COMPLETED" and run["failed_count"] == 0, run
    assert run["evaluated_count"] == TRACES
    # Every worker shared the run (and the limit): the first to claim invited the others,
    # and all three held its tasks for most of it (the rest is the tail, when the last
    # targets are held).
    held_by_all = samples.count(3) / len(samples)
    assert held_by_all >= 2 / 3, f"workers holding the run's tasks, every 0.5 s: {samples}"
    answered = sum(statuses.values())
    assert answered >= TRACES * 2, statuses
    assert statuses.get(429, 0) <= answered // 100, statuses
    print(f"judge answers by status: {statuses}")

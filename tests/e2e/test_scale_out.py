"""The scaled deployment end to end, on real services: PostgreSQL, a Redis of the test's own
(so that it can be killed), 2 × `sightline serve`, 2 × `sightline worker`, `sightline
scheduler`, and the fake judge. Each process has a data directory of its own, as on
separate machines, so a killed worker's tasks come back by their (short) lease.

A run of 200 traces × 2 metrics completes with exactly one score per pair when a worker is
SIGKILLed mid-run, when Redis is killed mid-run and restarted empty, and when the run is
created while Redis is down; two schedulers fire a due monitor once.
"""

from __future__ import annotations

import asyncio
import random
import secrets
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from sightline.db import migrate
from tests.conftest import PG_ADMIN_URL, _create_pg_database, _pg_admin, in_thread, skip_or_fail
from tests.fakes.openai_server import FakeJudgeServer
from tests.support.processes import (
    Process,
    RedisServer,
    new_redis,
    run_sightline,
    start_sightline,
    start_worker,
)
from tests.support.server import ServerProcess, start_server

pytestmark = [pytest.mark.slow, pytest.mark.postgres_only]

TRACES = 200
METRICS = ["task_completion", "step_efficiency"]
RUN_TIMEOUT_SECONDS = 120.0


@dataclass
class Deployment:
    root: Path
    env: dict[str, str]
    database: str
    redis: RedisServer
    judge: FakeJudgeServer
    servers: list[ServerProcess]
    workers: list[Process]
    schedulers: list[Process] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def client(self, n: int = 0) -> httpx.Client:
        base = self.servers[n % len(self.servers)].base_url
        return httpx.Client(base_url=base, headers=self.headers, timeout=30)

    def start_worker(self, n: int) -> Process:
        return start_worker(self.root / f"worker-{n}", self.env, f"worker-{n}-{time.time_ns()}")

    def start_scheduler(self, n: int) -> Process:
        scheduler = start_sightline(
            ["scheduler"], self.root / f"scheduler-{n}", self.env, f"scheduler-{n}"
        )
        scheduler.wait_for_log("scheduler started")
        return scheduler

    def logs(self) -> str:
        parts = [f"--- {p.log_path.name}\n{p.log()[-3000:]}" for p in self.workers]
        parts += [f"--- {p.log_path.name}\n{p.log()[-2000:]}" for p in self.schedulers]
        return "\n".join(parts)


@pytest.fixture(scope="module")
def deployment(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    assert backend == "postgres"
    if shutil.which("redis-server") is None:
        skip_or_fail("redis-server is not installed: the scaled deployment's tests need it")
    root = tmp_path_factory.mktemp("scale")
    name = f"sightline_scale_{uuid.uuid4().hex[:12]}"
    url = _create_pg_database(name)
    in_thread(lambda: migrate.upgrade(url))
    redis = new_redis(root / "redis").start()
    judge = FakeJudgeServer(latency_seconds=0.05).start()
    key = "sk_sl_" + secrets.token_hex(32)
    env = {
        "SIGHTLINE_DATABASE_URL": url,
        "SIGHTLINE_QUEUE": "celery",
        "SIGHTLINE_REDIS_URL": redis.url,
        "SIGHTLINE_INIT_ORG": "scale",
        "SIGHTLINE_INIT_API_KEY": key,
        "SIGHTLINE_JUDGE_MODEL": "openai/gpt-4o-mini",
        "SIGHTLINE_JUDGE_API_BASE": judge.url,
        "SIGHTLINE_JUDGE_API_KEY": "sk-test",
        "SIGHTLINE_RUN_SCHEDULER": "false",
        "SIGHTLINE_SCHEDULER_INTERVAL_SECONDS": "1",
        # Short, renewed every third of it: a killed worker's pairs are claimable in seconds.
        "SIGHTLINE_EVAL_TASK_LEASE_SECONDS": "6",
        "SIGHTLINE_LOG_LEVEL": "info",
    }
    servers: list[ServerProcess] = []
    workers: list[Process] = []
    dep = Deployment(root, env, name, redis, judge, servers, workers)
    dep.headers = {"X-API-Key": key, "X-Project-Name": "scale"}
    try:
        for n in range(2):  # one after the other: the first provisions the key
            servers.append(start_server(root / f"serve-{n}", env))
        workers.extend(dep.start_worker(n) for n in range(2))
        dep.schedulers.append(dep.start_scheduler(0))
        yield dep
    finally:
        for process in [*dep.schedulers, *workers]:
            process.stop(timeout=30)
        for server in servers:
            server.stop()
        redis.kill()
        judge.stop()
        in_thread(lambda: asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')))


def _trace(rng: random.Random) -> dict[str, Any]:
    n = rng.randrange(10**9)
    started = "2026-04-01T10:00:00+00:00"
    return {
        "trace_id": str(uuid.uuid4()),
        "name": "support-agent",
        "input": {"messages": [{"role": "user", "content": f"Where is order {n}?"}]},
        "output": {"messages": [{"role": "assistant", "content": f"Order {n} ships today."}]},
        "started_at": started,
        "spans": [
            {
                "name": "lookup_order",
                "kind": "TOOL",
                "input": {"order": n},
                "output": {"status": "ships today"},
                "started_at": started,
            }
        ],
    }


def _ingest(dep: Deployment) -> list[str]:
    """Fresh traces for each case: the durable judge cache would answer repeated ones."""
    rng = random.Random(time.time_ns())
    traces = [_trace(rng) for _ in range(TRACES)]
    with dep.client(0) as client:
        sent = client.post(
            "/traces/batch",
            content=orjson.dumps({"traces": traces}),
            headers={"Content-Type": "application/json"},
        )
    assert sent.json()["accepted"] == TRACES, sent.text[:500]
    return [t["trace_id"] for t in traces]


def _create_run(dep: Deployment, trace_ids: list[str]) -> str:
    with dep.client(1) as client:
        created = client.post(
            "/evaluations/trace-runs/batch", json={"trace_ids": trace_ids, "metrics": METRICS}
        )
    assert created.status_code == 202, created.text
    run_id: str = created.json()["id"]
    return run_id


def _wait_for(check: Callable[[], bool], timeout: float, what: str, dep: Deployment) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not within {timeout} s\n{dep.logs()}")
        time.sleep(0.1)


def _finished_run(dep: Deployment, run_id: str) -> dict[str, Any]:
    run: dict[str, Any] = {}

    def done() -> bool:
        nonlocal run
        with dep.client(0) as client:
            run = client.get(f"/evaluations/trace-runs/{run_id}").json()
        return run["status"] in ("COMPLETED", "FAILED")

    _wait_for(done, RUN_TIMEOUT_SECONDS, f"run {run_id} finishing", dep)
    return run


def _assert_one_score_per_pair(dep: Deployment, run_id: str, trace_ids: list[str]) -> None:
    run = _finished_run(dep, run_id)
    assert run["status"] == "COMPLETED", run
    with dep.client(1) as client:
        exported = client.get(
            "/evaluations/trace-scores/export", params={"eval_run_id": run_id}
        ).text
    scores = [orjson.loads(line) for line in exported.splitlines() if line]
    pairs = [(s["trace_id"], s["name"]) for s in scores]
    assert len(pairs) == len(set(pairs)) == TRACES * len(METRICS), (len(pairs), len(set(pairs)))
    assert {t for t, _ in pairs} == set(trace_ids)
    assert {s["status"] for s in scores} == {"SUCCESS"}


def _midway(dep: Deployment, answered_before: int) -> None:
    _wait_for(
        lambda: dep.judge.answered - answered_before >= TRACES // 2,
        RUN_TIMEOUT_SECONDS,
        "the run getting under way",
        dep,
    )


def test_a_run_spreads_over_both_workers_and_survives_a_killed_one(dep: Deployment) -> None:
    trace_ids = _ingest(dep)
    answered = dep.judge.answered
    run_id = _create_run(dep, trace_ids)
    _midway(dep, answered)
    with dep.client(0) as client:
        holders = client.get(f"/evaluations/trace-runs/{run_id}").json()["active_workers"]
    assert holders == 2, f"{holders} worker(s) held the run's tasks\n{dep.logs()}"
    dep.workers[0].kill()
    _assert_one_score_per_pair(dep, run_id, trace_ids)
    dep.workers[0] = dep.start_worker(0)


def test_a_worker_stopped_with_sigterm_finishes_what_it_holds_and_exits(
    dep: Deployment,
) -> None:
    ping = run_sightline(["worker", "--ping"], dep.root / "ping", dep.env)
    assert ping.returncode == 0 and ping.stdout.count("pong") == 2, (ping.stdout, ping.stderr)
    trace_ids = _ingest(dep)
    answered = dep.judge.answered
    run_id = _create_run(dep, trace_ids)
    _midway(dep, answered)
    [lock] = (dep.root / "worker-1" / "holders").glob("*.lock")
    stopping = dep.workers[1]
    stopping.stop(timeout=60)  # SIGTERM: Celery's warm shutdown
    assert stopping.process.returncode == 0, stopping.log()[-3000:]
    assert "Warm shutdown" in stopping.log()
    still_held = _psql(
        dep,
        f"SELECT count(*) FROM eval_task WHERE lease_holder = '{lock.stem}' AND status = 'RUNNING'",
    )
    assert still_held == "0", f"{still_held} task(s) still leased by the stopped worker"
    _assert_one_score_per_pair(dep, run_id, trace_ids)
    dep.workers[1] = dep.start_worker(1)


def test_a_run_survives_redis_killed_and_restarted_empty(dep: Deployment) -> None:
    trace_ids = _ingest(dep)
    answered = dep.judge.answered
    run_id = _create_run(dep, trace_ids)
    _midway(dep, answered)
    dep.redis.kill()  # no persistence: every queued message is gone
    time.sleep(2)
    dep.redis.start()
    _assert_one_score_per_pair(dep, run_id, trace_ids)


def test_a_run_created_while_redis_is_down_runs_once_it_is_back(dep: Deployment) -> None:
    trace_ids = _ingest(dep)
    dep.redis.kill()
    run_id = _create_run(dep, trace_ids)  # 202: its rows are committed
    with dep.client(0) as client:
        health = client.get("/health").json()["queue"]
        assert health == {"mode": "celery", "broker": "unreachable"}
        time.sleep(2)
        assert client.get(f"/evaluations/trace-runs/{run_id}").json()["status"] == "PENDING"
    dep.redis.start()
    _assert_one_score_per_pair(dep, run_id, trace_ids)
    with dep.client(1) as client:
        assert client.get("/health").json()["queue"] == {"mode": "celery", "broker": "ok"}


def test_two_schedulers_fire_a_due_monitor_once(dep: Deployment) -> None:
    _ingest(dep)
    dep.schedulers.append(dep.start_scheduler(1))
    with dep.client(0) as client:
        created = client.post(
            "/evaluations/monitors",
            json={"name": "yearly", "target_type": "TRACE", "metrics": ["task_completion"],
                  "cadence": "cron:0 0 1 1 *", "only_if_changed": False, "only_unscored": False,
                  "sampling_rate": 0.01},
        )  # fmt: skip
        assert created.status_code == 201, created.text
        monitor_id = created.json()["id"]
        # Due a minute ago, for both schedulers at once (each ticks every second).
        _psql(dep, f"UPDATE eval_monitor SET next_run_at = now() - interval '1 minute' "
                   f"WHERE id = '{monitor_id}'")  # fmt: skip
        runs_url = f"/evaluations/monitors/{monitor_id}/runs"
        _wait_for(lambda: client.get(runs_url).json()["total"] >= 1, 30, "the monitor's run", dep)
        time.sleep(3)  # several more ticks of both schedulers
        assert client.get(runs_url).json()["total"] == 1


def _psql(dep: Deployment, sql: str) -> str:
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + dep.database
    done = subprocess.run(["psql", url, "-qtAc", sql], check=True, capture_output=True, text=True)
    return done.stdout.strip()


@pytest.fixture
def dep(deployment: Deployment) -> Deployment:
    return deployment

"""Scale-out benchmark: evaluation on 1, 2 and 4 `sightline worker` processes (Celery over
Redis) on PostgreSQL, judge-bound.

Starts a Redis of its own, a fresh PostgreSQL database, one `sightline serve`
(SIGHTLINE_QUEUE=celery) and the fake judge (tests/fakes/openai_server.py, in this process)
answering after --latency-ms. Prints:

1. a run of --traces traces × [task_completion, step_efficiency] (cache off) on 1, 2 and 4
   workers, each with a judge concurrency of --concurrency: wall time, pairs/s and the
   speed-up over one worker (targets: >= 1.8× at 2, >= 3.2× at 4);
2. 4 workers under one shared limit of --rpm requests/min (SIGHTLINE_JUDGE_RPM, the fake
   judge refusing beyond it in any sliding minute): over --limit-seconds, the judge's
   answered requests as a share of what the limit allows in that time (target >= 90%),
   its 429s, and the run's failed pairs (target 0).

This machine is shared: compare the ratios printed within one run, not across runs.

On this 2-core machine, quiet, the defaults gave ×1.96 at 2 workers and ×3.49 at 4, and the
shared limit 99% used with 0 failed pairs. With other work on the machine the 4-worker
figure drops toward the 2-worker one: the CPU becomes the bound before the judge does.

Usage: python bench/scale.py [--traces 1000] [--latency-ms 500] [--concurrency 16]
       [--rpm 1200] [--limit-seconds 120] [--skip-limited]
"""

from __future__ import annotations

import argparse
import hashlib
import random
import secrets
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson

from _common import ROOT, agent_trace, backend_env, start_server

assert ROOT.exists()  # _common put the repository on sys.path: `tests` is importable now
from tests.fakes.openai_server import FakeJudgeServer  # noqa: E402
from tests.support.processes import Process, new_redis, start_worker  # noqa: E402

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
METRICS = ["task_completion", "step_efficiency"]
KEY = "sk_sl_" + secrets.token_hex(32)
HEADERS = {"X-API-Key": KEY, "X-Project-Name": "bench-scale"}


def _task_of(body: dict[str, Any]) -> dict[str, str]:
    digest = hashlib.sha256(str(body["messages"][-1]["content"]).encode()).hexdigest()[:12]
    return {"task": f"Answer the customer's question ({digest})", "outcome": "Answered."}


def _postgres_url() -> str | None:
    name = f"sightline_bench_scale_{uuid.uuid4().hex[:8]}"
    done = subprocess.run(["psql", PG_ADMIN, "-qc", f'CREATE DATABASE "{name}"'],
                          capture_output=True)  # fmt: skip
    return None if done.returncode else f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"


def _ingest(client: httpx.Client, count: int) -> list[str]:
    rng = random.Random(11)
    traces = [agent_trace(n, rng) for n in range(count)]
    for start in range(0, count, 250):
        chunk = traces[start : start + 250]
        sent = client.post("/traces/batch", content=orjson.dumps({"traces": chunk}),
                           headers={"Content-Type": "application/json"})  # fmt: skip
        assert sent.json()["accepted"] == len(chunk), sent.text[:300]
    return [t["trace_id"] for t in traces]


def _create_run(client: httpx.Client, trace_ids: list[str]) -> str:
    created = client.post(
        "/evaluations/trace-runs/batch",
        json={"trace_ids": trace_ids, "metrics": METRICS, "use_cache": False},
    )
    assert created.status_code == 202, created.text
    run_id: str = created.json()["id"]
    return run_id


def _wait(client: httpx.Client, run_id: str, until: float | None = None) -> dict[str, Any]:
    """Until the run is finished, or until the monotonic time `until`."""
    while True:
        run: dict[str, Any] = client.get(f"/evaluations/trace-runs/{run_id}").json()
        if run["status"] in ("COMPLETED", "FAILED"):
            return run
        if until is not None and time.monotonic() >= until:
            return run
        time.sleep(0.2)


def _workers(root: Path, env: dict[str, str], count: int, tag: str) -> list[Process]:
    return [start_worker(root / f"{tag}-{n}", env, f"worker-{n}", concurrency=4)
            for n in range(count)]  # fmt: skip


def _stop(workers: list[Process]) -> None:
    for worker in workers:
        worker.kill()  # the run is over or abandoned: no need to wait for a warm shutdown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=500.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rpm", type=int, default=1200)
    parser.add_argument("--limit-seconds", type=float, default=120.0)
    parser.add_argument("--skip-limited", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        redis = new_redis(root / "redis").start()
        judge = FakeJudgeServer(latency_seconds=args.latency_ms / 1000).start()
        judge.answers["TaskAnswer"] = _task_of  # one per trace: nothing shared by the cache
        base_env = {
            "SIGHTLINE_QUEUE": "celery",
            "SIGHTLINE_REDIS_URL": redis.url,
            "SIGHTLINE_INIT_ORG": "bench-scale",
            "SIGHTLINE_INIT_API_KEY": KEY,
            "SIGHTLINE_JUDGE_MODEL": "openai/gpt-4o-mini",
            "SIGHTLINE_JUDGE_API_BASE": judge.url,
            "SIGHTLINE_JUDGE_API_KEY": "sk-bench",
            "SIGHTLINE_JUDGE_MAX_CONCURRENCY": str(args.concurrency),
            "SIGHTLINE_RUN_SCHEDULER": "false",
            "SIGHTLINE_LOG_LEVEL": "warning",
        }
        env = backend_env("postgres", base_env, _postgres_url)
        if env is None:
            return
        server = start_server(root / "serve", env)
        try:
            with httpx.Client(base_url=server.base_url, headers=HEADERS, timeout=60) as client:
                trace_ids = _ingest(client, args.traces)
                pairs = len(trace_ids) * len(METRICS)
                print(f"== {args.traces} traces × {METRICS} = {pairs} pairs, judge latency "
                      f"{args.latency_ms:.0f} ms, judge concurrency {args.concurrency} per "
                      "worker, PostgreSQL ==")  # fmt: skip
                rates: dict[int, float] = {}
                for count in (1, 2, 4):
                    workers = _workers(root, env, count, f"w{count}")
                    try:
                        started = time.monotonic()
                        run = _wait(client, _create_run(client, trace_ids))
                        seconds = time.monotonic() - started
                    finally:
                        _stop(workers)
                    rates[count] = pairs / seconds
                    print(f"{count} worker(s): {seconds:6.1f} s  {rates[count]:6.1f} pairs/s  "
                          f"×{rates[count] / rates[1]:.2f}  ({run['status']}, "
                          f"{run['failed_count']} failed)")  # fmt: skip
                if not args.skip_limited:
                    _limited(root, env, client, trace_ids, judge, args)
        finally:
            server.stop()
            judge.stop()
            redis.kill()
            name = env["SIGHTLINE_DATABASE_URL"].rsplit("/", 1)[1]
            subprocess.run(["psql", PG_ADMIN, "-qc", f'DROP DATABASE "{name}" WITH (FORCE)'],
                           capture_output=True)  # fmt: skip


def _limited(
    root: Path,
    env: dict[str, str],
    client: httpx.Client,
    trace_ids: list[str],
    judge: FakeJudgeServer,
    args: argparse.Namespace,
) -> None:
    judge.rpm_limit = args.rpm
    limited_env = {**env, "SIGHTLINE_JUDGE_RPM": str(args.rpm)}
    workers = _workers(root, limited_env, 4, "limited")
    try:
        before = dict(judge.statuses)
        started = time.monotonic()
        run = _wait(client, _create_run(client, trace_ids), until=started + args.limit_seconds)
        elapsed = time.monotonic() - started
        after = dict(judge.statuses)
    finally:
        _stop(workers)
    answered = after.get(200, 0) - before.get(200, 0)
    refused = after.get(429, 0) - before.get(429, 0)
    allowed = args.rpm * elapsed / 60
    print(f"\n== 4 workers, one shared limit of {args.rpm} requests/min, {elapsed:.0f} s ==")
    print(f"answered {answered} judge requests = {answered / allowed:.0%} of the "
          f"{allowed:.0f} the limit allows; {refused} answered 429; run {run['status']} "
          f"with {run['failed_count']} failed pairs")  # fmt: skip


if __name__ == "__main__":
    main()

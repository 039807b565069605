"""Dashboard page speed: the server time of the pages a person waits for, on SQLite.

Fills a project with N traces (~`--spans`-span agent traces, bench/_common.py) through the
batch API, one trace of 500 spans, and a run of 10,000 scores (a real batch run over
10,000 of the traces with one metric, evaluated by the fake judge hosted in this process),
signs in through the sign-in form, then prints p50/p95 over `--requests` sequential
requests (after a warm-up) of:

- the trace list, default (newest first, 50 a page), filtered (status; tag; name
  substring; all three at once) and sorted by duration;
- the page of the trace with 500 spans, and its span panel;
- the page of the run with 10,000 scores, and its live part (what htmx polls).

The app runs in this process and is called through httpx's ASGI transport, so the figures
are the server's time (routing, auth, queries, rendering) without a network. The target on
this machine is p95 <= 150 ms each. Prints, asserts nothing.

Usage: python bench/ui.py [--traces 100000] [--spans 5] [--requests 50]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from _common import ROOT, agent_trace, percentile

sys.path.insert(0, str(ROOT / "src"))
from tests.fakes.openai_server import FakeJudgeServer

from sightline.app import create_app
from sightline.config import Settings

API_KEY = "sk_sl_" + "a7" * 32
PROJECT = "bench-ui"
HEADERS = {"X-API-Key": API_KEY, "X-Project-Name": PROJECT}
BATCH = 1000
RUN_TARGETS = 10_000


def _big_trace(spans: int) -> dict[str, Any]:
    start = datetime(2026, 2, 1, tzinfo=UTC)
    root = str(uuid.uuid4())
    items: list[dict[str, Any]] = [
        {"span_id": root, "name": "agent", "kind": "AGENT", "started_at": start.isoformat(),
         "ended_at": (start + timedelta(seconds=spans)).isoformat()}
    ]  # fmt: skip
    parent = root
    for i in range(1, spans):
        at = start + timedelta(milliseconds=i * 900)
        span_id = str(uuid.uuid4())
        items.append(
            {
                "span_id": span_id,
                "parent_span_id": parent if i % 10 else root,
                "name": f"step-{i}",
                "kind": "LLM" if i % 2 else "TOOL",
                "model": "gpt-4o-mini" if i % 2 else None,
                "input": {"messages": [{"role": "user", "content": f"step {i} " * 40}]},
                "output": {"result": "x" * 300},
                "token_usage": {"prompt_tokens": 100, "completion_tokens": 20} if i % 2 else None,
                "started_at": at.isoformat(),
                "ended_at": (at + timedelta(milliseconds=700)).isoformat(),
            }
        )
        if i % 10 == 1:
            parent = span_id
    return {
        "trace_id": str(uuid.uuid4()),
        "name": "big-agent",
        "started_at": start.isoformat(),
        "ended_at": (start + timedelta(seconds=spans)).isoformat(),
        "spans": items,
    }


async def _fill(client: httpx.AsyncClient, count: int, spans: int) -> list[str]:
    rng = random.Random(7)
    ids: list[str] = []
    started = time.perf_counter()
    for first in range(0, count, BATCH):
        traces = [agent_trace(n, rng, spans=spans) for n in range(first, min(count, first + BATCH))]
        answer = await client.post("/traces/batch", json={"traces": traces}, headers=HEADERS)
        assert answer.status_code == 200, answer.text
        ids += [t["trace_id"] for t in traces]
    print(f"ingested {count:,} traces of ~{spans} spans in {time.perf_counter() - started:.0f} s")
    return ids


async def _run_of(client: httpx.AsyncClient, trace_ids: list[str]) -> str:
    started = time.perf_counter()
    body = {"trace_ids": trace_ids, "metrics": ["confidence"], "name": "bench run"}
    created = await client.post("/evaluations/trace-runs/batch", json=body, headers=HEADERS)
    assert created.status_code == 202, created.text
    run_id = str(created.json()["id"])
    while True:
        run = (await client.get(f"/evaluations/trace-runs/{run_id}", headers=HEADERS)).json()
        if run["status"] in ("COMPLETED", "FAILED"):
            break
        await asyncio.sleep(1)
    print(
        f"run of {len(trace_ids):,} scores: {run['status']} in "
        f"{time.perf_counter() - started:.0f} s"
    )
    return run_id


async def _sign_in(client: httpx.AsyncClient) -> None:
    page = await client.get("/ui/sign-in")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    answer = await client.post("/ui/sign-in", data={"api_key": API_KEY, "csrf_token": token[1]})
    assert answer.status_code == 303


async def _time(client: httpx.AsyncClient, label: str, url: str, requests: int) -> None:
    for _ in range(3):
        warm = await client.get(url)
        assert warm.status_code == 200, (url, warm.status_code, warm.text[-500:])
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        answer = await client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200
    p50, p95 = percentile(times, 50), percentile(times, 95)
    print(f"{label:<44} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   ({len(answer.content):,} bytes)")


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp, FakeJudgeServer() as judge:
        settings = Settings(
            data_dir=Path(tmp),
            init_org="bench",
            init_api_key=API_KEY,
            judge_model="openai/gpt-4o-mini",
            judge_api_base=judge.url,
            judge_api_key="sk-bench",
            judge_max_concurrency=128,  # the fake judge answers at once: fill the run fast
            run_scheduler=False,
            rate_limit_runs_per_second=0,
        )
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://bench", timeout=600
            ) as client:
                ids = await _fill(client, args.traces, args.spans)
                big = _big_trace(500)
                sent = await client.post("/traces", json=big, headers=HEADERS)
                assert sent.status_code == 202, sent.text
                run_id = await _run_of(client, ids[: min(RUN_TARGETS, len(ids))])
                await _sign_in(client)
                n = args.requests
                span = big["spans"][250]["span_id"]
                print(f"\nSQLite, {args.traces:,} traces, {n} requests each after a warm-up:")
                await _time(client, "traces page (default)", "/ui/traces", n)
                await _time(client, "traces page (status filter)", "/ui/traces?status=ERROR", n)
                await _time(client, "traces page (tag filter)", "/ui/traces?tags=vip", n)
                await _time(client, "traces page (name filter)", "/ui/traces?name=support", n)
                await _time(
                    client,
                    "traces page (status+name+tag filter)",
                    "/ui/traces?status=COMPLETED&name=support&tags=vip",
                    n,
                )
                await _time(
                    client, "traces page (sorted by duration)", "/ui/traces?sort_by=latency", n
                )
                await _time(client, "trace page (500 spans)", f"/ui/traces/{big['trace_id']}", n)
                await _time(
                    client,
                    "span panel (of the 500)",
                    f"/ui/traces/{big['trace_id']}/spans/{span}",
                    n,
                )
                await _time(client, "run page (10,000 scores)", f"/ui/runs/{run_id}", n)
                await _time(client, "run live part (htmx poll)", f"/ui/runs/{run_id}/live", n)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=100_000)
    parser.add_argument("--spans", type=int, default=5)
    parser.add_argument("--requests", type=int, default=50)
    asyncio.run(main(parser.parse_args()))

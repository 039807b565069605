"""Ingestion and list-latency benchmark.

Starts `sightline serve` (SQLite, then PostgreSQL when reachable) and prints:
- single-trace traces/s over the first 10 seconds after the server answers, beside the same
  10-second measurement taken once it has served a few thousand traces (the target is
  >= 80%: nothing loads beside live traffic);
- traces/s and spans/s persisted for 2,000 ~10-span agent traces sent by 8 concurrent
  clients, as single `POST /traces` and as `POST /traces/batch` (100 per request);
- p50/p95 of `GET /traces` (default page, and filtered by user_id) at 10,000 and 100,000
  stored traces.

Usage: python bench/ingest.py [--traces 2000] [--concurrency 8] [--sizes 10000,100000]
       [--backends sqlite,postgres] [--workers 1]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson

from _common import agent_trace, backend_env, percentile, running_server

API_KEY = "sk_sl_" + "be" * 32
HEADERS = {"X-API-Key": API_KEY, "X-Project-Name": "bench", "Content-Type": "application/json"}
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


async def _send_all(base: str, bodies: list[bytes], path: str, concurrency: int) -> float:
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            body = queue.get_nowait()
            response = await client.post(path, content=body)
            if response.status_code >= 300:
                raise RuntimeError(f"{path}: {response.status_code} {response.text[:300]}")

    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=base, headers=HEADERS, limits=limits, timeout=120
    ) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        return time.perf_counter() - started


def _traces(count: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [agent_trace(seed * 1_000_000 + i, rng) for i in range(count)]


async def _rate_for(base: str, seconds: float, concurrency: int, seed: int) -> float:
    """Single POST /traces for `seconds` from now, as fast as the clients go: traces/s."""
    rng = random.Random(seed)
    deadline = time.perf_counter() + seconds
    sent = 0

    async def client_loop(client: httpx.AsyncClient, lane: int) -> None:
        nonlocal sent
        n = 0
        while time.perf_counter() < deadline:
            body = orjson.dumps(agent_trace(seed * 1_000_000 + lane * 100_000 + n, rng))
            n += 1
            response = await client.post("/traces", content=body)
            if response.status_code >= 300:
                raise RuntimeError(f"/traces: {response.status_code} {response.text[:300]}")
            sent += 1

    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=base, headers=HEADERS, limits=limits, timeout=120
    ) as client:
        started = time.perf_counter()
        await asyncio.gather(*(client_loop(client, lane) for lane in range(concurrency)))
        return sent / (time.perf_counter() - started)


async def _ingest_figures(base: str, count: int, concurrency: int) -> dict[str, float]:
    singles = _traces(count, seed=1)
    spans = sum(len(t["spans"]) for t in singles)
    elapsed = await _send_all(base, [orjson.dumps(t) for t in singles], "/traces", concurrency)
    batched = _traces(count, seed=2)
    chunks = [batched[i : i + 100] for i in range(0, len(batched), 100)]
    bodies = [orjson.dumps({"traces": chunk}) for chunk in chunks]
    elapsed_batch = await _send_all(base, bodies, "/traces/batch", concurrency)
    return {
        "single_traces_s": count / elapsed,
        "single_spans_s": spans / elapsed,
        "batch_traces_s": count / elapsed_batch,
        "batch_spans_s": spans / elapsed_batch,
    }


async def _fill_to(base: str, target: int, have: int, concurrency: int) -> float:
    """Fills the store to `target` traces in batches of 500; returns the traces/s it took
    (generating the traces is not counted), which shows how ingestion holds up as the
    store grows."""
    seed = 10 + have
    sent, elapsed = 0, 0.0
    while have < target:
        n = min(5000, target - have)
        traces = _traces(n, seed=seed)
        bodies = [orjson.dumps({"traces": traces[i : i + 500]}) for i in range(0, n, 500)]
        elapsed += await _send_all(base, bodies, "/traces/batch", concurrency)
        have += n
        sent += n
        seed += 1
    return sent / elapsed if elapsed else 0.0


async def _list_latency(
    base: str, params: dict[str, str], samples: int = 200
) -> tuple[float, float]:
    timings: list[float] = []
    async with httpx.AsyncClient(base_url=base, headers=HEADERS, timeout=60) as client:
        for _ in range(10):  # warm caches
            await client.get("/traces", params=params)
        for _ in range(samples):
            started = time.perf_counter()
            response = await client.get("/traces", params=params)
            timings.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
    return percentile(timings, 50), percentile(timings, 95)


async def _bench_backend(base: str, args: argparse.Namespace) -> None:
    first = await _rate_for(base, 10.0, args.concurrency, seed=7)
    figures = await _ingest_figures(base, args.traces, args.concurrency)
    steady = await _rate_for(base, 10.0, args.concurrency, seed=8)
    print(
        f"  first 10 s after start-up: {first:6.0f} traces/s | steady 10 s: {steady:6.0f} "
        f"traces/s | first/steady {first / steady:.0%} (target >= 80%)"
    )
    print(
        f"  single POST /traces : {figures['single_traces_s']:8.0f} traces/s "
        f"{figures['single_spans_s']:9.0f} spans/s"
    )
    print(
        f"  POST /traces/batch  : {figures['batch_traces_s']:8.0f} traces/s "
        f"{figures['batch_spans_s']:9.0f} spans/s"
    )
    have = 2 * args.traces + round((first + steady) * 10)
    for size in args.sizes:
        fill_rate = await _fill_to(base, size, have, args.concurrency)
        if size > have:
            print(f"  filling {have:,} -> {size:,} (batches of 500): {fill_rate:8.0f} traces/s")
        have = max(have, size)
        p50, p95 = await _list_latency(base, {})
        fp50, fp95 = await _list_latency(base, {"user_id": "user-7"})
        print(
            f"  GET /traces @ {size:>7,}: default p50 {p50:6.1f} ms p95 {p95:6.1f} ms | "
            f"user_id filter p50 {fp50:6.1f} ms p95 {fp95:6.1f} ms"
        )


def _postgres_url() -> str | None:
    name = f"sightline_bench_{uuid.uuid4().hex[:8]}"
    done = subprocess.run(
        ["psql", PG_ADMIN, "-qc", f'CREATE DATABASE "{name}"'], capture_output=True, text=True
    )
    if done.returncode != 0:
        return None
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--workers", type=int, default=1, help="server processes (serve --workers)")
    args = parser.parse_args()
    args.sizes = [int(s) for s in args.sizes.split(",") if s]
    env = {
        "SIGHTLINE_INIT_ORG": "bench",
        "SIGHTLINE_INIT_API_KEY": API_KEY,
        "SIGHTLINE_RUN_SCHEDULER": "false",
        "SIGHTLINE_LOG_LEVEL": "warning",
        "SIGHTLINE_WORKERS": str(args.workers),
    }
    for backend in args.backends.split(","):
        prepared = backend_env(backend, env, _postgres_url)
        if prepared is None:
            continue
        print(
            f"{backend}: {args.traces} traces x ~10 spans, {args.concurrency} clients, "
            f"{args.workers} server process(es)"
        )
        with tempfile.TemporaryDirectory() as tmp, running_server(Path(tmp), prepared) as srv:
            asyncio.run(_bench_backend(srv.base_url, args))
        if backend == "postgres":
            name = prepared["SIGHTLINE_DATABASE_URL"].rsplit("/", 1)[1]
            subprocess.run(
                ["psql", PG_ADMIN, "-qc", f'DROP DATABASE "{name}" WITH (FORCE)'],
                capture_output=True,
            )


if __name__ == "__main__":
    main()

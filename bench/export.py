"""Export benchmark: GET /traces/export and its server's memory as the project grows.

Fills a project with ~10-span agent traces to each size (SQLite, then PostgreSQL when
reachable), then starts a fresh `sightline serve` process (one worker) on that database,
so the reading starts from a server that has done nothing but start (ingestion's memory is
not in it), and prints for JSONL with spans (the default; run twice), JSONL without spans
and CSV: the export's time, rows/s and size, and the server process's memory around it,
read from /proc/<pid>/status:
- RSS before the export (VmRSS);
- peak growth during it: the peak (VmHWM) minus RSS before. The peak is reset first
  (writing 5 to /proc/<pid>/clear_refs) so an earlier peak cannot hide the export's; where
  that is refused, VmRSS sampled every 5 ms stands in for it;
- RSS after it.
Constant memory means the peak growth stays the same from one size to the next while the
export's size grows with the project. On SQLite the first export also fills SQLite's page
cache (PRAGMA cache_size, 64 MB per pooled connection, db/engine.py), memory that grows
with the database up to that bound and is kept for later reads; the second run shows the
export's own need once the cache is warm.

Usage: python bench/export.py [--sizes 10000,50000] [--backends sqlite,postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson

from _common import agent_trace, backend_env, running_server

API_KEY = "sk_sl_" + "e7" * 32
HEADERS = {"X-API-Key": API_KEY, "X-Project-Name": "bench-export"}
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
BATCH = 1000  # the server's default max_batch_traces
EXPORTS: tuple[tuple[str, dict[str, str]], ...] = (
    ("jsonl + spans", {}),
    ("jsonl + spans, again", {}),
    ("jsonl, no spans", {"include_spans": "false"}),
    ("csv", {"format": "csv"}),
)


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/{pid}/status")


def _reset_peak(pid: int) -> bool:
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


class _RssSampler(threading.Thread):
    """The fallback peak: VmRSS polled while the export runs."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak_kb, self._done = pid, 0, threading.Event()

    def run(self) -> None:
        while not self._done.wait(0.005):
            self.peak_kb = max(self.peak_kb, _status_kb(self.pid, "VmRSS"))

    def stop(self) -> int:
        self._done.set()
        self.join()
        return self.peak_kb


@dataclass
class Figures:
    seconds: float
    rows: int
    megabytes: float
    rss_before_mb: float
    peak_growth_mb: float
    rss_after_mb: float
    peak_source: str


def _export(base: str, pid: int, params: dict[str, str]) -> Figures:
    rss_before = _status_kb(pid, "VmRSS")
    exact = _reset_peak(pid)
    sampler = _RssSampler(pid)
    sampler.start()
    rows = size = 0
    started = time.perf_counter()
    with (
        httpx.Client(base_url=base, headers=HEADERS, timeout=600) as client,
        client.stream("GET", "/traces/export", params=params) as response,
    ):
        response.raise_for_status()
        for chunk in response.iter_bytes():
            size += len(chunk)
            rows += chunk.count(b"\n")
    seconds = time.perf_counter() - started
    sampled = sampler.stop()
    peak = _status_kb(pid, "VmHWM") if exact else sampled
    if params.get("format") == "csv":
        rows -= 1  # the header (no cell here holds a raw newline)
    return Figures(
        seconds=seconds,
        rows=rows,
        megabytes=size / 1e6,
        rss_before_mb=rss_before / 1024,
        peak_growth_mb=max(0, peak - rss_before) / 1024,
        rss_after_mb=_status_kb(pid, "VmRSS") / 1024,
        peak_source="VmHWM" if exact else "sampled VmRSS",
    )


async def _fill(base: str, have: int, target: int, concurrency: int = 4) -> None:
    rng = random.Random(have)
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for start in range(have, target, BATCH):
        traces = [agent_trace(n, rng) for n in range(start, min(start + BATCH, target))]
        queue.put_nowait(orjson.dumps({"traces": traces}))

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            response = await client.post("/traces/batch", content=queue.get_nowait())
            if response.status_code != 200 or response.json()["rejected"]:
                raise RuntimeError(f"batch: {response.status_code} {response.text[:300]}")

    headers = {**HEADERS, "Content-Type": "application/json"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=300) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))


def _analyze(database_url: str) -> None:
    """Fresh statistics after the fill. Autovacuum would gather them within a minute or so
    of a bulk load, but the bench measures seconds later, and a PostgreSQL run with
    autovacuum off never would: planned on an empty table's statistics, each page's queries
    scan what remains of the table instead of the index range (measured: 50,000 traces at
    500 rows/s instead of 1,900)."""
    psql_url = database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    subprocess.run(["psql", psql_url, "-qc", "ANALYZE"], check=True, capture_output=True)


def _bench_backend(data_dir: Path, env: dict[str, str], sizes: list[int]) -> None:
    have = 0
    for size in sizes:
        with running_server(data_dir, env) as srv:
            started = time.perf_counter()
            asyncio.run(_fill(srv.base_url, have, size))
            print(f"  filled {have:,} -> {size:,} traces in {time.perf_counter() - started:.1f} s")
        if "SIGHTLINE_DATABASE_URL" in env:
            _analyze(env["SIGHTLINE_DATABASE_URL"])
        have = size
        with running_server(data_dir, env) as srv:  # fresh: see the docstring
            for label, params in EXPORTS:
                f = _export(srv.base_url, srv.process.pid, params)
                assert f.rows == size, f"{label}: exported {f.rows} rows of {size}"
                print(
                    f"  @ {size:>6,} {label:<20}: {f.seconds:5.1f} s "
                    f"{f.rows / f.seconds:6.0f} rows/s {f.megabytes:6.1f} MB | RSS before "
                    f"{f.rss_before_mb:5.0f} MB, peak growth {f.peak_growth_mb:5.1f} MB "
                    f"({f.peak_source}), after {f.rss_after_mb:5.0f} MB"
                )


def _postgres_database() -> str | None:
    name = f"sightline_bench_{uuid.uuid4().hex[:8]}"
    done = subprocess.run(
        ["psql", PG_ADMIN, "-qc", f'CREATE DATABASE "{name}"'], capture_output=True, text=True
    )
    return None if done.returncode else f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,50000")
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(",") if s)
    env = {
        "SIGHTLINE_INIT_ORG": "bench",
        "SIGHTLINE_INIT_API_KEY": API_KEY,
        "SIGHTLINE_RUN_SCHEDULER": "false",
        "SIGHTLINE_LOG_LEVEL": "warning",
        "SIGHTLINE_WORKERS": "1",  # the process measured is the one that serves
    }
    for backend in args.backends.split(","):
        prepared = backend_env(backend, env, _postgres_database)
        if prepared is None:
            continue
        print(f"{backend}: ~10-span agent traces, one server process")
        with tempfile.TemporaryDirectory() as tmp:
            _bench_backend(Path(tmp), prepared, sizes)
        if backend == "postgres":
            name = prepared["SIGHTLINE_DATABASE_URL"].rsplit("/", 1)[1]
            subprocess.run(
                ["psql", PG_ADMIN, "-qc", f'DROP DATABASE "{name}" WITH (FORCE)'],
                capture_output=True,
            )


if __name__ == "__main__":
    main()

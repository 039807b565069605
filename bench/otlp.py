"""OTLP ingestion benchmark: spans/s persisted through POST /v1/traces, beside POST
/traces/batch on the same store in the same run.

Starts `sightline serve` (SQLite, then PostgreSQL when reachable). The same ~10-span agent
traces (bench/_common.py) are sent twice, as fresh IDs each time:
- as OTLP protobuf exports of 512 spans each (the BatchSpanProcessor's default batch), by 4
  concurrent exporters; spans in the order they end (children before their root), so a
  trace's spans may straddle two exports, as with a real exporter; once plain, once gzipped;
- as POST /traces/batch of 100 traces per request, by the same number of clients.
Every request must succeed with nothing rejected; the figure is spans/s until the last
answer (an answer means committed). Beside it, the server process's CPU time per span
(all its threads; PostgreSQL's own processes not counted): on a shared machine the
wall-clock figures of two runs differ by a third, the CPU per span much less.

Usage: python bench/otlp.py [--traces 4000] [--concurrency 4] [--batch-spans 512]
       [--backends sqlite,postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import random
import subprocess
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from _common import agent_trace, backend_env, running_server
from ingest import PG_ADMIN, _postgres_url

API_KEY = "sk_sl_" + "07" * 32
HEADERS = {"X-API-Key": API_KEY, "X-Project-Name": "bench"}


def _value(value: Any) -> AnyValue:
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, list):
        return AnyValue(array_value=ArrayValue(values=[_value(v) for v in value]))
    return AnyValue(string_value=str(value))


def _nanos(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1_000_000) * 1000


def _attributes(span: dict[str, Any], trace: dict[str, Any]) -> dict[str, Any]:
    """What OpenInference's instrumentors set on such a span."""
    attrs: dict[str, Any] = {"openinference.span.kind": span["kind"]}
    if span["kind"] == "LLM":
        attrs["llm.model_name"] = span["model"]
        for side, payload in (("input", span["input"]), ("output", span["output"])):
            for i, message in enumerate(payload["messages"]):
                attrs[f"llm.{side}_messages.{i}.message.role"] = message["role"]
                attrs[f"llm.{side}_messages.{i}.message.content"] = message["content"]
        attrs["llm.token_count.prompt"] = span["token_usage"]["prompt_tokens"]
        attrs["llm.token_count.completion"] = span["token_usage"]["completion_tokens"]
    else:
        attrs["input.value"] = json.dumps(span["input"])
        attrs["input.mime_type"] = "application/json"
        if span.get("output") is not None:
            attrs["output.value"] = json.dumps(span["output"])
            attrs["output.mime_type"] = "application/json"
    if span.get("parent_span_id") is None:
        attrs.update({"session.id": trace["session_id"], "user.id": trace["user_id"]})
        attrs["tag.tags"] = trace["tags"]
    return attrs


def _otlp_spans(trace: dict[str, Any]) -> list[Span]:
    trace_id = uuid.UUID(trace["trace_id"]).bytes
    ids = {s["span_id"]: os.urandom(8) for s in trace["spans"]}
    spans = []
    for span in trace["spans"]:
        parent = span.get("parent_span_id")
        spans.append(
            Span(
                trace_id=trace_id,
                span_id=ids[span["span_id"]],
                parent_span_id=ids[parent] if parent else b"",
                name=span["name"],
                start_time_unix_nano=_nanos(span["started_at"]),
                end_time_unix_nano=_nanos(span["ended_at"]),
                attributes=[
                    KeyValue(key=k, value=_value(v)) for k, v in _attributes(span, trace).items()
                ],
                status=Status(
                    code=Status.STATUS_CODE_ERROR
                    if span["status"] == "ERROR"
                    else Status.STATUS_CODE_OK
                ),
            )
        )
    return spans[1:] + spans[:1]  # the root ends last


def _exports(traces: list[dict[str, Any]], per_request: int) -> list[bytes]:
    spans = [s for t in traces for s in _otlp_spans(t)]
    resource = Resource(attributes=[KeyValue(key="service.name", value=_value("bench-agent"))])
    bodies = []
    for start in range(0, len(spans), per_request):
        request = ExportTraceServiceRequest(
            resource_spans=[
                ResourceSpans(
                    resource=resource,
                    scope_spans=[ScopeSpans(spans=spans[start : start + per_request])],
                )
            ]
        )
        bodies.append(request.SerializeToString())
    return bodies


async def _send(
    base: str, path: str, bodies: list[bytes], headers: dict[str, str], clients: int
) -> float:
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)

    async def client_loop(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            response = await client.post(path, content=queue.get_nowait())
            if response.status_code != 200:
                raise RuntimeError(f"{path}: {response.status_code} {response.text[:300]}")
            if path == "/v1/traces":
                answer = ExportTraceServiceResponse.FromString(response.content)
                if answer.partial_success.rejected_spans:
                    raise RuntimeError(f"rejected: {answer.partial_success.error_message}")

    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(
        base_url=base, headers={**HEADERS, **headers}, limits=limits, timeout=120
    ) as client:
        started = time.perf_counter()
        await asyncio.gather(*(client_loop(client) for _ in range(clients)))
        return time.perf_counter() - started


def _cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (Linux: /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _traces(count: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [agent_trace(seed * 1_000_000 + i, rng) for i in range(count)]


async def _bench_backend(base: str, pid: int, args: argparse.Namespace) -> None:
    await _send(base, "/traces/batch", [orjson.dumps({"traces": _traces(50, 99)})], {}, 1)  # warm
    protobuf = {"Content-Type": "application/x-protobuf"}
    runs = [
        ("OTLP protobuf      ", 1, False),
        ("OTLP protobuf gzip ", 2, True),
        ("POST /traces/batch ", 3, None),
    ]
    for label, seed, gzipped in runs:
        traces = _traces(args.traces, seed)
        spans = sum(len(t["spans"]) for t in traces)
        cpu = _cpu_seconds(pid)
        if gzipped is None:
            chunks = [traces[i : i + 100] for i in range(0, len(traces), 100)]
            bodies = [orjson.dumps({"traces": chunk}) for chunk in chunks]
            elapsed = await _send(base, "/traces/batch", bodies, {}, args.concurrency)
            detail = f"{len(bodies)} requests of 100 traces"
        else:
            bodies = _exports(traces, args.batch_spans)
            headers = dict(protobuf)
            if gzipped:
                bodies = [gzip.compress(b) for b in bodies]
                headers["Content-Encoding"] = "gzip"
            elapsed = await _send(base, "/v1/traces", bodies, headers, args.concurrency)
            detail = f"{len(bodies)} exports of {args.batch_spans} spans"
        cpu_us = (_cpu_seconds(pid) - cpu) / spans * 1e6
        print(
            f"  {label}: {spans / elapsed:8.0f} spans/s  {cpu_us:4.0f} µs server CPU/span  "
            f"({spans} spans, {detail}, {elapsed:.2f} s)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--batch-spans", type=int, default=512)
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args()
    env = {
        "SIGHTLINE_INIT_ORG": "bench",
        "SIGHTLINE_INIT_API_KEY": API_KEY,
        "SIGHTLINE_RUN_SCHEDULER": "false",
        "SIGHTLINE_LOG_LEVEL": "warning",
    }
    for backend in args.backends.split(","):
        prepared = backend_env(backend, env, _postgres_url)
        if prepared is None:
            continue
        print(f"{backend}: {args.traces} traces x ~10 spans per run, {args.concurrency} clients")
        with tempfile.TemporaryDirectory() as tmp, running_server(Path(tmp), prepared) as srv:
            asyncio.run(_bench_backend(srv.base_url, srv.process.pid, args))
        if backend == "postgres":
            name = prepared["SIGHTLINE_DATABASE_URL"].rsplit("/", 1)[1]
            subprocess.run(
                ["psql", PG_ADMIN, "-qc", f'DROP DATABASE "{name}" WITH (FORCE)'],
                capture_output=True,
            )


if __name__ == "__main__":
    main()

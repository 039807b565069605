"""GET /traces/analytics: volume/errors/latency, cost/tokens and models."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.conftest import Tenant
from tests.traces.conftest import T0, iso, post_trace, span

DAY0 = T0.replace(hour=0)  # Monday 2026-03-02
WINDOW = {
    "started_after": iso(T0 - timedelta(days=7)),
    "started_before": iso(T0 + timedelta(days=14)),
}


async def _analytics(tenant: Tenant, **params: Any) -> Any:
    response = await tenant.client.get("/traces/analytics", params={**WINDOW, **params})
    assert response.status_code == 200, response.text
    return response.json()


async def _trace_at(tenant: Tenant, at: Any, latency_s: float | None, **fields: Any) -> None:
    ended = None if latency_s is None else iso(at + timedelta(seconds=latency_s))
    await post_trace(tenant.client, started_at=iso(at), ended_at=ended, **fields)


async def test_volume_errors_latency(tenant: Tenant) -> None:
    for i, latency in enumerate([1, 2, 3, 4]):
        await _trace_at(
            tenant, T0 + timedelta(minutes=i), latency, status="ERROR" if i else "COMPLETED"
        )
    await _trace_at(tenant, T0 + timedelta(minutes=5), None)  # open: counted, no latency
    await _trace_at(tenant, T0 + timedelta(days=1, hours=3), 10, status="ERROR")
    await _trace_at(tenant, T0 + timedelta(days=30), 1)  # outside the window

    expected = [
        {
            "bucket": iso(DAY0),
            "trace_count": 5,
            "error_count": 3,
            "avg_latency_ms": 2500.0,
            "p50_latency_ms": 2500.0,
            "p90_latency_ms": pytest.approx(3700.0),
            "p99_latency_ms": pytest.approx(3970.0),
        },
        {
            "bucket": iso(DAY0 + timedelta(days=1)),
            "trace_count": 1,
            "error_count": 1,
            "avg_latency_ms": 10000.0,
            "p50_latency_ms": 10000.0,
            "p90_latency_ms": 10000.0,
            "p99_latency_ms": 10000.0,
        },
    ]
    for metric in ("volume", "errors", "latency"):
        assert await _analytics(tenant, metric=metric) == expected
    assert await _analytics(tenant) == expected  # volume and day are the defaults

    hourly = await _analytics(tenant, granularity="hour")
    assert [b["bucket"] for b in hourly] == [iso(T0), iso(DAY0 + timedelta(days=1, hours=13))]
    weekly = await _analytics(tenant, granularity="week")
    assert [(b["bucket"], b["trace_count"]) for b in weekly] == [(iso(DAY0), 6)]


async def test_week_buckets_start_on_monday(tenant: Tenant) -> None:
    sunday = T0 - timedelta(days=1, hours=1)  # Sunday 09:00
    await _trace_at(tenant, sunday, 1)
    await _trace_at(tenant, T0 + timedelta(days=6, hours=13), 1)  # Sunday 23:00
    weekly = await _analytics(tenant, granularity="week")
    assert [(b["bucket"], b["trace_count"]) for b in weekly] == [
        (iso(DAY0 - timedelta(days=7)), 1),
        (iso(DAY0), 1),
    ]


async def test_cost_and_tokens_use_span_start(tenant: Tenant) -> None:
    spans = [
        span(
            started_at=iso(T0),
            token_usage={"prompt_tokens": 10, "completion_tokens": 2},
            cost={"total": 0.25},
        ),
        span(
            started_at=iso(T0 + timedelta(days=1)),
            token_usage={"prompt_tokens": 1},
            cost={"total": 1.0},
        ),
        span(started_at=iso(T0 + timedelta(days=1)), token_usage={"completion_tokens": 4}),
    ]
    await post_trace(tenant.client, spans=spans)
    expected = [
        {
            "bucket": iso(DAY0),
            "total_tokens": 12,
            "prompt_tokens": 10,
            "completion_tokens": 2,
            "total_cost": 0.25,
        },
        {
            "bucket": iso(DAY0 + timedelta(days=1)),
            "total_tokens": 5,
            "prompt_tokens": 1,
            "completion_tokens": 4,
            "total_cost": 1.0,
        },
    ]
    assert await _analytics(tenant, metric="cost") == expected
    assert await _analytics(tenant, metric="tokens") == expected
    weekly = await _analytics(tenant, metric="tokens", granularity="week")
    assert weekly == [
        {
            "bucket": iso(DAY0),
            "total_tokens": 17,
            "prompt_tokens": 11,
            "completion_tokens": 6,
            "total_cost": 1.25,
        }
    ]
    hourly = await _analytics(tenant, metric="cost", granularity="hour")
    assert [b["bucket"] for b in hourly] == [iso(T0), iso(T0 + timedelta(days=1))]


async def test_models_top_ten(tenant: Tenant) -> None:
    spans = [span(model=f"model-{i:02d}") for i in range(12) for _ in range(i + 1)]
    spans.append(span(model="model-11", token_usage={"prompt_tokens": 5}, cost={"total": 0.5}))
    spans.append(span(model=None))
    await post_trace(tenant.client, spans=spans)
    models = await _analytics(tenant, metric="models", granularity="hour")
    assert len(models) == 10
    assert models[0] == {
        "model": "model-11",
        "call_count": 13,
        "total_tokens": 5,
        "total_cost": 0.5,
    }
    assert [m["model"] for m in models] == [f"model-{i:02d}" for i in range(11, 1, -1)]


async def test_empty_window(tenant: Tenant) -> None:
    for metric in ("volume", "cost", "models"):
        assert await _analytics(tenant, metric=metric) == []

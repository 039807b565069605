"""Trace analytics and the users list. Latency percentiles are continuous (as PostgreSQL's
percentile_cont) and computed here, so both databases give the same numbers."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from sightline.identity.schemas import Scope
from sightline.kit.pagination import Page
from sightline.kit.statuses import TraceStatus
from sightline.traces.analytics import repository as analytics_repo
from sightline.traces.analytics.schemas import (
    AnalyticsBucket,
    TokenCostBucket,
    TopModel,
    UserSummary,
)
from sightline.traces.filters import AnalyticsMetric, Granularity, Window
from sightline.traces.filters import Page as PageParams

Analytics = list[AnalyticsBucket] | list[TokenCostBucket] | list[TopModel]


def bucket_start(value: datetime, granularity: Granularity) -> datetime:
    """Start of the UTC hour, day or (Monday-first) week that holds `value`."""
    value = analytics_repo.as_utc(value)
    if granularity is Granularity.hour:
        return value.replace(minute=0, second=0, microsecond=0)
    day = value.replace(hour=0, minute=0, second=0, microsecond=0)
    if granularity is Granularity.day:
        return day
    return day - timedelta(days=day.weekday())


def mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def percentile(ordered: Sequence[float], fraction: float) -> float | None:
    """Linear interpolation between closest ranks (percentile_cont) over sorted values."""
    if not ordered:
        return None
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _group_points(
    points: Sequence[Sequence[Any]], granularity: Granularity
) -> dict[datetime, tuple[int, int, list[float]]]:
    """(traces, errors, sorted latencies) per bucket start, ascending."""
    counts: dict[datetime, list[int]] = defaultdict(lambda: [0, 0])
    latencies: dict[datetime, list[float]] = defaultdict(list)
    for started_at, status, latency in points:
        start = bucket_start(started_at, granularity)
        counts[start][0] += 1
        counts[start][1] += status == TraceStatus.ERROR
        if latency is not None:  # open traces have no latency
            latencies[start].append(latency)
    return {
        start: (counts[start][0], counts[start][1], sorted(latencies[start]))
        for start in sorted(counts)
    }


async def _trace_buckets(db: AsyncSession, scope: Scope, window: Window) -> list[AnalyticsBucket]:
    points = await analytics_repo.trace_points(db, scope.project_id, window)
    return [
        AnalyticsBucket(
            bucket=start.isoformat(),
            trace_count=count,
            error_count=errors,
            avg_latency_ms=mean(ordered),
            p50_latency_ms=percentile(ordered, 0.5),
            p90_latency_ms=percentile(ordered, 0.9),
            p99_latency_ms=percentile(ordered, 0.99),
        )
        for start, (count, errors, ordered) in _group_points(points, window.granularity).items()
    ]


@dataclass(frozen=True, slots=True)
class TraceStats:
    """One bucket of the dashboard's overview: volume, errors and latency p50/p95."""

    start: datetime
    trace_count: int
    error_count: int
    p50_latency_ms: float | None
    p95_latency_ms: float | None


async def trace_stats(db: AsyncSession, scope: Scope, window: Window) -> list[TraceStats]:
    points = await analytics_repo.trace_points(db, scope.project_id, window)
    return [
        TraceStats(start, count, errors, percentile(ordered, 0.5), percentile(ordered, 0.95))
        for start, (count, errors, ordered) in _group_points(points, window.granularity).items()
    ]


async def trace_analytics(
    db: AsyncSession, scope: Scope, metric: AnalyticsMetric, window: Window
) -> Analytics:
    if metric in (AnalyticsMetric.volume, AnalyticsMetric.errors, AnalyticsMetric.latency):
        return await _trace_buckets(db, scope, window)
    if metric is AnalyticsMetric.models:
        rows = await analytics_repo.top_models(db, scope.project_id, window)
        return [
            TopModel(model=m, call_count=calls, total_tokens=int(tokens), total_cost=float(cost))
            for m, calls, tokens, cost in rows
        ]
    usage = await analytics_repo.usage_buckets(db, scope.project_id, window)
    return [
        TokenCostBucket(
            bucket=start.isoformat(),
            total_tokens=prompt + completion,
            prompt_tokens=prompt,
            completion_tokens=completion,
            total_cost=cost,
        )
        for start, prompt, completion, cost in usage
    ]


async def list_users(db: AsyncSession, scope: Scope, page: PageParams) -> Page[UserSummary]:
    rows, total = await analytics_repo.list_users(db, scope.project_id, page)
    items = [
        UserSummary(
            user_id=user_id,
            trace_count=count,
            first_seen=first,
            last_seen=last,
            error_count=int(errors or 0),
        )
        for user_id, count, first, last, errors in rows
    ]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)

"""The overview (/ui/overview): trace volume, error rate, latency p50/p95, tokens and cost
over time, score trends per metric and the top models, for the last day, week, month or
quarter, from the same analytics services as /traces/analytics and the score analytics."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from sightline.db.types import utcnow
from sightline.dependencies import DbDep
from sightline.evals.scores.analytics import service as score_analytics
from sightline.evals.scores.analytics.schemas import Granularity as ScoreGranularity
from sightline.evals.scores.repository import ScoreFilter
from sightline.traces.analytics import service as analytics
from sightline.traces.analytics.schemas import TokenCostBucket, TopModel
from sightline.traces.analytics.service import bucket_start
from sightline.traces.filters import AnalyticsMetric, Granularity, Window
from sightline.web.auth.dependencies import ViewerDep
from sightline.web.overview.charts import (
    STEP,
    Chart,
    Series,
    bar_chart,
    bucket_label,
    bucket_starts,
    line_chart,
)
from sightline.web.rendering import duration, number, render, usd

router = APIRouter()
MAX_SCORE_CHARTS = 12


@dataclass(frozen=True, slots=True)
class Range:
    label: str
    length: timedelta
    granularity: Granularity


RANGES = {
    "24h": Range("Last 24 hours", timedelta(hours=24), Granularity.hour),
    "7d": Range("Last 7 days", timedelta(days=7), Granularity.day),
    "30d": Range("Last 30 days", timedelta(days=30), Granularity.day),
    "90d": Range("Last 90 days", timedelta(days=90), Granularity.week),
}
DEFAULT_RANGE = "7d"
SCORE_GRANULARITY: dict[Granularity, ScoreGranularity] = {
    Granularity.hour: "hour",
    Granularity.day: "day",
    Granularity.week: "week",
}


def _window(choice: Range, now: datetime) -> Window:
    """Whole buckets, ending with the one that holds now."""
    end = bucket_start(now, choice.granularity) + STEP[choice.granularity]
    start = bucket_start(end - choice.length, choice.granularity)
    return Window(start, end, choice.granularity)


def _percent(value: float) -> str:
    return f"{value * 100:.0f}%" if value >= 0.1 or value == 0 else f"{value * 100:.1f}%"


def _count(value: float) -> str:
    return number(int(value))


def _score(value: float) -> str:
    return f"{value:.2f}"


def _by_start(items: Sequence[TokenCostBucket]) -> dict[datetime, TokenCostBucket]:
    return {datetime.fromisoformat(b.bucket): b for b in items}


def _trace_charts(
    starts: list[datetime],
    labels: list[str],
    stats: Mapping[datetime, analytics.TraceStats],
    usage: Mapping[datetime, TokenCostBucket],
) -> list[Chart]:
    volume = [float(s.trace_count) if (s := stats.get(at)) else 0.0 for at in starts]
    errors = [float(s.error_count) if (s := stats.get(at)) else 0.0 for at in starts]
    rate = [s.error_count / s.trace_count if (s := stats.get(at)) else None for at in starts]
    p50 = [s.p50_latency_ms if (s := stats.get(at)) else None for at in starts]
    p95 = [s.p95_latency_ms if (s := stats.get(at)) else None for at in starts]
    prompt = [float(u.prompt_tokens) if (u := usage.get(at)) else 0.0 for at in starts]
    completion = [float(u.completion_tokens) if (u := usage.get(at)) else 0.0 for at in starts]
    cost = [u.total_cost if (u := usage.get(at)) else 0.0 for at in starts]
    return [
        bar_chart("volume", "Trace volume",
                  "Traces started per bucket, and how many ended in ERROR.",
                  labels, [Series("traces", volume), Series("errors", errors)], _count,
                  integer=True),
        line_chart("error-rate", "Error rate",
                   "Share of the bucket's traces whose status is ERROR.",
                   labels, [Series("error rate", rate)], _percent, y_max=1.0),
        line_chart("latency", "Latency p50 / p95",
                   "Median and 95th percentile of trace duration (finished traces only).",
                   labels, [Series("p50", p50), Series("p95", p95)], duration),
        bar_chart("tokens", "Tokens",
                  "Prompt and completion tokens of the spans started in the bucket.",
                  labels, [Series("prompt", prompt), Series("completion", completion)], _count,
                  integer=True),
        line_chart("cost", "Cost", "Model cost of the spans started in the bucket (USD).",
                   labels, [Series("cost", cost)], usd),
    ]  # fmt: skip


async def _score_charts(
    db: DbDep, viewer: ViewerDep, window: Window, starts: list[datetime], labels: list[str]
) -> tuple[list[Chart], int]:
    """One small chart per metric: the mean NUMERIC score per bucket (trace and session
    metrics alike), from the score analytics' summary and trends."""
    project = viewer.project_id
    where = ScoreFilter(date_from=window.started_after, date_to=window.started_before)
    granularity = SCORE_GRANULARITY[window.granularity]
    charts: list[Chart] = []
    trace_metrics = sorted(
        s.metric_name
        for s in await score_analytics.trace_summary(db, project, where)
        if s.avg_score is not None
    )
    session_metrics = sorted(
        s.metric_name
        for s in await score_analytics.session_summary(
            db, project, window.started_after, window.started_before
        )
        if s.avg_score is not None
    )
    names = [("trace", n) for n in trace_metrics] + [("session", n) for n in session_metrics]
    for kind, name in names[:MAX_SCORE_CHARTS]:
        if kind == "trace":
            points = await score_analytics.trace_trend(
                db, project, ScoreFilter(name=name, date_from=window.started_after,
                                         date_to=window.started_before), granularity,
            )  # fmt: skip
        else:
            points = await score_analytics.session_trend(
                db, project, name, window.started_after, window.started_before, granularity
            )
        means = {
            bucket_start(p.bucket, window.granularity): p.avg_score for p in points if p.bucket
        }
        counts = sum(p.count for p in points)
        charts.append(
            line_chart(
                f"score-{kind}-{name}", name,
                f"Mean {kind} score per bucket, 0 to 1 ({number(counts)} scores).",
                labels, [Series("mean score", [means.get(at) for at in starts])], _score,
                y_max=1.0,
            )
        )  # fmt: skip
    return charts, len(names)


@router.get("/overview")
async def overview(
    request: Request,
    viewer: ViewerDep,
    db: DbDep,
    range_key: Annotated[str, Query(alias="range", max_length=8)] = DEFAULT_RANGE,
) -> Response:
    key = range_key if range_key in RANGES else DEFAULT_RANGE
    choice = RANGES[key]
    window = _window(choice, utcnow())
    starts = bucket_starts(window.started_after, window.started_before, window.granularity)
    labels = [bucket_label(at, window.granularity) for at in starts]
    stats = {s.start: s for s in await analytics.trace_stats(db, viewer.scope, window)}
    usage = await analytics.trace_analytics(db, viewer.scope, AnalyticsMetric.tokens, window)
    models = await analytics.trace_analytics(db, viewer.scope, AnalyticsMetric.models, window)
    score_charts, metric_count = await _score_charts(db, viewer, window, starts, labels)
    top_models = [m for m in models if isinstance(m, TopModel)]
    return render(
        request,
        "overview/page.html",
        {
            "nav": "overview",
            "ranges": RANGES,
            "range_key": key,
            "window": window,
            "total_traces": sum(s.trace_count for s in stats.values()),
            "total_errors": sum(s.error_count for s in stats.values()),
            "charts": _trace_charts(
                starts,
                labels,
                stats,
                _by_start([u for u in usage if isinstance(u, TokenCostBucket)]),
            ),  # fmt: skip
            "score_charts": score_charts,
            "metric_count": metric_count,
            "max_score_charts": MAX_SCORE_CHARTS,
            "models": top_models,
            "max_calls": max((m.call_count for m in top_models), default=0),
            "server_url": str(request.base_url).rstrip("/"),
        },
    )

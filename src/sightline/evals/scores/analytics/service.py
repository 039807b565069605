"""Score analytics: summary per metric, trend over time, value distribution, for trace
scores and session scores; a session's history and the comparison of sessions.

Statistics cover NUMERIC SUCCESS scores with a value, and the BOOLEAN ones of automated
metrics (custom checks and judges) as 1 for "true" and 0 for "false", so a check's average
is its pass rate; a not-applicable finding (SUCCESS, null value) is counted
(``not_applicable_count``) but never averaged or bucketed.
Trace-score statistics are computed in SQL from a histogram of distinct values;
session-score analytics are computed in Python over the rows; both give the same answers on
both databases. Unlike PandaProbe's ``width_bucket`` (§6 item 21), a distribution puts an
exact 1.0 in the top bucket, not in an extra ``buckets + 1``, and a session's history holds
its newest points, not its oldest.
"""

from __future__ import annotations

import math
import statistics
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from sightline.db.models import SessionScore
from sightline.evals.scores.analytics import repository as repo
from sightline.evals.scores.analytics.schemas import (
    Granularity,
    ScoreDistributionBucket,
    ScoreSummary,
    ScoreTrendPoint,
    SessionComparisonItem,
    SessionHistoryPoint,
    SortOrder,
)
from sightline.evals.scores.repository import ScoreFilter
from sightline.kit.statuses import ScoreDataType, ScoreSource, ScoreStatus

# -- trace scores -----------------------------------------------------------------------


def _median(histogram: list[tuple[float, int]]) -> float | None:
    """Median of a value histogram (sorted), averaging the middle pair like percentile_cont."""
    total = sum(count for _, count in histogram)
    if total == 0:
        return None
    wanted = ((total - 1) // 2, total // 2)
    found: list[float] = []
    seen = 0
    for value, count in histogram:
        for index in wanted:
            if seen <= index < seen + count:
                found.append(value)
        seen += count
    return round(sum(found) / len(found), 4)


async def trace_summary(
    db: AsyncSession, project_id: uuid.UUID, where: ScoreFilter
) -> list[ScoreSummary]:
    values: dict[str, list[tuple[float, int]]] = defaultdict(list)
    for name, value, count in await repo.numeric_histogram(db, project_id, where):
        values[name].append((value, count))
    rows = []
    for row in await repo.summary_counts(db, project_id, where):
        histogram = sorted(values.get(row.name, []))
        count = sum(n for _, n in histogram)
        rows.append(
            ScoreSummary(
                metric_name=row.name,
                avg_score=round(sum(v * n for v, n in histogram) / count, 4) if count else None,
                min_score=histogram[0][0] if histogram else None,
                max_score=histogram[-1][0] if histogram else None,
                median_score=_median(histogram),
                success_count=int(row.success_count),
                failed_count=int(row.failed_count),
                latest_score_at=row.latest_score_at,
                not_applicable_count=int(row.not_applicable_count),
            )
        )
    return rows


def _bucket_time(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):  # SQLite's strftime
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


async def trace_trend(
    db: AsyncSession, project_id: uuid.UUID, where: ScoreFilter, granularity: str
) -> list[ScoreTrendPoint]:
    bucket = repo.time_bucket(db, granularity)
    rows = await repo.trend_rows(db, project_id, where, bucket)
    assert where.name is not None
    return [
        ScoreTrendPoint(
            bucket=_bucket_time(row.bucket),
            metric_name=where.name,
            avg_score=round(float(row.avg_score), 4),
            count=int(row.count),
        )
        for row in rows
    ]


async def trace_distribution(
    db: AsyncSession, project_id: uuid.UUID, where: ScoreFilter, buckets: int
) -> list[ScoreDistributionBucket]:
    counts: dict[int, int] = defaultdict(int)
    for _, value, count in await repo.numeric_histogram(db, project_id, where):
        clamped = min(1.0, max(0.0, value))
        # The epsilon keeps 0.3 * 10 = 2.9999999999999996 in bucket 4 ([0.3, 0.4)).
        counts[min(buckets, math.floor(clamped * buckets + 1e-9) + 1)] += count
    return [
        ScoreDistributionBucket(
            bucket=index,
            bucket_min=round((index - 1) / buckets, 4),
            bucket_max=round(index / buckets, 4),
            count=counts[index],
        )
        for index in sorted(counts)
    ]


# -- session scores ---------------------------------------------------------------------


def _charted(score: SessionScore) -> bool:
    return score.data_type == ScoreDataType.NUMERIC or (
        score.data_type == ScoreDataType.BOOLEAN and score.source == ScoreSource.AUTOMATED
    )


def _session_value(score: SessionScore) -> float | None:
    """A NUMERIC value, or an automated BOOLEAN one as 1/0 (as for trace scores)."""
    if score.value is None:
        return None
    if score.data_type == ScoreDataType.BOOLEAN and score.source == ScoreSource.AUTOMATED:
        return 1.0 if score.value == "true" else 0.0
    if score.data_type != ScoreDataType.NUMERIC:
        return None
    try:
        value = float(score.value)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _not_applicable(score: SessionScore) -> bool:
    return (
        score.status == ScoreStatus.SUCCESS
        and score.source == ScoreSource.AUTOMATED
        and score.value is None
    )


def _successful_values(scores: list[SessionScore]) -> list[float]:
    values = (_session_value(s) for s in scores if s.status == ScoreStatus.SUCCESS)
    return [v for v in values if v is not None]


async def session_summary(
    db: AsyncSession,
    project_id: uuid.UUID,
    date_from: datetime | None,
    date_to: datetime | None,
    eval_run_id: uuid.UUID | None = None,
) -> list[ScoreSummary]:
    by_name: dict[str, list[SessionScore]] = defaultdict(list)
    for score in await repo.list_session_score_rows(
        db, project_id, date_from=date_from, date_to=date_to, eval_run_id=eval_run_id
    ):
        by_name[score.name].append(score)
    rows = []
    for name in sorted(by_name):
        scores = by_name[name]
        values = _successful_values(scores)
        rows.append(
            ScoreSummary(
                metric_name=name,
                avg_score=round(statistics.fmean(values), 4) if values else None,
                min_score=min(values) if values else None,
                max_score=max(values) if values else None,
                median_score=round(statistics.median(values), 4) if values else None,
                success_count=sum(1 for s in scores if s.status == ScoreStatus.SUCCESS),
                failed_count=sum(1 for s in scores if s.status == ScoreStatus.FAILED),
                latest_score_at=max(s.created_at for s in scores),
                not_applicable_count=sum(1 for s in scores if _not_applicable(s)),
            )
        )
    return rows


def _bucket_start(at: datetime, granularity: Granularity) -> datetime:
    at = at.astimezone(UTC)
    if granularity == "hour":
        return at.replace(minute=0, second=0, microsecond=0)
    day = at.replace(hour=0, minute=0, second=0, microsecond=0)
    if granularity == "day":
        return day
    return day - timedelta(days=day.weekday())  # weeks start on Monday


async def session_trend(
    db: AsyncSession,
    project_id: uuid.UUID,
    metric_name: str,
    date_from: datetime | None,
    date_to: datetime | None,
    granularity: Granularity,
) -> list[ScoreTrendPoint]:
    buckets: dict[datetime, list[float]] = defaultdict(list)
    rows = await repo.list_session_score_rows(
        db, project_id, name=metric_name, date_from=date_from, date_to=date_to
    )
    for score in rows:
        value = _session_value(score) if score.status == ScoreStatus.SUCCESS else None
        if value is not None:
            buckets[_bucket_start(score.created_at, granularity)].append(value)
    return [
        ScoreTrendPoint(
            bucket=start,
            metric_name=metric_name,
            avg_score=round(statistics.fmean(values), 4),
            count=len(values),
        )
        for start, values in sorted(buckets.items())
    ]


def _bucket_index(value: float, buckets: int) -> int:
    """1-based equal-width bucket over [0, 1]; 1.0 is in the top bucket, out-of-range values
    are clamped into the first or last bucket."""
    return min(buckets, max(1, math.floor(value * buckets) + 1))


async def session_distribution(
    db: AsyncSession,
    project_id: uuid.UUID,
    metric_name: str,
    date_from: datetime | None,
    date_to: datetime | None,
    buckets: int,
    eval_run_id: uuid.UUID | None = None,
) -> list[ScoreDistributionBucket]:
    rows = await repo.list_session_score_rows(
        db,
        project_id,
        name=metric_name,
        date_from=date_from,
        date_to=date_to,
        eval_run_id=eval_run_id,
    )
    counts: dict[int, int] = defaultdict(int)
    for value in _successful_values(rows):
        counts[_bucket_index(value, buckets)] += 1
    return [
        ScoreDistributionBucket(
            bucket=index,
            bucket_min=round((index - 1) / buckets, 4),
            bucket_max=round(index / buckets, 4),
            count=count,
        )
        for index, count in sorted(counts.items())
    ]


async def session_history(
    db: AsyncSession,
    project_id: uuid.UUID,
    session_id: str,
    metric_name: str | None,
    limit: int,
) -> list[SessionHistoryPoint]:
    """The newest ``limit`` NUMERIC (and automated BOOLEAN) scores (any status) of a
    session, oldest first."""
    rows = await repo.list_session_score_rows(
        db, project_id, name=metric_name, session_id=session_id
    )
    newest = [s for s in rows if _charted(s)][-limit:]
    return [
        SessionHistoryPoint(
            metric_name=s.name,
            score=_session_value(s),
            eval_run_id=str(s.eval_run_id) if s.eval_run_id else None,
            created_at=s.created_at.isoformat(),
            status=s.status,
        )
        for s in newest
    ]


async def session_comparison(
    db: AsyncSession,
    project_id: uuid.UUID,
    metric_name: str,
    sort_order: SortOrder,
    limit: int,
    offset: int,
) -> tuple[list[SessionComparisonItem], int]:
    """Each session's latest NUMERIC+SUCCESS score, sorted by score then session_id."""
    latest: dict[str, tuple[SessionScore, float]] = {}
    for score in await repo.list_session_score_rows(db, project_id, name=metric_name):
        value = _session_value(score) if score.status == ScoreStatus.SUCCESS else None
        if value is not None:
            latest[score.session_id] = (score, value)  # rows are oldest first
    ordered = sorted(latest.items(), key=lambda item: item[0])
    ordered.sort(key=lambda item: item[1][1], reverse=sort_order == "desc")
    page = ordered[offset : offset + limit]
    items = [
        SessionComparisonItem(
            session_id=sid,
            score=value,
            evaluated_at=score.created_at.isoformat(),
            eval_run_id=str(score.eval_run_id) if score.eval_run_id else None,
        )
        for sid, (score, value) in page
    ]
    return items, len(ordered)

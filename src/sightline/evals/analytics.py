"""Trace-score analytics: summary per metric, trend over time, value distribution.

Statistics cover NUMERIC SUCCESS scores. Unlike PandaProbe's ``width_bucket`` (§6 item 21),
the distribution puts an exact 1.0 in the top bucket, not in an extra ``buckets + 1``.
"""

from __future__ import annotations

import math
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from sightline.evals import score_repository
from sightline.evals.schemas import ScoreDistributionBucket, ScoreSummary, ScoreTrendPoint
from sightline.evals.score_repository import ScoreFilter


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


async def summary(
    session: AsyncSession, project_id: uuid.UUID, where: ScoreFilter
) -> list[ScoreSummary]:
    values: dict[str, list[tuple[float, int]]] = defaultdict(list)
    for name, value, count in await score_repository.numeric_histogram(session, project_id, where):
        values[name].append((value, count))
    rows = []
    for row in await score_repository.summary_counts(session, project_id, where):
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


async def trend(
    session: AsyncSession, project_id: uuid.UUID, where: ScoreFilter, granularity: str
) -> list[ScoreTrendPoint]:
    bucket = score_repository.time_bucket(session, granularity)
    rows = await score_repository.trend_rows(session, project_id, where, bucket)
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


async def distribution(
    session: AsyncSession, project_id: uuid.UUID, where: ScoreFilter, buckets: int
) -> list[ScoreDistributionBucket]:
    counts: dict[int, int] = defaultdict(int)
    for _, value, count in await score_repository.numeric_histogram(session, project_id, where):
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

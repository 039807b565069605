"""Session-score analytics (API.md §3.9), computed in Python over the score rows so both
databases give the same answers. Fixes PandaProbe's history (newest points, not oldest)
and distribution (an exact 1.0 belongs to the top bucket, not an extra one)."""

from __future__ import annotations

import math
import statistics
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from sightline.db.models import SessionScore
from sightline.evals import session_repository as repo
from sightline.evals.schemas import ScoreSummary
from sightline.evals.session_schemas import (
    ScoreDistributionBucket,
    ScoreTrendPoint,
    SessionComparisonItem,
    SessionHistoryPoint,
)

Granularity = Literal["hour", "day", "week"]
SortOrder = Literal["asc", "desc"]


def numeric_value(score: SessionScore) -> float | None:
    if score.data_type != "NUMERIC" or score.value is None:
        return None
    try:
        value = float(score.value)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _successful_values(scores: list[SessionScore]) -> list[float]:
    values = (numeric_value(s) for s in scores if s.status == "SUCCESS")
    return [v for v in values if v is not None]


async def summary(
    session: AsyncSession,
    project_id: uuid.UUID,
    date_from: datetime | None,
    date_to: datetime | None,
) -> list[ScoreSummary]:
    by_name: dict[str, list[SessionScore]] = defaultdict(list)
    for score in await repo.list_score_rows(
        session, project_id, date_from=date_from, date_to=date_to
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
                success_count=sum(1 for s in scores if s.status == "SUCCESS"),
                failed_count=sum(1 for s in scores if s.status == "FAILED"),
                latest_score_at=max(s.created_at for s in scores),
            )
        )
    return rows


def bucket_start(at: datetime, granularity: Granularity) -> datetime:
    at = at.astimezone(UTC)
    if granularity == "hour":
        return at.replace(minute=0, second=0, microsecond=0)
    day = at.replace(hour=0, minute=0, second=0, microsecond=0)
    if granularity == "day":
        return day
    return day - timedelta(days=day.weekday())  # weeks start on Monday


async def trend(
    session: AsyncSession,
    project_id: uuid.UUID,
    metric_name: str,
    date_from: datetime | None,
    date_to: datetime | None,
    granularity: Granularity,
) -> list[ScoreTrendPoint]:
    buckets: dict[datetime, list[float]] = defaultdict(list)
    rows = await repo.list_score_rows(
        session, project_id, name=metric_name, date_from=date_from, date_to=date_to
    )
    for score in rows:
        value = numeric_value(score) if score.status == "SUCCESS" else None
        if value is not None:
            buckets[bucket_start(score.created_at, granularity)].append(value)
    return [
        ScoreTrendPoint(
            bucket=start.isoformat(),
            metric_name=metric_name,
            avg_score=round(statistics.fmean(values), 4),
            count=len(values),
        )
        for start, values in sorted(buckets.items())
    ]


def bucket_index(value: float, buckets: int) -> int:
    """1-based equal-width bucket over [0, 1]; 1.0 is in the top bucket, out-of-range values
    are clamped into the first or last bucket."""
    return min(buckets, max(1, math.floor(value * buckets) + 1))


async def distribution(
    session: AsyncSession,
    project_id: uuid.UUID,
    metric_name: str,
    date_from: datetime | None,
    date_to: datetime | None,
    buckets: int,
) -> list[ScoreDistributionBucket]:
    rows = await repo.list_score_rows(
        session, project_id, name=metric_name, date_from=date_from, date_to=date_to
    )
    counts: dict[int, int] = defaultdict(int)
    for value in _successful_values(rows):
        counts[bucket_index(value, buckets)] += 1
    return [
        ScoreDistributionBucket(
            bucket=index,
            bucket_min=round((index - 1) / buckets, 4),
            bucket_max=round(index / buckets, 4),
            count=count,
        )
        for index, count in sorted(counts.items())
    ]


async def history(
    session: AsyncSession,
    project_id: uuid.UUID,
    session_id: str,
    metric_name: str | None,
    limit: int,
) -> list[SessionHistoryPoint]:
    """The newest ``limit`` NUMERIC scores (any status) of a session, oldest first."""
    rows = await repo.list_score_rows(session, project_id, name=metric_name, session_id=session_id)
    newest = [s for s in rows if s.data_type == "NUMERIC"][-limit:]
    return [
        SessionHistoryPoint(
            metric_name=s.name,
            score=numeric_value(s),
            eval_run_id=str(s.eval_run_id) if s.eval_run_id else None,
            created_at=s.created_at.isoformat(),
            status=s.status,
        )
        for s in newest
    ]


async def comparison(
    session: AsyncSession,
    project_id: uuid.UUID,
    metric_name: str,
    sort_order: SortOrder,
    limit: int,
    offset: int,
) -> tuple[list[SessionComparisonItem], int]:
    """Each session's latest NUMERIC+SUCCESS score, sorted by score then session_id."""
    latest: dict[str, tuple[SessionScore, float]] = {}
    for score in await repo.list_score_rows(session, project_id, name=metric_name):
        value = numeric_value(score) if score.status == "SUCCESS" else None
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

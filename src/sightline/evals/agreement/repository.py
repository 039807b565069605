"""All SQL of judge–human agreement: the two sides, read from `trace_score`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from sightline.db.models import TraceScore
from sightline.kit.statuses import ScoreSource, ScoreStatus

S = TraceScore


def _scored(project_id: uuid.UUID, name: str, source: str) -> list[ColumnElement[bool]]:
    return [
        S.project_id == project_id,
        S.name == name,
        S.source == source,
        S.status == ScoreStatus.SUCCESS,
        S.value.is_not(None),
    ]


async def annotation_values(
    db: AsyncSession, project_id: uuid.UUID, name: str
) -> Sequence[Row[Any]]:
    """Every human value of the metric, oldest first (the caller keeps the latest per trace)."""
    stmt = (
        select(S.trace_id, S.value, S.data_type)
        .where(*_scored(project_id, name, ScoreSource.ANNOTATION))
        .order_by(S.created_at, S.id)
    )
    return (await db.execute(stmt)).all()


async def judge_scores(
    db: AsyncSession,
    project_id: uuid.UUID,
    name: str,
    *,
    model: str | None,
    date_from: datetime | None,
    date_to: datetime | None,
) -> Sequence[Row[Any]]:
    """The judge's values of the metric on annotated traces only, oldest first."""
    annotated = select(S.trace_id).where(*_scored(project_id, name, ScoreSource.ANNOTATION))
    where = [*_scored(project_id, name, ScoreSource.AUTOMATED), S.trace_id.in_(annotated)]
    if model is not None:
        where.append(S.model == model)
    if date_from is not None:
        where.append(S.created_at >= date_from)
    if date_to is not None:
        where.append(S.created_at < date_to)
    stmt = (
        select(S.trace_id, S.value, S.data_type, S.model, S.metadata_)
        .where(*where)
        .order_by(S.created_at, S.id)
    )
    return (await db.execute(stmt)).all()

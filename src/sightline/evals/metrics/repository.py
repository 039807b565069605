"""All SQL of the custom-metric definitions."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sightline.db.models import CustomMetric


async def current(db: AsyncSession, project_id: uuid.UUID, name: str) -> CustomMetric | None:
    """The live (not deleted) metric of that name at its newest version."""
    stmt = (
        select(CustomMetric)
        .where(
            CustomMetric.project_id == project_id,
            CustomMetric.name == name,
            CustomMetric.deleted_at.is_(None),
        )
        .order_by(CustomMetric.version.desc())
        .limit(1)
    )
    return (await db.execute(stmt)).scalar_one_or_none()


async def current_many(
    db: AsyncSession, project_id: uuid.UUID, names: Iterable[str] | None = None
) -> list[CustomMetric]:
    """Each live metric of the project (or of ``names``) at its newest version, by name."""
    latest = (
        select(CustomMetric.name, func.max(CustomMetric.version).label("version"))
        .where(CustomMetric.project_id == project_id, CustomMetric.deleted_at.is_(None))
        .group_by(CustomMetric.name)
    )
    if names is not None:
        wanted = list(names)
        if not wanted:
            return []
        latest = latest.where(CustomMetric.name.in_(wanted))
    sub = latest.subquery()
    stmt = (
        select(CustomMetric)
        .join(sub, (CustomMetric.name == sub.c.name) & (CustomMetric.version == sub.c.version))
        .where(CustomMetric.project_id == project_id)
        .order_by(CustomMetric.name)
    )
    return list((await db.execute(stmt)).scalars())


async def versions(
    db: AsyncSession, project_id: uuid.UUID, pins: dict[str, int]
) -> list[CustomMetric]:
    """The rows of the given (name, version) pairs, deleted ones included (a run keeps the
    definition it was created with)."""
    if not pins:
        return []
    stmt = select(CustomMetric).where(
        CustomMetric.project_id == project_id, CustomMetric.name.in_(list(pins))
    )
    rows = (await db.execute(stmt)).scalars()
    return [row for row in rows if pins.get(row.name) == row.version]


async def history(db: AsyncSession, project_id: uuid.UUID, name: str) -> list[CustomMetric]:
    """Every live version of the name, oldest first."""
    stmt = (
        select(CustomMetric)
        .where(
            CustomMetric.project_id == project_id,
            CustomMetric.name == name,
            CustomMetric.deleted_at.is_(None),
        )
        .order_by(CustomMetric.version)
    )
    return list((await db.execute(stmt)).scalars())


async def max_version(db: AsyncSession, project_id: uuid.UUID, name: str) -> int:
    """The highest version the name ever had, deleted rows included (0 if none)."""
    stmt = select(func.max(CustomMetric.version)).where(
        CustomMetric.project_id == project_id, CustomMetric.name == name
    )
    return int((await db.execute(stmt)).scalar_one() or 0)


def add(db: AsyncSession, row: CustomMetric) -> CustomMetric:
    db.add(row)
    return row


async def mark_deleted(db: AsyncSession, project_id: uuid.UUID, name: str, when: datetime) -> int:
    stmt = (
        update(CustomMetric)
        .where(
            CustomMetric.project_id == project_id,
            CustomMetric.name == name,
            CustomMetric.deleted_at.is_(None),
        )
        .values(deleted_at=when)
    )
    result = await db.execute(stmt)
    return int(result.rowcount or 0)

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from sightline.db.models import ApiKey, Organization, Project


async def get_org_by_name(session: AsyncSession, name: str) -> Organization | None:
    return (
        await session.execute(select(Organization).where(Organization.name == name))
    ).scalar_one_or_none()


async def list_orgs(session: AsyncSession) -> Sequence[Organization]:
    return (
        (await session.execute(select(Organization).order_by(Organization.created_at)))
        .scalars()
        .all()
    )


async def any_org_exists(session: AsyncSession) -> bool:
    return (await session.execute(select(Organization.id).limit(1))).first() is not None


async def add(session: AsyncSession, row: Organization | ApiKey | Project) -> None:
    session.add(row)
    await session.flush()


async def get_key_by_hash(session: AsyncSession, key_hash: str) -> ApiKey | None:
    return (
        await session.execute(select(ApiKey).where(ApiKey.key_hash == key_hash))
    ).scalar_one_or_none()


async def list_keys(session: AsyncSession, org_id: uuid.UUID | None) -> Sequence[ApiKey]:
    stmt = select(ApiKey).order_by(ApiKey.created_at)
    if org_id is not None:
        stmt = stmt.where(ApiKey.org_id == org_id)
    return (await session.execute(stmt)).scalars().all()


async def get_key_by_id_or_prefix(session: AsyncSession, ident: str) -> ApiKey | None:
    try:
        return await session.get(ApiKey, uuid.UUID(ident))
    except ValueError:
        rows = (
            (await session.execute(select(ApiKey).where(ApiKey.key_prefix == ident)))
            .scalars()
            .all()
        )
        return rows[0] if len(rows) == 1 else None


async def touch_keys(session: AsyncSession, last_used: dict[uuid.UUID, datetime]) -> None:
    for key_id, at in last_used.items():
        await session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=at))


async def get_project_by_name(
    session: AsyncSession, org_id: uuid.UUID, name: str
) -> Project | None:
    stmt = select(Project).where(Project.org_id == org_id, Project.name == name)
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_project_by_id(
    session: AsyncSession, org_id: uuid.UUID, project_id: uuid.UUID
) -> Project | None:
    stmt = select(Project).where(Project.org_id == org_id, Project.id == project_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def insert_project_if_absent(session: AsyncSession, org_id: uuid.UUID, name: str) -> None:
    """Runs in its own short transaction; a concurrent creator may win the unique index."""
    try:
        session.add(Project(id=uuid.uuid4(), org_id=org_id, name=name))
        await session.flush()
    except IntegrityError:
        await session.rollback()

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from sightline.db.models import ApiKey, DashboardSession, Organization, Project
from sightline.db.types import utcnow


async def get_org_by_name(db: AsyncSession, name: str) -> Organization | None:
    return (
        await db.execute(select(Organization).where(Organization.name == name))
    ).scalar_one_or_none()


async def list_orgs(db: AsyncSession) -> Sequence[Organization]:
    return (
        (await db.execute(select(Organization).order_by(Organization.created_at))).scalars().all()
    )


async def any_org_exists(db: AsyncSession) -> bool:
    return (await db.execute(select(Organization.id).limit(1))).first() is not None


async def add(db: AsyncSession, row: Organization | ApiKey | Project) -> None:
    db.add(row)
    await db.flush()


async def get_key_by_hash(db: AsyncSession, key_hash: str) -> ApiKey | None:
    return (
        await db.execute(select(ApiKey).where(ApiKey.key_hash == key_hash))
    ).scalar_one_or_none()


async def list_keys(db: AsyncSession, org_id: uuid.UUID | None) -> Sequence[ApiKey]:
    stmt = select(ApiKey).order_by(ApiKey.created_at)
    if org_id is not None:
        stmt = stmt.where(ApiKey.org_id == org_id)
    return (await db.execute(stmt)).scalars().all()


async def get_key_by_id_or_prefix(db: AsyncSession, ident: str) -> ApiKey | None:
    try:
        return await db.get(ApiKey, uuid.UUID(ident))
    except ValueError:
        rows = (await db.execute(select(ApiKey).where(ApiKey.key_prefix == ident))).scalars().all()
        return rows[0] if len(rows) == 1 else None


async def touch_keys(db: AsyncSession, last_used: dict[uuid.UUID, datetime]) -> None:
    for key_id, at in last_used.items():
        await db.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=at))


async def get_project_by_name(db: AsyncSession, org_id: uuid.UUID, name: str) -> Project | None:
    stmt = select(Project).where(Project.org_id == org_id, Project.name == name)
    return (await db.execute(stmt)).scalar_one_or_none()


async def list_projects(db: AsyncSession, org_id: uuid.UUID) -> Sequence[Project]:
    stmt = (
        select(Project).where(Project.org_id == org_id).order_by(Project.created_at, Project.name)
    )
    return (await db.execute(stmt)).scalars().all()


async def get_project_by_id(
    db: AsyncSession, org_id: uuid.UUID, project_id: uuid.UUID
) -> Project | None:
    stmt = select(Project).where(Project.org_id == org_id, Project.id == project_id)
    return (await db.execute(stmt)).scalar_one_or_none()


async def insert_project_if_absent(db: AsyncSession, org_id: uuid.UUID, name: str) -> None:
    """Runs in its own short transaction; a concurrent creator may win the unique index."""
    try:
        db.add(Project(id=uuid.uuid4(), org_id=org_id, name=name))
        await db.flush()
    except IntegrityError:
        await db.rollback()


async def get_org(db: AsyncSession, org_id: uuid.UUID) -> Organization | None:
    return await db.get(Organization, org_id)


async def get_org_key(db: AsyncSession, org_id: uuid.UUID, key_id: uuid.UUID) -> ApiKey | None:
    stmt = select(ApiKey).where(ApiKey.org_id == org_id, ApiKey.id == key_id)
    return (await db.execute(stmt)).scalar_one_or_none()


async def add_dashboard_session(db: AsyncSession, session_id: str, key_id: uuid.UUID) -> None:
    db.add(DashboardSession(id=session_id, key_id=key_id, created_at=utcnow()))
    await db.flush()


async def dashboard_session_is_live(
    db: AsyncSession, session_id: str, key_id: uuid.UUID, since: datetime
) -> bool:
    stmt = select(DashboardSession.id).where(
        DashboardSession.id == session_id,
        DashboardSession.key_id == key_id,
        DashboardSession.created_at >= since,
    )
    return (await db.execute(stmt)).first() is not None


async def delete_dashboard_session(db: AsyncSession, session_id: str) -> None:
    await db.execute(delete(DashboardSession).where(DashboardSession.id == session_id))


async def delete_dashboard_sessions_before(db: AsyncSession, before: datetime) -> None:
    await db.execute(delete(DashboardSession).where(DashboardSession.created_at < before))

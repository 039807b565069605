"""All SQL of the durable judge cache (table ``judge_cache``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sightline.db.models import JudgeCacheEntry
from sightline.db.upsert import upsert

_JUDGE_CACHE = cast(Table, JudgeCacheEntry.__table__)


async def count_entries(db: AsyncSession) -> int:
    return int((await db.execute(select(func.count()).select_from(_JUDGE_CACHE))).scalar_one())


async def list_keys(db: AsyncSession) -> set[str]:
    return set((await db.execute(select(JudgeCacheEntry.cache_key))).scalars())


async def get_response(db: AsyncSession, key: str) -> Any:
    stored = await db.execute(
        select(JudgeCacheEntry.response).where(JudgeCacheEntry.cache_key == key)
    )
    return stored.scalar_one_or_none()


async def add_entries(db: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    """A key stored meanwhile by another process keeps its answer (the same question)."""
    await upsert(db, _JUDGE_CACHE, rows, key=("cache_key",))

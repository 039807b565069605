"""The one dialect-aware upsert: `INSERT ... ON CONFLICT` on PostgreSQL and SQLite alike."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from sightline.db.session import dialect_of


async def upsert(
    db: AsyncSession,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    key: Sequence[str],
    update: Sequence[str] = (),
) -> None:
    """Insert ``rows``; a row whose ``key`` exists replaces the ``update`` columns of the
    stored one, or is skipped when ``update`` is empty. Works on the table (not the ORM
    entity) so that column names, not attribute names, are used (``metadata``)."""
    if not rows:
        return
    dialect_insert = postgresql.insert if dialect_of(db) == "postgresql" else sqlite.insert
    stmt = dialect_insert(table).values(list(rows))
    if update:
        stmt = stmt.on_conflict_do_update(
            index_elements=list(key), set_={name: stmt.excluded[name] for name in update}
        )
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(key))
    await db.execute(stmt)


async def upsert_many(
    db: AsyncSession,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    key: Sequence[str],
    update: Sequence[str] = (),
) -> None:
    """``upsert`` as one statement executed for many parameter sets (every row has the
    same keys): compiled once, where a many-row VALUES costs more to compile than to run."""
    if not rows:
        return
    dialect_insert = postgresql.insert if dialect_of(db) == "postgresql" else sqlite.insert
    stmt = dialect_insert(table)
    if update:
        stmt = stmt.on_conflict_do_update(
            index_elements=list(key), set_={name: stmt.excluded[name] for name in update}
        )
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(key))
    await db.execute(stmt, [dict(row) for row in rows])

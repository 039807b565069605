"""The one dialect-aware upsert: `INSERT ... ON CONFLICT` on PostgreSQL and SQLite alike."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from sightline.db.session import dialect_of


def _statement(db: AsyncSession, table: Table, key: Sequence[str], update: Sequence[str]) -> Any:
    dialect_insert = postgresql.insert if dialect_of(db) == "postgresql" else sqlite.insert
    stmt = dialect_insert(table)
    if update:
        return stmt.on_conflict_do_update(
            index_elements=list(key), set_={name: stmt.excluded[name] for name in update}
        )
    return stmt.on_conflict_do_nothing(index_elements=list(key))


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
    if rows:
        await db.execute(_statement(db, table, key, update).values(list(rows)))


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
    if rows:
        await db.execute(_statement(db, table, key, update), [dict(row) for row in rows])

"""The schema at start-up: embedded SQLite is migrated; PostgreSQL is checked to be at the
head revision (it is upgraded explicitly, with `sightline db upgrade`)."""

from __future__ import annotations

import asyncio

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from sightline.config import Settings
from sightline.db import migrate
from sightline.db.session import SessionFactory


class SchemaOutOfDate(RuntimeError):
    pass


def _current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def _check_schema(settings: Settings, factory: SessionFactory) -> None:
    head = ScriptDirectory.from_config(
        migrate.alembic_config(settings.resolved_database_url)
    ).get_current_head()
    async with factory() as db:
        connection = await db.connection()
        current = await connection.run_sync(_current_revision)
    if current != head:
        raise SchemaOutOfDate(
            f"The database schema is at {current or 'nothing'}, expected {head}. "
            "Run `sightline db upgrade` first."
        )


async def prepare_schema(settings: Settings, factory: SessionFactory) -> None:
    """Embedded SQLite is migrated automatically; PostgreSQL must be upgraded explicitly."""
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(migrate.upgrade, settings.resolved_database_url)
    else:
        await _check_schema(settings, factory)

"""Start-up work on the database: migrations (embedded SQLite) and provisioning."""

from __future__ import annotations

import asyncio
import logging

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from sightline.config import Settings
from sightline.db import migrate
from sightline.db.session import SessionFactory, transaction
from sightline.identity import service as identity

logger = logging.getLogger("sightline")


class SchemaOutOfDate(RuntimeError):
    pass


def _current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def _check_schema(settings: Settings, factory: SessionFactory) -> None:
    head = ScriptDirectory.from_config(
        migrate.alembic_config(settings.resolved_database_url)
    ).get_current_head()
    async with factory() as session:
        connection = await session.connection()
        current = await connection.run_sync(_current_revision)
    if current != head:
        raise SchemaOutOfDate(
            f"The database schema is at {current or 'nothing'}, expected {head}. "
            "Run `sightline db upgrade` first."
        )


async def prepare_schema_for_cli(settings: Settings, factory: SessionFactory) -> None:
    """Embedded SQLite is migrated automatically; PostgreSQL must be upgraded explicitly."""
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(migrate.upgrade, settings.resolved_database_url)
    else:
        await _check_schema(settings, factory)


async def prepare_database(settings: Settings, factory: SessionFactory) -> None:
    await prepare_schema_for_cli(settings, factory)
    async with transaction(factory) as session:
        if settings.init_org and settings.init_api_key:
            if await identity.ensure_org_with_key(
                session, settings.init_org, settings.init_api_key
            ):
                logger.info("provisioned organization %r from SIGHTLINE_INIT_*", settings.init_org)
            return
        created = await identity.bootstrap_first_org(session)
    if created is not None:
        # Printed, not logged: this is the only time the raw key is ever shown.
        print(
            "\nSightline created organization 'default' and an API key (shown only once):\n"
            f"  {created.raw_key}\n"
            "Use it as PANDAPROBE_API_KEY.\n",
            flush=True,
        )

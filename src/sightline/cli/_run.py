"""Helpers for commands that work on the database directly (no server needed)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from sightline.config import Settings
from sightline.db.engine import create_engine
from sightline.db.schema import prepare_schema
from sightline.db.session import make_session_factory, transaction

T = TypeVar("T")


def run_in_transaction(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def main() -> T:
        settings = Settings()
        engine = create_engine(settings)
        try:
            await prepare_schema(settings, make_session_factory(engine))
            async with transaction(make_session_factory(engine)) as db:
                return await work(db)
        finally:
            await engine.dispose()

    return asyncio.run(main())

"""The only place that commits: one transaction per request or job.

- `transaction(factory)`: an ORM session for a request or a job; commit on success.
- `EngineTransactions` / `ThreadTransactions`: run a synchronous function (Core statements)
  in one transaction, for the bulk writers (trace ingestion's group commit). On PostgreSQL it
  runs through `run_sync` on the async engine (asyncpg has no thread hop); on SQLite in one
  dedicated thread on a synchronous engine, because through aiosqlite every statement, fetch
  and commit would be a round trip to aiosqlite's thread, which costs more than SQLite's work.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

SessionFactory = async_sessionmaker[AsyncSession]


def make_session_factory(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def transaction(factory: SessionFactory) -> AsyncIterator[AsyncSession]:
    """Commit on success, roll back on any error. Services flush; they never commit."""
    async with factory() as db:
        try:
            yield db
            await db.commit()
        except BaseException:
            await db.rollback()
            raise


R = TypeVar("R")


class EngineTransactions:
    """Runs a synchronous function in a transaction of the async engine (PostgreSQL)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def run(self, fn: Callable[[Connection], R]) -> R:
        async with self._engine.begin() as conn:
            return await conn.run_sync(fn)

    async def close(self) -> None:
        pass


class ThreadTransactions:
    """Runs a synchronous function in a transaction of a sync engine, in one thread (SQLite)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="trace-writer")
        self._conn: Connection | None = None  # kept open: used by the thread alone

    def _in_transaction(self, fn: Callable[[Connection], R]) -> R:
        if self._conn is None:
            self._conn = self._engine.connect()
        try:
            with self._conn.begin():
                return fn(self._conn)
        except BaseException:
            self._disconnect()  # start the next transaction on a fresh connection
            raise

    def _disconnect(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    async def run(self, fn: Callable[[Connection], R]) -> R:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, self._in_transaction, fn)

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._thread, self._disconnect)
        await loop.run_in_executor(self._thread, self._engine.dispose)
        self._thread.shutdown()


def dialect_of(db: AsyncSession) -> str:
    """'postgresql' or 'sqlite': for the few statements written per dialect."""
    bind = db.bind
    assert bind is not None
    return bind.dialect.name

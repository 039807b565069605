"""The write guard of trace writes on embedded SQLite.

SQLite has one writer at a time. Concurrent write transactions that find the lock taken
wait in SQLite's busy handler, which sleeps in steps of 1 to 100 ms, so under load most of
the time goes to sleeping. Queueing the writers of this process on an asyncio lock instead
hands the database from one transaction to the next without sleeps. The lock is taken by
the route (after validation) and released after the commit: this dependency is declared
before the session, so it is torn down after the session has committed.
On PostgreSQL the guard does nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request


class WriteGuard:
    def __init__(self, lock: asyncio.Lock | None) -> None:
        self._lock = lock
        self._held = False

    async def acquire(self) -> None:
        if self._lock is not None and not self._held:
            await self._lock.acquire()
            self._held = True

    def release(self) -> None:
        if self._lock is not None and self._held:
            self._held = False
            self._lock.release()


def _sqlite_lock(request: Request) -> asyncio.Lock | None:
    # Made in the app's lifespan: one lock per process on SQLite, None on PostgreSQL.
    lock: asyncio.Lock | None = request.app.state.trace_write_lock
    return lock


async def write_guard(request: Request) -> AsyncIterator[WriteGuard]:
    guard = WriteGuard(_sqlite_lock(request))
    try:
        yield guard
    finally:
        guard.release()


WriteGuardDep = Annotated[WriteGuard, Depends(write_guard)]

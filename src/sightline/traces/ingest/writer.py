"""Group commit for trace ingestion: single POSTs and batches share one writer.

The SDK posts one trace per request. Committing each in its own transaction makes the commit
and the per-statement overhead dominate, so concurrent writes are coalesced: each request
validates its traces, hands them here and waits; one writer task stores everything that is
waiting in one transaction (one statement per table) and then answers every request. A
request is still answered only after its traces are committed, so they are readable at once.

Each trace keeps its own outcome: conflicts are found per trace before the write (the batch
precheck). If the group's transaction fails anyway, every request of the group is retried
alone so one bad request can never fail another's.

The transaction is synchronous code (service.py) run in one go by db.session's
`ThreadTransactions` on SQLite (one thread, a synchronous engine) or `EngineTransactions`
on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from sightline.config import Settings
from sightline.db.engine import create_sqlite_writer_engine
from sightline.db.session import EngineTransactions, ThreadTransactions
from sightline.db.types import utcnow
from sightline.traces.ingest import service as ingest
from sightline.traces.ingest.service import Item, NewItem, precheck_and_write, write_unchecked
from sightline.traces.schemas import TraceCreate

logger = logging.getLogger("sightline")

MAX_GROUP_TRACES = 1000

Rejections = dict[int, ingest.TraceRejected]


@dataclass
class _Pending:
    project_id: uuid.UUID
    items: list[NewItem]
    done: asyncio.Future[Rejections] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class _Conflict(Exception):
    """An unchecked write met a conflict: the group is written again with the precheck."""


def _write_group(conn: Connection, group: Sequence[_Pending], *, checked: bool) -> list[Rejections]:
    """Writes every request of the group; returns each one's rejected items by its index.
    Unchecked, it skips the precheck's reads (conflicts are rare) and raises _Conflict
    at the first one, so that the transaction rolls back and the caller retries checked."""
    by_project: dict[uuid.UUID, list[NewItem]] = defaultdict(list)
    origin: list[tuple[int, int]] = []  # group-wide index -> (request, index in request)
    for number, pending in enumerate(group):
        for index, trace in pending.items:
            by_project[pending.project_id].append((len(origin), trace))
            origin.append((number, index))
    now = utcnow()
    outcomes: list[Rejections] = [{} for _ in group]
    for project_id, items in by_project.items():
        if not checked:
            try:
                write_unchecked(conn, project_id, items, now)
            except ingest.TraceRejected:
                raise _Conflict from None
            continue
        for key, rejection in precheck_and_write(conn, project_id, items, now).items():
            number, index = origin[key]
            outcomes[number][index] = rejection
    return outcomes


class GroupWriter:
    def __init__(
        self, settings: Settings, engine: AsyncEngine, write_lock: asyncio.Lock | None
    ) -> None:
        self._transactions: EngineTransactions | ThreadTransactions = (
            ThreadTransactions(create_sqlite_writer_engine(settings))
            if settings.is_sqlite
            else EngineTransactions(engine)
        )
        # Other trace writes of this process (PATCH, DELETE, ...) queue on the same lock.
        self._lock: Any = write_lock or contextlib.nullcontext()
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="trace-group-writer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._transactions.close()

    async def submit(self, project_id: uuid.UUID, trace: TraceCreate) -> None:
        """Returns once the trace is committed; raises the 409/422 a rejection deserves."""
        rejected = await self.write(project_id, [(0, trace)])
        if rejected:
            raise ingest.http_error(rejected[0])

    async def write(
        self, project_id: uuid.UUID, items: list[Item], *, derived: bool = False
    ) -> Rejections:
        """Returns once every accepted item is committed, with the rejected ones by index.
        Raises the HTTP error of a write that raced past the precheck (nothing stored).
        `derived`: the traces are pieces whose fields come from their spans (OTLP)."""
        if not items:
            return {}
        # Rows are built here, in the request, so the single writer only writes.
        now = utcnow()
        sqlite = isinstance(self._transactions, ThreadTransactions)
        new = [
            (i, ingest.new_trace(t, project_id, now, sqlite=sqlite, derived=derived))
            for i, t in items
        ]
        pending = _Pending(project_id, new)
        await self._queue.put(pending)
        return await pending.done

    async def _run(self) -> None:
        while True:
            group = [await self._queue.get()]
            size = len(group[0].items)
            while size < MAX_GROUP_TRACES and not self._queue.empty():
                group.append(self._queue.get_nowait())
                size += len(group[-1].items)
            try:
                outcomes = await self._write(group)
            except Exception:  # isolate: retry each request alone
                for pending in group:
                    await self._write_alone(pending)
            else:
                for pending, outcome in zip(group, outcomes, strict=True):
                    _settle(pending, outcome)

    async def _write(self, group: list[_Pending]) -> list[Rejections]:
        async with self._lock:
            try:
                return await self._transactions.run(
                    lambda conn: _write_group(conn, group, checked=False)
                )
            except _Conflict:
                return await self._transactions.run(
                    lambda conn: _write_group(conn, group, checked=True)
                )

    async def _write_alone(self, pending: _Pending) -> None:
        try:
            [outcome] = await self._write([pending])
        except ingest.TraceRejected as exc:
            _settle(pending, ingest.http_error(exc))
        except Exception as exc:
            logger.exception("could not store traces of project %s", pending.project_id)
            _settle(pending, exc)
        else:
            _settle(pending, outcome)


def _settle(pending: _Pending, outcome: Rejections | BaseException) -> None:
    if pending.done.done():  # the request was cancelled
        return
    if isinstance(outcome, BaseException):
        pending.done.set_exception(outcome)
    else:
        pending.done.set_result(outcome)

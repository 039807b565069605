"""The durable judge cache (table ``judge_cache``, SQL in repository.py), implementing the
engine's JudgeCache.

- Lookups: an in-process index of the stored keys (reloaded when a run starts, via
  ``refresh``) answers misses without a query, so a run over new traces costs no extra
  round-trips; a hit reads the answer from the database (through a small LRU). A key written
  by another process after the last refresh is only missed, which costs one judge call.
- Writes are buffered and stored by the executor inside the transaction that stores the
  scores they produced, so caching adds no commits of its own; an answer lost in a crash
  only costs one judge call later.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from sightline.db.session import SessionFactory
from sightline.db.types import utcnow
from sightline.engine.judge import repository
from sightline.engine.judge.cache import CachedAnswer

_MEMORY_ENTRIES = 4096
# Above this many stored answers the key index is not kept (memory); every lookup queries.
_MAX_INDEXED_KEYS = 500_000


class DbJudgeCache:
    """One per process; safe to share between runs (keys include the model)."""

    def __init__(self, session_factory: SessionFactory) -> None:
        self._factory = session_factory
        self._memory: OrderedDict[str, CachedAnswer] = OrderedDict()
        self._pending: dict[str, CachedAnswer] = {}
        self._index: set[str] | None = None
        self.hits = 0
        self.misses = 0

    async def refresh(self) -> None:
        """Reload the index of stored keys (the executor calls this when a run starts)."""
        async with self._factory() as db:
            if await repository.count_entries(db) > _MAX_INDEXED_KEYS:
                self._index = None
                return
            self._index = await repository.list_keys(db) | set(self._pending)

    async def get(self, key: str) -> CachedAnswer | None:
        answer = self._pending.get(key) or self._memory.get(key)
        if answer is None and (self._index is None or key in self._index):
            answer = await self._load(key)
        if answer is None:
            self.misses += 1
        else:
            self.hits += 1
        return answer

    async def _load(self, key: str) -> CachedAnswer | None:
        async with self._factory() as db:
            data = await repository.get_response(db, key)
        if not isinstance(data, dict):
            return None
        answer = CachedAnswer.from_dict(data)
        self._remember(key, answer)
        return answer

    async def put(self, key: str, answer: CachedAnswer) -> None:
        self._pending[key] = answer
        self._remember(key, answer)
        if self._index is not None:
            self._index.add(key)

    def _remember(self, key: str, answer: CachedAnswer) -> None:
        self._memory[key] = answer
        self._memory.move_to_end(key)
        while len(self._memory) > _MEMORY_ENTRIES:
            self._memory.popitem(last=False)

    async def flush_into(self, db: AsyncSession) -> None:
        """Write the buffered answers as part of the caller's transaction."""
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        now = utcnow()
        rows: list[dict[str, Any]] = [
            {"cache_key": key, "model": a.model, "response": a.to_dict(), "created_at": now}
            for key, a in pending.items()
        ]
        await repository.add_entries(db, rows)

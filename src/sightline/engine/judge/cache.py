"""Cache hooks. The durable implementation is db_cache.DbJudgeCache (table judge_cache); the
in-memory ones here serve tests and single-process runs.

A judge answer is keyed by sha256(model, messages, schema): the same question to the same
model is answered once, across metrics, runs and re-runs (the judge runs at temperature 0).
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from dataclasses import asdict, dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class CachedAnswer:
    """The raw JSON answer plus what it cost the first time (for reporting, never re-billed)."""

    content: str
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CachedAnswer:
        return cls(**data)


class JudgeCache(Protocol):
    async def get(self, key: str) -> CachedAnswer | None: ...

    async def put(self, key: str, answer: CachedAnswer) -> None: ...


class EmbeddingCache(Protocol):
    async def get_many(self, model: str, texts: list[str]) -> dict[str, tuple[float, ...]]: ...

    async def put_many(self, model: str, vectors: dict[str, tuple[float, ...]]) -> None: ...


def judge_cache_key(
    model: str,
    messages: list[dict[str, str]],
    schema: dict[str, Any],
    scope: str | None = None,
) -> str:
    """``scope`` (a custom metric's name and version) is in the key only when given, so the
    built-in metrics' keys are what they always were."""
    keyed: dict[str, Any] = {"model": model, "messages": messages, "schema": schema}
    if scope is not None:
        keyed["scope"] = scope
    payload = json.dumps(
        keyed,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def text_key(model: str, text: str) -> str:
    return hashlib.sha256(f"{model}\x00{text}".encode()).hexdigest()


class InMemoryJudgeCache:
    def __init__(self) -> None:
        self._answers: dict[str, CachedAnswer] = {}
        self.hits = 0
        self.misses = 0

    async def get(self, key: str) -> CachedAnswer | None:
        answer = self._answers.get(key)
        if answer is None:
            self.misses += 1
        else:
            self.hits += 1
        return answer

    async def put(self, key: str, answer: CachedAnswer) -> None:
        self._answers[key] = answer

    def __len__(self) -> int:
        return len(self._answers)


class InMemoryEmbeddingCache:
    """LRU keyed by sha256(model, text); shared across runs when the engine lives long."""

    def __init__(self, max_entries: int = 4096) -> None:
        self._vectors: OrderedDict[str, tuple[float, ...]] = OrderedDict()
        self._max_entries = max_entries

    async def get_many(self, model: str, texts: list[str]) -> dict[str, tuple[float, ...]]:
        found: dict[str, tuple[float, ...]] = {}
        for text in texts:
            key = text_key(model, text)
            vector = self._vectors.get(key)
            if vector is not None:
                self._vectors.move_to_end(key)
                found[text] = vector
        return found

    async def put_many(self, model: str, vectors: dict[str, tuple[float, ...]]) -> None:
        for text, vector in vectors.items():
            self._vectors[text_key(model, text)] = vector
        while len(self._vectors) > self._max_entries:
            self._vectors.popitem(last=False)

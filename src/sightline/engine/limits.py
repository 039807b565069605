"""The one place for judge concurrency and rate limits.

``Limits`` combines a per-process semaphore (``max_concurrency``) with a ``RateBucket`` per
model (requests/min and tokens/min). ``InProcessRateBucket`` is the embedded deployment's
bucket; ``RedisRateBucket`` (``redis_limits``) keeps one budget for every process of the
deployment; ``build_rate_bucket(settings)`` picks between them. A 429's Retry-After pauses
the model's bucket for every caller, so one throttled request slows the whole process (or,
in Redis, every process) instead of each task discovering the limit on its own.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Protocol

from sightline.config import JudgeSettings, Settings


class RateBucket(Protocol):
    async def acquire(self, model: str, tokens: int) -> None:
        """Wait until one request carrying ~``tokens`` tokens may be sent to ``model``."""

    async def pause(self, model: str, seconds: float) -> None:
        """Hold every caller of ``model`` for ``seconds`` (the provider said Retry-After)."""

    async def close(self) -> None: ...


@dataclass
class _Bucket:
    capacity: float
    per_second: float
    level: float
    updated_at: float

    def refill(self, now: float) -> None:
        self.level = min(self.capacity, self.level + (now - self.updated_at) * self.per_second)
        self.updated_at = now

    def wait_for(self, amount: float) -> float:
        return max(0.0, (amount - self.level) / self.per_second)


@dataclass
class _ModelState:
    requests: _Bucket | None
    tokens: _Bucket | None
    paused_until: float = 0.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class InProcessRateBucket:
    """Token buckets per model; capacity is one minute's allowance, refilled continuously."""

    def __init__(
        self,
        requests_per_minute: int | None,
        tokens_per_minute: int | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._rpm = requests_per_minute
        self._tpm = tokens_per_minute
        self._clock = clock
        self._models: dict[str, _ModelState] = {}

    def _state(self, model: str) -> _ModelState:
        state = self._models.get(model)
        if state is None:
            now = self._clock()
            state = _ModelState(
                requests=_new_bucket(self._rpm, now),
                tokens=_new_bucket(self._tpm, now),
            )
            self._models[model] = state
        return state

    async def acquire(self, model: str, tokens: int) -> None:
        state = self._state(model)
        # The lock makes waiters queue in order instead of all waking and racing.
        async with state.lock:
            while True:
                now = self._clock()
                wait = state.paused_until - now
                needed_tokens = float(tokens)
                for bucket, amount in ((state.requests, 1.0), (state.tokens, needed_tokens)):
                    if bucket is not None:
                        bucket.refill(now)
                        # A request larger than the whole bucket would wait forever.
                        wait = max(wait, bucket.wait_for(min(amount, bucket.capacity)))
                if wait <= 0:
                    break
                await asyncio.sleep(wait)
            if state.requests is not None:
                state.requests.level -= 1.0
            if state.tokens is not None:
                state.tokens.level -= min(needed_tokens, state.tokens.capacity)

    async def pause(self, model: str, seconds: float) -> None:
        state = self._state(model)
        state.paused_until = max(state.paused_until, self._clock() + seconds)

    async def close(self) -> None:
        pass


def build_rate_bucket(settings: Settings) -> RateBucket:
    """The judge's buckets: in Redis, shared by every process, when SIGHTLINE_REDIS_URL is set
    and a rate is configured; else this process's own (``serve --workers N`` then divides the
    limit between its processes, see ``Settings.judge_settings``)."""
    judge = settings.judge_settings
    rpm, tpm = judge.requests_per_minute, judge.tokens_per_minute
    if not settings.shared_redis_url or (rpm is None and tpm is None):
        return InProcessRateBucket(rpm, tpm)
    try:  # redis-py is loaded only when Redis is configured (the `scale` extra)
        from sightline.engine.redis_limits import RedisRateBucket
    except ModuleNotFoundError as exc:
        if exc.name != "redis":
            raise
        raise RuntimeError(
            "SIGHTLINE_REDIS_URL is set but redis-py is not installed: "
            "pip install 'sightline[scale]'"
        ) from exc
    # While Redis is down each process keeps to its share, as it would without Redis.
    fallback = InProcessRateBucket(_share(rpm, settings.workers), _share(tpm, settings.workers))
    return RedisRateBucket(settings.shared_redis_url, rpm, tpm, fallback=fallback)


def _share(limit: int | None, processes: int) -> int | None:
    return None if limit is None else max(1, limit // processes)


def _new_bucket(per_minute: int | None, now: float) -> _Bucket | None:
    if per_minute is None:
        return None
    return _Bucket(
        capacity=per_minute, per_second=per_minute / 60.0, level=per_minute, updated_at=now
    )


class Limits:
    """Shared by every judge client of a process; construct once (``Limits.from_settings``)."""

    def __init__(self, max_concurrency: int, bucket: RateBucket | None = None) -> None:
        self._semaphore = asyncio.Semaphore(max_concurrency)
        self.max_concurrency = max_concurrency
        # Even without configured limits the bucket carries Retry-After pauses.
        self.bucket: RateBucket = bucket or InProcessRateBucket(None, None)
        self.in_flight = 0
        self.peak_in_flight = 0
        self.requests_started = 0

    @classmethod
    def from_settings(cls, settings: JudgeSettings, bucket: RateBucket | None = None) -> Limits:
        if bucket is None:
            bucket = InProcessRateBucket(settings.requests_per_minute, settings.tokens_per_minute)
        return cls(settings.max_concurrency, bucket)

    @asynccontextmanager
    async def slot(self, model: str, estimated_tokens: int) -> AsyncIterator[None]:
        """Hold one in-flight judge request: rate bucket first, then a concurrency slot."""
        await self.bucket.acquire(model, estimated_tokens)
        async with self._semaphore:
            self.in_flight += 1
            self.requests_started += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            try:
                yield
            finally:
                self.in_flight -= 1

    async def pause(self, model: str, seconds: float) -> None:
        await self.bucket.pause(model, seconds)

    async def close(self) -> None:
        await self.bucket.close()

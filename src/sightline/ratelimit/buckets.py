"""Token buckets in this process's memory: the default backend of the rate limits."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

Clock = Callable[[], float]

# How often idle buckets are dropped. Between sweeps memory holds at most the keys seen in
# the last interval plus a refill time.
SWEEP_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class Rate:
    """A bucket of `burst` requests, refilled at `per_second`; 0 per second = unlimited."""

    per_second: float
    burst: int

    @property
    def unlimited(self) -> bool:
        return self.per_second <= 0


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float
    full_at: float  # from then on it is the same as no bucket at all


class InProcessBuckets:
    """One bucket per key. A bucket left alone until it has refilled is dropped by the next
    sweep (it would answer exactly as a new one), so memory is bounded by the keys active in
    the last refill time rather than every key ever seen."""

    def __init__(self, clock: Clock = time.monotonic, sweep_seconds: float = SWEEP_SECONDS):
        self._clock = clock
        self._sweep_seconds = sweep_seconds
        self._next_sweep = clock() + sweep_seconds
        self._buckets: dict[str, _Bucket] = {}

    def __len__(self) -> int:
        return len(self._buckets)

    async def take(self, key: str, rate: Rate) -> float:
        """Takes one token from `key`'s bucket: 0.0 if there was one, else the seconds
        until there will be one (nothing is taken then)."""
        now = self._clock()
        if now >= self._next_sweep:
            self._sweep(now)
        bucket = self._buckets.get(key)
        if bucket is None:
            tokens = float(rate.burst)
            bucket = self._buckets[key] = _Bucket(tokens, now, now)
        else:
            tokens = min(float(rate.burst), bucket.tokens + (now - bucket.at) * rate.per_second)
        wait = 0.0
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            wait = (1.0 - tokens) / rate.per_second
        bucket.tokens = tokens
        bucket.at = now
        bucket.full_at = now + (rate.burst - tokens) / rate.per_second
        return wait

    async def close(self) -> None:
        self._buckets.clear()

    def _sweep(self, now: float) -> None:
        self._buckets = {k: b for k, b in self._buckets.items() if b.full_at > now}
        self._next_sweep = now + self._sweep_seconds

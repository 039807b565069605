"""Per-API-key request rate limits: a token bucket per key for ingestion (every trace and
span write) and another for run creation; reads are not limited.

    RateLimiter.admit(bucket, scope)   returns, or raises TooManyRequests (429, Retry-After)
    Buckets                            where the tokens are kept:
    ├── InProcessBuckets (buckets.py)  this process's memory (the default)
    └── RedisBuckets (redis.py)        Redis, shared by every process (SIGHTLINE_REDIS_URL)

The routes reach it through `dependencies.IngestScopeDep` / `RunScopeDep`: after auth and
before the body is validated, so a refused request costs little and stores nothing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from enum import StrEnum
from typing import Protocol

from sightline.config import Settings
from sightline.errors import TooManyRequests
from sightline.identity.schemas import Scope
from sightline.ratelimit.buckets import InProcessBuckets, Rate

__all__ = ["Bucket", "Buckets", "InProcessBuckets", "Rate", "RateLimiter", "build_limiter"]


class Bucket(StrEnum):
    INGEST = "ingestion"
    RUNS = "run creation"


class Buckets(Protocol):
    async def take(self, key: str, rate: Rate) -> float:
        """0.0 when a token was taken, else the seconds until one will be there."""
        ...

    async def close(self) -> None: ...


class RateLimiter:
    def __init__(self, buckets: Buckets, rates: Mapping[Bucket, Rate]) -> None:
        self._buckets = buckets
        self._rates = {bucket: rate for bucket, rate in rates.items() if not rate.unlimited}
        self._prefixes = {bucket: f"{bucket.name.lower()}:" for bucket in Bucket}

    async def admit(self, bucket: Bucket, scope: Scope) -> None:
        rate = self._rates.get(bucket)
        if rate is None:
            return
        caller = scope.key_id or scope.org_id  # every resolved scope has a key; be safe
        # .hex, not str(): a fraction of the cost, on every ingestion request.
        wait = await self._buckets.take(self._prefixes[bucket] + caller.hex, rate)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            raise TooManyRequests(
                f"Rate limit exceeded: {bucket} is limited to {rate.per_second:g} requests "
                f"per second per API key (bursts of {rate.burst}). Retry after {seconds} s.",
                retry_after_seconds=seconds,
            )

    async def close(self) -> None:
        await self._buckets.close()


def rates(settings: Settings) -> dict[Bucket, Rate]:
    return {
        Bucket.INGEST: Rate(
            settings.rate_limit_ingest_per_second, settings.rate_limit_ingest_burst
        ),
        Bucket.RUNS: Rate(settings.rate_limit_runs_per_second, settings.rate_limit_runs_burst),
    }


def build_limiter(settings: Settings) -> RateLimiter:
    if not settings.shared_redis_url:
        return RateLimiter(InProcessBuckets(), rates(settings))
    try:  # redis-py is loaded only when Redis is configured (the `scale` extra)
        from sightline.ratelimit.redis import RedisBuckets
    except ModuleNotFoundError as exc:
        if exc.name != "redis":
            raise
        raise RuntimeError(
            "SIGHTLINE_REDIS_URL is set but redis-py is not installed: "
            "pip install 'sightline[scale]'"
        ) from exc
    buckets = RedisBuckets(settings.shared_redis_url, fallback=InProcessBuckets())
    return RateLimiter(buckets, rates(settings))

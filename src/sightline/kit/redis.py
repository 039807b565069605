"""What the Redis-backed limits share (the per-key request limiter, `ratelimit/redis.py`, and
the judge's rate limit, `engine/redis_limits.py`): a client that fails fast and an outage
tracker. Import it only when a Redis URL is set: it loads redis-py (the `scale` extra).

Redis being down must fail nothing: the caller's in-process stand-in takes over, a warning
is logged once per outage, and Redis is tried again every `retry_seconds` (the short
timeout keeps those tries cheap).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

logger = logging.getLogger("sightline")

RETRY_SECONDS = 5.0
TIMEOUT_SECONDS = 0.5
# What a call to an unreachable (or restarting) Redis raises.
UNREACHABLE: tuple[type[Exception], ...] = (RedisError, OSError)


def connect(url: str, timeout_seconds: float = TIMEOUT_SECONDS) -> Redis:
    # No client-side retries: a failed call falls back at once instead of backing off.
    return Redis.from_url(
        url,
        socket_connect_timeout=timeout_seconds,
        socket_timeout=timeout_seconds,
        retry=Retry(NoBackoff(), 0),
    )


def redacted(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"***@{host}").geturl()


class Outage:
    """Whether Redis is to be skipped now, and the one warning (and one recovery line) per
    outage. ``what`` names what is shared, for the log: "rate limits" -> "rate limits are
    kept per process until it answers again"."""

    def __init__(
        self,
        url: str,
        what: str,
        *,
        clock: Callable[[], float] = time.monotonic,
        retry_seconds: float = RETRY_SECONDS,
    ) -> None:
        self._url = redacted(url)
        self._what = what
        self._clock = clock
        self._retry_seconds = retry_seconds
        self._down_until: float | None = None  # while Redis is down: when to try it again

    @property
    def skip(self) -> bool:
        """Down, and not yet time to try again: use the stand-in without asking Redis."""
        return self._down_until is not None and self._clock() < self._down_until

    def failed(self, exc: Exception) -> None:
        if self._down_until is None:
            logger.warning(
                "Redis at %s is unreachable (%s): %s are kept per process until it answers again",
                self._url,
                exc,
                self._what,
            )
        self._down_until = self._clock() + self._retry_seconds

    def answered(self) -> None:
        if self._down_until is not None:
            logger.info("Redis at %s answers again: %s are shared again", self._url, self._what)
            self._down_until = None

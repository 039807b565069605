"""Token buckets in Redis, shared by every process and replica pointed at the same Redis
(SIGHTLINE_REDIS_URL). Only `build_limiter` imports this module, and only when a Redis URL
is set, so the embedded deployment never loads redis-py.

One Lua script refills and takes atomically, on Redis's own clock (TIME), so replicas whose
clocks differ still share one bucket exactly. A bucket expires once it would be full again.

Redis being down must not fail requests: the in-process buckets stand in, a warning is
logged once per outage, and Redis is tried again every RETRY_SECONDS (a short timeout keeps
those tries cheap).
"""

from __future__ import annotations

import logging
import time
from urllib.parse import urlsplit

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from sightline.ratelimit.buckets import Clock, InProcessBuckets, Rate

logger = logging.getLogger("sightline")

KEY_PREFIX = "sightline:ratelimit:"
RETRY_SECONDS = 5.0
TIMEOUT_SECONDS = 0.5

# KEYS[1] the bucket; ARGV[1] tokens per second, ARGV[2] burst. Returns 0 when a token was
# taken, else the milliseconds until one will be there (nothing is taken then).
TAKE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + tonumber(clock[2]) / 1000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = burst
if state[1] then
  tokens = math.min(burst, tonumber(state[1]) + (now - tonumber(state[2])) * rate / 1000)
end
local wait_ms = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait_ms = math.ceil((1 - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) * 1000 / rate) + 1000)
return wait_ms
"""


def redacted(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"***@{host}").geturl()


class RedisBuckets:
    def __init__(
        self,
        url: str,
        fallback: InProcessBuckets,
        *,
        clock: Clock = time.monotonic,
        retry_seconds: float = RETRY_SECONDS,
        timeout_seconds: float = TIMEOUT_SECONDS,
    ) -> None:
        # No client-side retries: a failed call falls back at once instead of backing off.
        self._client = Redis.from_url(
            url,
            socket_connect_timeout=timeout_seconds,
            socket_timeout=timeout_seconds,
            retry=Retry(NoBackoff(), 0),
        )
        self._take = self._client.register_script(TAKE)
        self._url = redacted(url)
        self._fallback = fallback
        self._clock = clock
        self._retry_seconds = retry_seconds
        self._down_until: float | None = None  # while Redis is down: when to try it again

    async def take(self, key: str, rate: Rate) -> float:
        if self._down_until is not None and self._clock() < self._down_until:
            return await self._fallback.take(key, rate)
        try:
            wait_ms = await self._take(keys=[KEY_PREFIX + key], args=[rate.per_second, rate.burst])
        except (RedisError, OSError) as exc:
            if self._down_until is None:
                logger.warning(
                    "Redis at %s is unreachable (%s): rate limits are kept per process "
                    "until it answers again",
                    self._url,
                    exc,
                )
            self._down_until = self._clock() + self._retry_seconds
            return await self._fallback.take(key, rate)
        if self._down_until is not None:
            logger.info("Redis at %s answers again: rate limits are shared again", self._url)
            self._down_until = None
        return int(wait_ms) / 1000

    async def close(self) -> None:
        await self._client.aclose()
        await self._fallback.close()

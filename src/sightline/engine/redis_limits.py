"""The judge's rate limit for the whole deployment: per judge model, a requests-per-minute
and a tokens-per-minute token bucket in Redis, shared by every process pointed at the same
Redis (SIGHTLINE_REDIS_URL: several `serve`, several `worker`). Only
`limits.build_rate_bucket` imports this module, and only when a Redis URL is set, so the
embedded deployment never loads redis-py.

One Lua script refills both buckets and takes from both, or from neither, atomically and on
Redis's own clock (TIME), so processes whose clocks differ still share one budget exactly.
A 429's Retry-After is a pause key every process's `acquire` honours. Keys expire once idle
(a bucket once it would be full again). If Redis cannot be reached, an
`InProcessRateBucket` stands in (`kit.redis.Outage`: one warning per outage, Redis tried
again every few seconds).
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Callable

from sightline.engine.limits import InProcessRateBucket
from sightline.kit.redis import RETRY_SECONDS, TIMEOUT_SECONDS, UNREACHABLE, Outage, connect

KEY_PREFIX = "sightline:judge:"
# A waiter asks Redis again at least this often, so a pause set meanwhile (or one lifted by
# its expiry) is seen; jitter keeps processes that wait for the same refill from waking
# together.
MAX_SLEEP_SECONDS = 1.0
JITTER = 0.1

# KEYS[1] the requests bucket, KEYS[2] the tokens bucket, KEYS[3] the pause key; ARGV[1]
# requests per minute, ARGV[2] tokens per minute (0 = not limited), ARGV[3] the request's
# tokens. Returns 0 when one request and its tokens were taken, else the milliseconds to
# wait (nothing is taken then).
#
# A bucket refills at the per-minute rate but holds only one second's allowance (at least
# one request), and a new requests bucket starts with one: the deployment's requests go
# out evenly paced, so a provider that counts a
# sliding minute never sees more than its limit from them (a bucket holding a whole
# minute would let a second minute's worth through within the first). A request with more
# tokens than the bucket holds is let through once the bucket is full and leaves it in
# debt, which the following requests wait out: the tokens are all counted.
ACQUIRE = """
local paused_ms = redis.call('PTTL', KEYS[3])
if paused_ms > 0 then
  return paused_ms
end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + tonumber(clock[2]) / 1000
local rates = {tonumber(ARGV[1]), tonumber(ARGV[2])}
local amounts = {1, tonumber(ARGV[3])}
local levels = {}
local wait_ms = 0
for i = 1, 2 do
  local per_minute = rates[i]
  if per_minute > 0 then
    local capacity = math.max(1, per_minute / 60)
    local state = redis.call('HMGET', KEYS[i], 'level', 'at')
    -- A fresh requests bucket starts with one request, not a second's worth: a first
    -- minute then holds at most one request more than the limit.
    local level = capacity
    if i == 1 then
      level = 1
    end
    if state[1] then
      local refill = (now - tonumber(state[2])) * per_minute / 60000
      level = math.min(capacity, tonumber(state[1]) + refill)
    end
    local needed = math.min(amounts[i], capacity)
    if level < needed then
      wait_ms = math.max(wait_ms, math.ceil((needed - level) * 60000 / per_minute))
    end
    levels[i] = level - amounts[i]
  end
end
if wait_ms > 0 then
  return wait_ms
end
for i = 1, 2 do
  local per_minute = rates[i]
  if per_minute > 0 then
    local capacity = math.max(1, per_minute / 60)
    redis.call('HSET', KEYS[i], 'level', tostring(levels[i]), 'at', tostring(now))
    local full_in_ms = math.ceil((capacity - levels[i]) * 60000 / per_minute)
    redis.call('PEXPIRE', KEYS[i], full_in_ms + 1000)
  end
end
return 0
"""

# KEYS[1] the pause key; ARGV[1] milliseconds. Keeps whichever deadline is later.
PAUSE = """
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
end
return 0
"""


class RedisRateBucket:
    """A ``RateBucket`` whose budget every process shares; ``None`` = that limit is off."""

    def __init__(
        self,
        url: str,
        requests_per_minute: int | None,
        tokens_per_minute: int | None,
        *,
        fallback: InProcessRateBucket | None = None,
        key_prefix: str = KEY_PREFIX,
        clock: Callable[[], float] = time.monotonic,
        retry_seconds: float = RETRY_SECONDS,
        timeout_seconds: float = TIMEOUT_SECONDS,
    ) -> None:
        self.requests_per_minute = requests_per_minute
        self.tokens_per_minute = tokens_per_minute
        self._client = connect(url, timeout_seconds)
        self._acquire = self._client.register_script(ACQUIRE)
        self._pause = self._client.register_script(PAUSE)
        self._fallback = fallback or InProcessRateBucket(requests_per_minute, tokens_per_minute)
        self._prefix = key_prefix
        self._outage = Outage(url, "judge rate limits", clock=clock, retry_seconds=retry_seconds)
        self._locks: dict[str, asyncio.Lock] = {}

    def _keys(self, model: str) -> list[str]:
        # One hash tag per model: the script's keys stay in one slot on a Redis Cluster.
        base = f"{self._prefix}{{{model}}}"
        return [f"{base}:requests", f"{base}:tokens", f"{base}:paused"]

    async def acquire(self, model: str, tokens: int) -> None:
        # This process's callers of a model queue here, so one of them at a time asks Redis.
        async with self._locks.setdefault(model, asyncio.Lock()):
            args = [self.requests_per_minute or 0, self.tokens_per_minute or 0, max(0, tokens)]
            while True:
                if self._outage.skip:
                    return await self._fallback.acquire(model, tokens)
                try:
                    wait_ms = int(await self._acquire(keys=self._keys(model), args=args))
                except UNREACHABLE as exc:
                    self._outage.failed(exc)
                    return await self._fallback.acquire(model, tokens)
                self._outage.answered()
                if wait_ms <= 0:
                    return
                seconds = min(wait_ms / 1000, MAX_SLEEP_SECONDS)
                await asyncio.sleep(seconds * (1 + random.uniform(0, JITTER)))

    async def pause(self, model: str, seconds: float) -> None:
        # The stand-in keeps the pause too, in case Redis goes down before it ends.
        await self._fallback.pause(model, seconds)
        if seconds <= 0 or self._outage.skip:
            return
        try:
            await self._pause(keys=self._keys(model)[2:], args=[math.ceil(seconds * 1000)])
        except UNREACHABLE as exc:
            self._outage.failed(exc)
            return
        self._outage.answered()

    async def close(self) -> None:
        await self._client.aclose()
        await self._fallback.close()

"""Token buckets in Redis, shared by every process and replica pointed at the same Redis
(SIGHTLINE_REDIS_URL). Only `build_limiter` imports this module, and only when a Redis URL
is set, so the embedded deployment never loads redis-py.

One Lua script refills and takes atomically, on Redis's own clock (TIME), so replicas whose
clocks differ still share one bucket exactly. A bucket expires once it would be full again.

Redis being down must not fail requests: the in-process buckets stand in, a warning is
logged once per outage, and Redis is tried again every RETRY_SECONDS (`kit.redis.Outage`;
a short timeout keeps those tries cheap).
"""

from __future__ import annotations

import time

from sightline.kit.redis import RETRY_SECONDS, TIMEOUT_SECONDS, UNREACHABLE, Outage, connect
from sightline.kit.redis import redacted as redacted
from sightline.ratelimit.buckets import Clock, InProcessBuckets, Rate

KEY_PREFIX = "sightline:ratelimit:"

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
        self._client = connect(url, timeout_seconds)
        self._take = self._client.register_script(TAKE)
        self._fallback = fallback
        self._outage = Outage(url, "rate limits", clock=clock, retry_seconds=retry_seconds)

    async def take(self, key: str, rate: Rate) -> float:
        if self._outage.skip:
            return await self._fallback.take(key, rate)
        try:
            wait_ms = await self._take(keys=[KEY_PREFIX + key], args=[rate.per_second, rate.burst])
        except UNREACHABLE as exc:
            self._outage.failed(exc)
            return await self._fallback.take(key, rate)
        self._outage.answered()
        return int(wait_ms) / 1000

    async def close(self) -> None:
        await self._client.aclose()
        await self._fallback.close()

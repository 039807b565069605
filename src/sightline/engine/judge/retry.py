"""Retrying judge requests: exponential backoff with full jitter, capped, Retry-After aware."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from sightline.config import JudgeSettings
from sightline.engine.errors import JudgeRateLimited, RetryableJudgeError
from sightline.engine.judge.errors import classify
from sightline.engine.limits import Limits

# A provider asking for more than this is treated as an outage, not a pause.
_MAX_RETRY_AFTER_SECONDS = 300.0

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 6
    base_seconds: float = 0.5
    max_seconds: float = 30.0

    @classmethod
    def from_settings(cls, settings: JudgeSettings) -> RetryPolicy:
        return cls(
            settings.max_attempts, settings.backoff_base_seconds, settings.backoff_max_seconds
        )

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        ceiling = min(self.max_seconds, self.base_seconds * 2 ** (attempt - 1))
        # Full jitter spreads synchronized callers; the floor forbids a tight loop.
        backoff = max(self.base_seconds / 10, rng.uniform(0, ceiling))
        if retry_after is None:
            return backoff
        honoured = min(retry_after, _MAX_RETRY_AFTER_SECONDS)
        return honoured + rng.uniform(0, min(self.base_seconds, honoured or self.base_seconds))


async def with_retries(
    attempt: Callable[[], Awaitable[T]],
    *,
    policy: RetryPolicy,
    limits: Limits,
    model: str,
    sleep: Sleep = asyncio.sleep,
    rng: random.Random | None = None,
) -> T:
    """Run ``attempt`` until it succeeds, fails permanently, or attempts run out.

    Every failure goes through ``classify``; only RetryableJudgeError is tried again.
    """
    rng = rng or random.Random()
    for number in range(1, policy.max_attempts + 1):
        try:
            return await attempt()
        except Exception as exc:
            error = classify(exc)
            if not isinstance(error, RetryableJudgeError):
                raise error from exc
            if number == policy.max_attempts:
                raise type(error)(
                    f"judge call to {model} failed after {number} attempts: {error}"
                ) from exc
            retry_after = error.retry_after_seconds if isinstance(error, JudgeRateLimited) else None
            if retry_after:
                await limits.pause(model, min(retry_after, _MAX_RETRY_AFTER_SECONDS))
            await sleep(policy.delay(number, retry_after, rng))
    raise AssertionError("unreachable: max_attempts >= 1")

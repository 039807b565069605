"""The in-process token bucket on a clock of its own (its `clock` parameter), and the
limiter's answer: exact refill arithmetic, Retry-After, idle buckets evicted, 0 = unlimited."""

from __future__ import annotations

import uuid

import pytest

from sightline.errors import TooManyRequests
from sightline.identity.schemas import Scope
from sightline.ratelimit import Bucket, InProcessBuckets, Rate, RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_bucket_holds_its_burst_and_refills_at_its_rate() -> None:
    clock = Clock()
    buckets = InProcessBuckets(clock=clock)
    rate = Rate(per_second=2.0, burst=3)
    assert [await buckets.take("k", rate) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert await buckets.take("k", rate) == pytest.approx(0.5)  # one token in 0.5 s
    clock.now += 0.25
    assert await buckets.take("k", rate) == pytest.approx(0.25)  # refused: nothing taken
    clock.now += 0.25
    assert await buckets.take("k", rate) == 0.0
    assert await buckets.take("other", rate) == 0.0  # keys have buckets of their own
    clock.now += 60  # full again, never above the burst
    assert [await buckets.take("k", rate) for _ in range(4)][-1] == pytest.approx(0.5)


async def test_idle_buckets_are_evicted_once_full_again() -> None:
    clock = Clock()
    buckets = InProcessBuckets(clock=clock, sweep_seconds=10)
    rate = Rate(per_second=1.0, burst=5)
    for n in range(100):
        await buckets.take(f"idle-{n}", rate)  # full again 1 s later
    clock.now += 8
    for _ in range(5):
        await buckets.take("busy", rate)  # empty: full again 5 s later
    assert len(buckets) == 101
    clock.now += 2.5  # the sweep is due: the idle buckets go, "busy" (2.5 tokens) stays
    assert [await buckets.take("busy", rate) for _ in range(3)] == [0.0, 0.0, 0.5]
    assert len(buckets) == 1


def _scope() -> Scope:
    return Scope(org_id=uuid.uuid4(), project_id=uuid.uuid4(), key_id=uuid.uuid4())


async def test_the_limiter_names_the_limit_and_rounds_retry_after_up() -> None:
    clock = Clock()
    limiter = RateLimiter(
        InProcessBuckets(clock=clock),
        {Bucket.INGEST: Rate(0.4, 1), Bucket.RUNS: Rate(0, 1)},
    )
    scope = _scope()
    await limiter.admit(Bucket.INGEST, scope)
    with pytest.raises(TooManyRequests) as refused:
        await limiter.admit(Bucket.INGEST, scope)
    assert refused.value.headers == {"Retry-After": "3"}  # 2.5 s, in whole seconds
    assert refused.value.detail == (
        "Rate limit exceeded: ingestion is limited to 0.4 requests per second per API key "
        "(bursts of 1). Retry after 3 s."
    )
    await limiter.admit(Bucket.INGEST, _scope())  # another key
    for _ in range(1000):  # 0 per second = unlimited
        await limiter.admit(Bucket.RUNS, scope)
    clock.now += 2.5
    await limiter.admit(Bucket.INGEST, scope)

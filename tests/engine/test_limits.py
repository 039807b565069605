from __future__ import annotations

import asyncio
import time

from pydantic import BaseModel

from fakes.openai_server import FakeJudgeServer
from sightline.engine.judge import JudgeRequest, LiteLLMJudge
from sightline.engine.limits import InProcessRateBucket, Limits

from .conftest import make_settings


class Grade(BaseModel):
    score: float
    reason: str


async def test_concurrency_is_bounded_and_peak_is_tracked(fake_server: FakeJudgeServer) -> None:
    fake_server.latency_seconds = 0.1
    settings = make_settings(fake_server, max_concurrency=3)
    limits = Limits.from_settings(settings)
    judge = LiteLLMJudge(settings, limits=limits)
    await asyncio.gather(*(judge.complete(JudgeRequest(f"q{i}", Grade)) for i in range(12)))
    assert limits.peak_in_flight == 3
    assert fake_server.max_in_flight <= 3
    assert limits.in_flight == 0


async def test_a_429_storm_still_completes_and_pauses_the_model(
    fake_server: FakeJudgeServer,
) -> None:
    settings = make_settings(fake_server, max_concurrency=8, max_attempts=6)
    judge = LiteLLMJudge(settings)
    fake_server.fail_next(429, times=10, retry_after=0.2)
    started = time.monotonic()
    results = await asyncio.gather(
        *(judge.complete(JudgeRequest(f"q{i}", Grade)) for i in range(10))
    )
    assert len(results) == 10
    assert time.monotonic() - started >= 0.2
    assert len(fake_server.chat_requests()) == 20


async def test_requests_per_minute_are_paced() -> None:
    bucket = InProcessRateBucket(requests_per_minute=600, tokens_per_minute=None)
    # A fresh bucket allows one minute's burst; drain it, then 5 more need ~0.5 s at 10/s.
    for _ in range(600):
        await bucket.acquire("m", 1)
    started = time.monotonic()
    for _ in range(5):
        await bucket.acquire("m", 1)
    assert 0.4 <= time.monotonic() - started < 2.0


async def test_tokens_per_minute_are_paced_and_oversized_requests_do_not_deadlock() -> None:
    bucket = InProcessRateBucket(requests_per_minute=None, tokens_per_minute=6000)
    await bucket.acquire("m", 100_000)  # larger than the bucket: takes all of it, once
    started = time.monotonic()
    await bucket.acquire("m", 50)  # 100 tokens/s refill
    assert 0.3 <= time.monotonic() - started < 2.0


async def test_pause_holds_every_caller_of_that_model_only() -> None:
    limits = Limits(max_concurrency=4)
    await limits.pause("slow-model", 0.3)
    started = time.monotonic()
    async with limits.slot("other-model", 10):
        assert time.monotonic() - started < 0.1
    async with limits.slot("slow-model", 10):
        assert time.monotonic() - started >= 0.3

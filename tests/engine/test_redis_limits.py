"""The judge's rate limit in Redis (SIGHTLINE_REDIS_URL): two buckets stand for two processes
and share one budget per model, on Redis's clock; a pause from one holds the other; an
unreachable Redis fails nothing (the in-process bucket stands in, with one warning); and the
executor's limits use it, undivided, under `serve --workers N`."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from sightline.config import Settings
from sightline.engine.executor import Executor
from sightline.engine.limits import InProcessRateBucket, Limits, build_rate_bucket
from sightline.engine.redis_limits import RedisRateBucket
from sightline.kit.redis import redacted
from tests.support.redis_server import any_redis, own_redis_server
from tests.support.server import free_port

MakeBucket = Callable[..., RedisRateBucket]


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with any_redis() as url:
        yield url


@pytest.fixture
def prefix() -> str:
    return f"sightline:test:{uuid.uuid4().hex}:"


@pytest.fixture
async def make_bucket(redis_url: str, prefix: str) -> AsyncIterator[MakeBucket]:
    made: list[RedisRateBucket] = []

    def make(rpm: int | None = None, tpm: int | None = None, **options: Any) -> RedisRateBucket:
        options = {"key_prefix": prefix, **options}
        bucket = RedisRateBucket(options.pop("url", redis_url), rpm, tpm, **options)
        made.append(bucket)
        return bucket

    yield make
    for bucket in made:
        await bucket.close()


async def test_two_processes_share_one_rate_paced_evenly(make_bucket: MakeBucket) -> None:
    """600 a minute is one request every 0.1 s for both together, from the first request
    on: never a minute's (or even a second's) worth at once, which a provider counting a
    sliding minute would refuse."""
    one, two = make_bucket(rpm=600), make_bucket(rpm=600)

    async def take(bucket: RedisRateBucket, times: int) -> None:
        for _ in range(times):
            await bucket.acquire("judge-model", 10)

    started = time.monotonic()
    await take(one, 1)  # a fresh bucket lets one request through at once
    assert time.monotonic() - started < 0.3
    started = time.monotonic()
    await asyncio.gather(take(one, 10), take(two, 10))  # 20 more: 2 s at 10 a second
    assert 1.7 <= time.monotonic() - started < 4.0


async def test_tokens_per_minute_count_tokens_and_idle_keys_expire(
    make_bucket: MakeBucket, redis_url: str, prefix: str
) -> None:
    one, two = make_bucket(tpm=6000), make_bucket(tpm=6000)  # 100 tokens per second
    started = time.monotonic()
    await one.acquire("judge-model", 150)  # more than the bucket holds: let through, in debt
    for _ in range(20):  # no requests-per-minute limit; another model has its own tokens
        await one.acquire("other-model", 5)
    assert time.monotonic() - started < 0.5
    await two.acquire("judge-model", 50)  # waits out the debt (50) and its own 50 tokens
    assert 0.9 <= time.monotonic() - started < 2.5

    store = aioredis.Redis.from_url(redis_url)
    try:
        keys = sorted(k.decode() for k in await store.keys(f"{prefix}*"))
        assert keys == [f"{prefix}{{judge-model}}:tokens", f"{prefix}{{other-model}}:tokens"]
        for key in keys:
            assert 0 < await store.pttl(key) <= 61_000  # gone once it would be full again
    finally:
        await store.aclose()


async def test_a_pause_from_one_process_holds_the_others_callers_of_that_model(
    make_bucket: MakeBucket,
) -> None:
    one, two = make_bucket(rpm=600), make_bucket(rpm=600)
    await one.pause("judge-model", 0.5)
    await one.pause("judge-model", 0.1)  # an earlier deadline does not shorten the pause
    started = time.monotonic()
    await two.acquire("other-model", 10)
    assert time.monotonic() - started < 0.2
    await two.acquire("judge-model", 10)
    assert 0.45 <= time.monotonic() - started < 2.0


async def test_unreachable_redis_falls_back_to_the_process_bucket_with_one_warning(
    make_bucket: MakeBucket, caplog: pytest.LogCaptureFixture
) -> None:
    down = f"redis://:secret@127.0.0.1:{free_port()}/0"  # nothing listens there
    caplog.set_level(logging.WARNING, logger="sightline")
    bucket = make_bucket(rpm=120, url=down)
    started = time.monotonic()
    for _ in range(120):
        await bucket.acquire("judge-model", 10)
    await bucket.pause("other-model", 0.3)
    assert time.monotonic() - started < 1.0
    await bucket.acquire("judge-model", 10)  # the fallback still keeps to 2 per second
    assert time.monotonic() - started >= 0.4
    warnings = [r.getMessage() for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(warnings) == 1, warnings
    assert redacted(down) in warnings[0] and "secret" not in warnings[0]


async def test_redis_is_used_again_once_it_answers(
    make_bucket: MakeBucket, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    caplog.set_level(logging.INFO, logger="sightline")
    bucket = make_bucket(rpm=60, url=f"redis://127.0.0.1:{port}/0", retry_seconds=0.1)
    other = make_bucket(rpm=60, url=f"redis://127.0.0.1:{port}/0")
    await bucket.acquire("judge-model", 10)  # Redis is down: the process bucket answers
    with own_redis_server(port):
        await asyncio.sleep(0.15)
        await bucket.acquire("judge-model", 10)  # shared again: this second's request...
        started = time.monotonic()
        await other.acquire("judge-model", 10)  # ...is gone for the other process too
        assert time.monotonic() - started >= 0.8
        await bucket.close()  # before its Redis stops
        await other.close()
    messages = [r.getMessage() for r in caplog.records]
    assert sum("unreachable" in m for m in messages) == 1
    assert sum("are shared again" in m for m in messages) == 1


async def test_the_executor_shares_the_redis_limit_undivided_between_serve_workers(
    redis_url: str, tmp_path: Path
) -> None:
    shared = Settings(
        redis_url=redis_url, judge_rpm=120, judge_tpm=60_000, workers=4, data_dir=tmp_path
    )
    assert shared.judge_settings.requests_per_minute == 120
    bucket = build_rate_bucket(shared)
    assert isinstance(bucket, RedisRateBucket)
    assert (bucket.requests_per_minute, bucket.tokens_per_minute) == (120, 60_000)
    await bucket.close()

    engine = create_async_engine("sqlite+aiosqlite://")
    executor = Executor(shared, async_sessionmaker(engine))
    try:
        assert isinstance(executor.limits.bucket, RedisRateBucket)
        assert executor.limits.bucket.requests_per_minute == 120
    finally:
        await executor.limits.close()
        await engine.dispose()

    # Without Redis each of the 4 processes keeps to its quarter; without a rate, no Redis.
    divided = Settings(redis_url=None, judge_rpm=120, workers=4)
    assert divided.judge_settings.requests_per_minute == 30
    assert isinstance(build_rate_bucket(divided), InProcessRateBucket)
    assert isinstance(build_rate_bucket(Settings(redis_url=redis_url)), InProcessRateBucket)
    limits = Limits.from_settings(shared.judge_settings, build_rate_bucket(shared))
    try:
        assert isinstance(limits.bucket, RedisRateBucket)
    finally:
        await limits.close()

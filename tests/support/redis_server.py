"""A real Redis for tests: the one at 127.0.0.1:6379 (CI's), else a `redis-server` of our own
on a free port, else skip (fail under SIGHTLINE_REQUIRE_SERVICES), as helpers a fixture can
call."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import redis

from tests.conftest import skip_or_fail
from tests.support.server import free_port

DEFAULT_REDIS_URL = os.environ.get("SIGHTLINE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def answers(url: str) -> bool:
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


@contextmanager
def own_redis_server(port: int | None = None) -> Iterator[str]:
    """A `redis-server` of our own (no persistence) on ``port``, stopped on exit."""
    server = shutil.which("redis-server")
    if server is None:
        skip_or_fail("redis-server is not installed")
    port = port or free_port()
    args = [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 10
        while not answers(url):
            if process.poll() is not None or time.monotonic() > deadline:
                skip_or_fail(f"redis-server did not start on port {port}")
            time.sleep(0.02)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextmanager
def any_redis() -> Iterator[str]:
    if answers(DEFAULT_REDIS_URL):
        yield DEFAULT_REDIS_URL
        return
    with own_redis_server() as url:
        yield url

"""A real Redis for the shared-bucket tests: the one at 127.0.0.1:6379 (CI's), else a
`redis-server` of our own on a free port, else skip (fail under SIGHTLINE_REQUIRE_SERVICES)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator

import pytest
import redis

from tests.conftest import skip_or_fail
from tests.support.server import free_port

DEFAULT_REDIS_URL = os.environ.get("SIGHTLINE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _answers(url: str) -> bool:
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    if _answers(DEFAULT_REDIS_URL):
        yield DEFAULT_REDIS_URL
        return
    server = shutil.which("redis-server")
    if server is None:
        skip_or_fail(f"Redis is not reachable at {DEFAULT_REDIS_URL} and redis-server is absent")
    port = free_port()
    args = [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 10
        while not _answers(url):
            if process.poll() is not None or time.monotonic() > deadline:
                skip_or_fail(f"redis-server did not start on port {port}")
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)

"""A real Redis for the shared-bucket tests (tests/support/redis_server.py: the one at
127.0.0.1:6379, else a `redis-server` of our own, else skip, or fail under
SIGHTLINE_REQUIRE_SERVICES)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.redis_server import any_redis


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    with any_redis() as url:
        yield url

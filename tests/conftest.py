"""Test infrastructure: every test runs against real SQLite and, with --db=postgres|all,
real PostgreSQL. Each test gets its own organization and project, so tests share one
migrated database per backend yet can never see each other's data (tenancy does the
isolation, which also exercises it)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from fastapi import FastAPI

from sightline.app import create_app
from sightline.config import Settings
from sightline.db import migrate
from sightline.db.session import transaction
from sightline.identity import service as identity

PG_ADMIN_URL = os.environ.get(
    "SIGHTLINE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REQUIRE_SERVICES = os.environ.get("SIGHTLINE_REQUIRE_SERVICES") == "1"
T = TypeVar("T")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        default="all",
        choices=["sqlite", "postgres", "all"],
        help="Database backends to run the tests on (default: all).",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        choice = metafunc.config.getoption("--db")
        backends = ["sqlite", "postgres"] if choice == "all" else [choice]
        if metafunc.definition.get_closest_marker("postgres_only"):
            backends = [b for b in backends if b == "postgres"]
        metafunc.parametrize("backend", backends, scope="session")


def skip_or_fail(reason: str) -> None:
    """Missing services skip on a developer's machine; CI sets SIGHTLINE_REQUIRE_SERVICES=1."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (SIGHTLINE_REQUIRE_SERVICES=1 forbids skipping)")
    pytest.skip(reason)


def in_thread(fn: Callable[[], T]) -> T:
    """Run blocking set-up that uses its own event loop (asyncio.run, Alembic) in a worker
    thread, so it never disturbs the session-wide loop that pytest-asyncio owns."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn).result()


async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _create_pg_database(name: str) -> str:
    try:
        in_thread(lambda: asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"')))
    except (TimeoutError, OSError) as exc:
        skip_or_fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc}")
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{name}"


@pytest.fixture(scope="session")
def database_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A freshly migrated database per backend, built with `alembic upgrade head`."""
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "sightline.db"
        url = f"sqlite+aiosqlite:///{path}"
        in_thread(lambda: migrate.upgrade(url))
        yield url
        return
    name = f"sightline_test_{uuid.uuid4().hex[:12]}"
    url = _create_pg_database(name)
    in_thread(lambda: migrate.upgrade(url))
    yield url
    in_thread(lambda: asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')))


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


def make_settings(database_url: str, data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "data_dir": data_dir,
        "auth_cache_seconds": 0,
        "run_scheduler": False,
        "environment": "test",
    }
    values.update(overrides)
    return Settings(**values)


@asynccontextmanager
async def running_app(settings: Settings) -> AsyncIterator[FastAPI]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture(scope="session")
async def app(database_url: str, data_dir: Path) -> AsyncIterator[FastAPI]:
    async with running_app(make_settings(database_url, data_dir)) as application:
        yield application


@dataclass
class Tenant:
    """An organization with a key, and a client whose headers select one of its projects."""

    org_id: uuid.UUID
    org_name: str
    api_key: str
    project: str
    client: httpx.AsyncClient

    def headers(self, project: str | None = None) -> dict[str, str]:
        return {"X-API-Key": self.api_key, "X-Project-Name": project or self.project}


async def new_tenant(app: FastAPI, client: httpx.AsyncClient) -> Tenant:
    org_name = f"org-{uuid.uuid4().hex[:10]}"
    async with transaction(app.state.session_factory) as session:
        org = await identity.create_org(session, org_name)
        created = await identity.create_key(session, org, "test")
    return Tenant(org.id, org_name, created.raw_key, "proj-main", client)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sightline.test") as c:
        yield c


@pytest.fixture
async def tenant(app: FastAPI, client: httpx.AsyncClient) -> Tenant:
    tenant = await new_tenant(app, client)
    client.headers.update(tenant.headers())
    return tenant

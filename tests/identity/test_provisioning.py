"""Start-up provisioning and key bookkeeping, through a real app lifespan per test."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from sightline.config import Settings
from sightline.db.models import ApiKey, Organization, Project
from sightline.identity.keys import hash_key
from tests.conftest import make_settings, running_app


async def test_init_org_and_key_are_idempotent(database_url: str, tmp_path: Path) -> None:
    org = f"init-{uuid.uuid4().hex[:8]}"
    raw = "sk_sl_" + uuid.uuid4().hex * 2
    settings = make_settings(database_url, tmp_path, init_org=org, init_api_key=raw)
    for _ in range(2):  # a restart must not duplicate anything
        async with running_app(settings) as app:
            async with app.state.session_factory() as session:
                orgs = (
                    (await session.execute(select(Organization).where(Organization.name == org)))
                    .scalars()
                    .all()
                )
                keys = (
                    (await session.execute(select(ApiKey).where(ApiKey.key_hash == hash_key(raw))))
                    .scalars()
                    .all()
                )
            assert len(orgs) == 1
            assert len(keys) == 1
            assert keys[0].org_id == orgs[0].id
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                response = await client.get(
                    "/traces", headers={"X-API-Key": raw, "X-Project-Name": "p"}
                )
            assert response.status_code == 200, response.text


async def test_bearer_with_project_id(database_url: str, tmp_path: Path) -> None:
    org = f"bearer-{uuid.uuid4().hex[:8]}"
    raw = "sk_sl_" + uuid.uuid4().hex * 2
    settings = make_settings(database_url, tmp_path, init_org=org, init_api_key=raw)
    async with running_app(settings) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            await client.get("/traces", headers={"X-API-Key": raw, "X-Project-Name": "alpha"})
            async with app.state.session_factory() as session:
                project = (
                    (await session.execute(select(Project).where(Project.name == "alpha")))
                    .scalars()
                    .first()
                )
            assert project is not None
            bearer = {"Authorization": f"Bearer {raw}"}
            ok = await client.get("/traces", headers={**bearer, "X-Project-ID": str(project.id)})
            assert ok.status_code == 200
            bad_uuid = await client.get("/traces", headers={**bearer, "X-Project-ID": "nope"})
            assert bad_uuid.status_code == 422
            assert bad_uuid.json()["detail"] == "X-Project-ID must be a valid UUID."
            foreign = await client.get(
                "/traces", headers={**bearer, "X-Project-ID": str(uuid.uuid4())}
            )
            assert foreign.status_code == 422
            missing = await client.get("/traces", headers=bearer)
            assert missing.status_code == 422
            assert missing.json()["detail"].startswith("Project scope required")


async def test_last_used_is_recorded_outside_requests(database_url: str, tmp_path: Path) -> None:
    org = f"usage-{uuid.uuid4().hex[:8]}"
    raw = "sk_sl_" + uuid.uuid4().hex * 2
    settings = make_settings(database_url, tmp_path, init_org=org, init_api_key=raw)
    async with running_app(settings) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            await client.get("/traces", headers={"X-API-Key": raw, "X-Project-Name": "p"})
        await app.state.auth.flush_usage()
        async with app.state.session_factory() as session:
            key = (
                await session.execute(select(ApiKey).where(ApiKey.key_hash == hash_key(raw)))
            ).scalar_one()
        assert key.last_used_at is not None


async def test_first_start_prints_a_key_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for _ in range(2):  # embedded default: SQLite in the data dir
        async with running_app(Settings(data_dir=tmp_path, run_scheduler=False)):
            pass
    out = capsys.readouterr().out
    assert out.count("sk_sl_") == 1
    assert "Sign in to the dashboard at http://127.0.0.1:8000/ui" in out

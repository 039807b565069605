"""`sightline orgs|keys|db` against the real database of each backend."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import Result
from fastapi import FastAPI
from typer.testing import CliRunner

from sightline.cli.main import app as cli
from tests.conftest import in_thread

runner = CliRunner()


def invoke(args: list[str], env: dict[str, str], **kwargs: Any) -> Result:
    # The CLI runs its own event loop (asyncio.run); keep it off the test loop's thread.
    return in_thread(lambda: runner.invoke(cli, args, env=env, **kwargs))


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {"SIGHTLINE_DATABASE_URL": database_url, "SIGHTLINE_DATA_DIR": str(tmp_path)}


def test_org_and_key_lifecycle(cli_env: dict[str, str]) -> None:
    org = f"cli-{uuid.uuid4().hex[:8]}"
    created = invoke(["orgs", "create", org], env=cli_env)
    assert created.exit_code == 0, created.output
    assert org in invoke(["orgs", "list"], env=cli_env).output

    duplicate = invoke(["orgs", "create", org], env=cli_env)
    assert duplicate.exit_code == 1
    assert "already exists" in duplicate.output

    made = invoke(["keys", "create", "--org", org, "--name", "ci"], env=cli_env)
    assert made.exit_code == 0, made.output
    raw_key = made.output.strip().splitlines()[-1]
    assert re.fullmatch(r"sk_sl_[0-9a-f]{64}", raw_key)

    listed = invoke(["keys", "list", "--org", org], env=cli_env, terminal_width=200)
    assert raw_key[:10] in listed.output
    assert raw_key not in listed.output  # only the prefix is ever shown
    assert "active" in listed.output

    revoked = invoke(["keys", "revoke", raw_key[:10]], env=cli_env)
    assert revoked.exit_code == 0, revoked.output
    relisted = invoke(["keys", "list", "--org", org], env=cli_env, terminal_width=200)
    assert "revoked" in relisted.output


def test_key_for_unknown_org_fails_cleanly(cli_env: dict[str, str]) -> None:
    result = invoke(["keys", "create", "--org", "no-such-org"], env=cli_env)
    assert result.exit_code == 1
    assert "not found" in result.output


async def test_revoked_key_is_refused(
    app: FastAPI, client: httpx.AsyncClient, cli_env: dict[str, str]
) -> None:
    org = f"cli-{uuid.uuid4().hex[:8]}"
    invoke(["orgs", "create", org], env=cli_env)
    raw_key = invoke(["keys", "create", "--org", org], env=cli_env).output.split()[-1]
    headers = {"X-API-Key": raw_key, "X-Project-Name": "p1"}
    assert (await client.get("/health", headers=headers)).status_code == 200
    ok = await client.get("/traces", headers=headers)
    assert ok.status_code == 200, ok.text
    invoke(["keys", "revoke", raw_key[:10]], env=cli_env)
    refused = await client.get("/traces", headers=headers)
    assert refused.status_code == 401
    assert refused.json() == {"detail": "Invalid or revoked API key."}

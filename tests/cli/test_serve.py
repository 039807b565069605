"""`sightline serve` says at start-up, once, when the default judge cannot be used."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from tests.support.server import running_server

pytestmark = pytest.mark.slow

WARNING = "Judge not configured"


@pytest.fixture
def no_judge_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """start_server passes this process's environment on: take the judge's vars out."""
    for name in list(os.environ):
        if name.startswith("SIGHTLINE_JUDGE") or name == "OPENAI_API_KEY":
            monkeypatch.delenv(name)


def test_serve_warns_once_without_judge_credentials(tmp_path: Path, no_judge_env: None) -> None:
    env = {"SIGHTLINE_JUDGE_MODEL": "openai/gpt-4o-mini", "SIGHTLINE_WORKERS": "2"}
    with running_server(tmp_path / "data", env) as server:
        judge = httpx.get(f"{server.base_url}/health").json()["judge"]
        log = server.log()
    lines = [line for line in log.splitlines() if WARNING in line]
    assert len(lines) == 1, log  # two server processes, one line
    assert lines[0].startswith(WARNING)
    assert "openai/gpt-4o-mini" in lines[0] and "OPENAI_API_KEY" in lines[0]
    assert "SIGHTLINE_JUDGE_API_BASE" in lines[0]
    assert judge["configured"] is False and judge["message"] in lines[0]


def test_serve_is_quiet_when_the_judge_is_configured(tmp_path: Path, no_judge_env: None) -> None:
    env = {"SIGHTLINE_JUDGE_API_BASE": "http://127.0.0.1:9/v1"}
    with running_server(tmp_path / "data", env) as server:
        judge = httpx.get(f"{server.base_url}/health").json()["judge"]
        log = server.log()
    assert WARNING not in log
    assert judge["configured"] is True

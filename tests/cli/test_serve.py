"""What `sightline serve` says at start-up: once, when the default judge cannot be used; and
what start-up cost."""

from __future__ import annotations

import os
import re
import time
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


def test_serve_loads_the_judge_stack_before_it_answers_and_says_what_it_cost(
    tmp_path: Path, no_judge_env: None
) -> None:
    """LiteLLM is imported before the socket is served (never beside live requests), and
    the start-up cost is printed, once per server process."""
    env = {"SIGHTLINE_JUDGE_API_BASE": "http://127.0.0.1:9/v1", "SIGHTLINE_WORKERS": "2"}
    with running_server(tmp_path / "data", env) as server:
        judge = httpx.get(f"{server.base_url}/health").json()["judge"]
        deadline = time.monotonic() + 60  # the other process may still be starting
        while (log := server.log()).count("ready in") < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
    assert judge["loaded"] is True  # the very first answer: already loaded
    ready = [line for line in log.splitlines() if "ready in" in line]
    assert len(ready) == 2, log
    assert all(re.search(r"ready in \d+\.\d s \(judge stack \d+\.\d s\)", line) for line in ready)

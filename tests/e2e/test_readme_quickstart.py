"""The README's quickstart, extracted from README.md and run exactly as written against a
real `sightline serve`: the SDK version it installs is the one the tests pin, its exports
configure the SDK, its agent sends a trace that arrives whole, and the SDK warns of nothing."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.server import running_server

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "sk_sl_" + "cd" * 32


def quickstart_blocks() -> tuple[str, str]:
    """The bash and python code blocks of the README's quickstart section."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    bash = re.search(r"```bash\n(.*?)```", section, re.S)
    python = re.search(r"```python\n(.*?)```", section, re.S)
    assert bash is not None and python is not None, "the quickstart lost a code block"
    return bash.group(1), python.group(1)


def exports(bash: str) -> dict[str, str]:
    found = dict(re.findall(r"^export (\w+)=(\S+)", bash, re.M))
    assert set(found) == {"PANDAPROBE_ENDPOINT", "PANDAPROBE_API_KEY", "PANDAPROBE_PROJECT_NAME"}
    return found


def test_the_quickstart_installs_the_pinned_sdk() -> None:
    bash, _ = quickstart_blocks()
    installed = re.search(r"pip install pandaprobe==([\d.]+)", bash)
    pinned = re.search(r'"pandaprobe==([\d.]+)"', (ROOT / "pyproject.toml").read_text())
    assert installed is not None and pinned is not None
    assert installed.group(1) == pinned.group(1)


def _wait_for_trace(base_url: str, headers: dict[str, str]) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        page = httpx.get(f"{base_url}/traces", headers=headers, timeout=10).json()
        if page["items"]:
            trace: dict[str, Any] = httpx.get(
                f"{base_url}/traces/{page['items'][0]['trace_id']}", headers=headers, timeout=10
            ).json()
            return trace
        time.sleep(0.2)
    raise AssertionError("the quickstart's trace never arrived")


def test_the_quickstart_runs_as_written(tmp_path: Path) -> None:
    bash, python = quickstart_blocks()
    env_vars = exports(bash)
    server_env = {"SIGHTLINE_INIT_ORG": "readme", "SIGHTLINE_INIT_API_KEY": API_KEY}
    with running_server(tmp_path / "data", server_env) as server:
        assert env_vars["PANDAPROBE_ENDPOINT"] == "http://127.0.0.1:8000"  # the default port
        # The two values a reader substitutes: this server's URL and the printed key.
        env = {
            **os.environ,
            **env_vars,
            "PANDAPROBE_ENDPOINT": server.base_url,
            "PANDAPROBE_API_KEY": API_KEY,
        }
        done = subprocess.run(
            [sys.executable, "-c", python], env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        assert "warn" not in done.stderr.lower(), done.stderr
        assert done.stderr.strip() == "", done.stderr

        headers = {"X-API-Key": API_KEY, "X-Project-Name": env_vars["PANDAPROBE_PROJECT_NAME"]}
        trace = _wait_for_trace(server.base_url, headers)
    assert trace["name"] == "support-agent"
    question = {"role": "user", "content": "how do I reset my password?"}
    assert trace["input"] == {"messages": [question]}
    assert trace["output"] == {"messages": [{"role": "assistant", "content": "Found 1 docs"}]}
    assert [(s["name"], s["kind"]) for s in trace["spans"]] == [("search_docs", "TOOL")]

"""The unchanged pandaprobe SDK sends traces to a real `sightline serve` process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.fakes.openai_server import FakeJudgeServer
from tests.support.prices import expected_cost
from tests.support.server import running_server

pytestmark = pytest.mark.slow

API_KEY = "sk_sl_" + "ab" * 32
HEADERS = {"X-API-Key": API_KEY, "X-Project-Name": "e2e-project"}


def _run_agent(base_url: str, openai_url: str) -> dict[str, str]:
    env = {
        **os.environ,
        "FAKE_OPENAI_BASE_URL": openai_url,
        "PANDAPROBE_ENDPOINT": base_url,
        "PANDAPROBE_API_KEY": API_KEY,
        "PANDAPROBE_PROJECT_NAME": "e2e-project",
        "PANDAPROBE_FLUSH_INTERVAL": "0.2",
    }
    script = Path(__file__).with_name("sdk_agent.py")
    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _wait_for_traces(base_url: str, count: int) -> list[dict[str, object]]:
    deadline = time.monotonic() + 30
    while True:
        page = httpx.get(f"{base_url}/traces", headers=HEADERS, timeout=10).json()
        if page["total"] >= count or time.monotonic() > deadline:
            return list(page["items"])
        time.sleep(0.2)


def test_sdk_traces_arrive_intact(tmp_path: Path) -> None:
    env = {"SIGHTLINE_INIT_ORG": "e2e", "SIGHTLINE_INIT_API_KEY": API_KEY}
    with running_server(tmp_path / "data", env) as server, FakeJudgeServer() as openai:
        ids = _run_agent(server.base_url, openai.url)
        items = _wait_for_traces(server.base_url, 4)
        by_name = {item["name"]: item for item in items}
        assert set(by_name) == {"support-agent", "chat-turn", "failing-agent", "openai-call"}

        decorated = httpx.get(
            f"{server.base_url}/traces/{by_name['support-agent']['trace_id']}", headers=HEADERS
        ).json()
        assert decorated["tags"] == ["e2e", "decorated"]
        spans = {span["name"]: span for span in decorated["spans"]}
        assert set(spans) == {"search_docs", "chat"}
        assert spans["search_docs"]["kind"] == "TOOL"
        assert spans["chat"]["kind"] == "LLM"
        assert spans["chat"]["model"] == "gpt-4o-mini"
        assert all(span["status"] == "OK" for span in spans.values())

        session = httpx.get(f"{server.base_url}/sessions/conv-42", headers=HEADERS).json()
        assert session["trace_count"] == 1
        assert session["user_id"] == "u-1"
        assert session["total_tokens"] == 17
        assert session["total_cost"] == pytest.approx(0.0015)
        [turn] = session["traces"]
        assert turn["trace_id"] == ids["session_trace"]
        assert turn["output"] == {"messages": [{"role": "assistant", "content": "hello!"}]}

        # wrap_openai sends model and tokens but no cost: the server prices the span.
        wrapped = httpx.get(
            f"{server.base_url}/traces/{ids['openai_trace']}", headers=HEADERS
        ).json()
        [call] = wrapped["spans"]
        assert (call["kind"], call["model"], call["cost_source"]) == (
            "LLM",
            "gpt-4o-mini",
            "price_map",
        )
        usage = call["token_usage"]
        cost = expected_cost("gpt-4o-mini", usage["prompt_tokens"], usage["completion_tokens"])
        assert call["cost"] == pytest.approx(cost)
        assert wrapped["total_cost"] == pytest.approx(cost["total"]) and cost["total"] > 0

        failing = httpx.get(
            f"{server.base_url}/traces/{ids['error_trace']}", headers=HEADERS
        ).json()
        assert failing["status"] == "ERROR"
        [tool] = failing["spans"]
        assert tool["status"] == "ERROR"
        assert "tool exploded" in (tool["error"] or "")

        listed = httpx.get(
            f"{server.base_url}/traces", params={"status": "ERROR"}, headers=HEADERS
        ).json()
        assert [item["trace_id"] for item in listed["items"]] == [ids["error_trace"]]

        scores = httpx.get(
            f"{server.base_url}/evaluations/trace-scores/{ids['session_trace']}", headers=HEADERS
        ).json()
        assert [(s["name"], s["value"], s["source"]) for s in scores] == [
            ("helpfulness", "0.9", "PROGRAMMATIC")
        ]

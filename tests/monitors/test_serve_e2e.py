"""End to end: a real `sightline serve` process whose in-process scheduler turns a monitor
into runs as traffic arrives, judged by the fake OpenAI-compatible server over HTTP."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.evals.factories import agent_trace
from tests.fakes.openai_server import FakeJudgeServer
from tests.support.server import running_server

pytestmark = pytest.mark.slow

API_KEY = "sk_sl_" + "cd" * 32
HEADERS = {"X-API-Key": API_KEY, "X-Project-Name": "monitored"}


def wait_for(what: str, probe: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def post_traces(client: httpx.Client, count: int) -> list[str]:
    ids = []
    for _ in range(count):
        body = agent_trace()
        assert client.post("/traces", json=body).status_code == 202
        ids.append(body["trace_id"])
    return ids


def test_scheduler_in_serve_evaluates_new_traffic(tmp_path: Path) -> None:
    with FakeJudgeServer() as judge:
        env = {
            "SIGHTLINE_INIT_ORG": "e2e-monitors",
            "SIGHTLINE_INIT_API_KEY": API_KEY,
            "SIGHTLINE_RUN_SCHEDULER": "true",
            "SIGHTLINE_SCHEDULER_INTERVAL_SECONDS": "0.5",
            "SIGHTLINE_JUDGE_MODEL": "openai/gpt-4o-mini",
            "SIGHTLINE_JUDGE_API_BASE": judge.url,
            "SIGHTLINE_JUDGE_API_KEY": "sk-test",
            "SIGHTLINE_EMBEDDING_API_BASE": judge.url,
            "SIGHTLINE_EMBEDDING_API_KEY": "sk-test",
            "SIGHTLINE_LOG_LEVEL": "warning",
        }
        with (
            running_server(tmp_path / "data", env) as server,
            httpx.Client(base_url=server.base_url, headers=HEADERS, timeout=10) as client,
        ):
            first_traces = post_traces(client, 2)
            response = client.post(
                "/evaluations/monitors",
                json={"name": "every 2 s", "target_type": "TRACE", "metrics": ["confidence"],
                      "cadence": "cron:* * * * * */2"},  # croniter's seconds field
            )  # fmt: skip
            assert response.status_code == 201, response.text
            monitor = response.json()
            runs_url = f"/evaluations/monitors/{monitor['id']}/runs"

            def runs() -> list[dict[str, Any]]:
                return list(client.get(runs_url).json()["items"])

            def completed(count: int) -> Callable[[], list[dict[str, Any]]]:
                def probe() -> list[dict[str, Any]]:
                    items = runs()
                    done = [r for r in items if r["status"] == "COMPLETED"]
                    return items if len(items) >= count and len(done) == len(items) else []

                return probe

            [first] = wait_for("the first monitor run", completed(1))
            assert first["name"] == "[Monitor] every 2 s" and first["total_targets"] == 2
            scores = client.get(f"/evaluations/trace-runs/{first['id']}/scores").json()
            assert sorted(s["trace_id"] for s in scores) == sorted(first_traces)
            assert {s["status"] for s in scores} == {"SUCCESS"}

            # quiet ticks skip (nothing new), and say so on the monitor
            skipped = wait_for(
                "a skipped tick",
                lambda: client.get(f"/evaluations/monitors/{monitor['id']}").json()[
                    "last_skip_reason"
                ],
            )
            assert skipped.startswith("No traces were ingested since the last run")
            assert len(runs()) == 1

            [new_trace] = post_traces(client, 1)
            second, _ = wait_for("the second monitor run", completed(2))
            assert second["total_targets"] == 1  # only the new trace is judged
            [score] = client.get(f"/evaluations/trace-runs/{second['id']}/scores").json()
            assert score["trace_id"] == new_trace and score["value"] == "0.8"
            assert len(judge.chat_requests("ConfidenceAnswer")) == 3
            assert (
                client.get(f"/evaluations/monitors/{monitor['id']}").json()["last_run_id"]
                == second["id"]
            )

"""`sightline serve --workers 2` (SIGHTLINE_WORKERS): several processes on one SQLite file."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.support.server import running_server

pytestmark = pytest.mark.slow


def _trace(n: int) -> dict[str, object]:
    started = datetime(2026, 1, 1, tzinfo=UTC).isoformat()
    return {
        "trace_id": str(uuid.uuid4()),
        "name": f"agent-{n}",
        "started_at": started,
        "spans": [{"name": "llm", "kind": "LLM", "started_at": started}],
    }


def test_two_processes_share_one_database(tmp_path: Path) -> None:
    with running_server(tmp_path / "data", {"SIGHTLINE_WORKERS": "2"}) as server:
        # The first start provisions once, before the processes start: one key, printed once.
        keys = [line.strip() for line in server.log().splitlines() if "sk_sl_" in line]
        assert len(keys) == 1, server.log()
        headers = {"X-API-Key": keys[0], "X-Project-Name": "multi"}
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=30) as client:
            for n in range(40):  # new connections spread over both processes
                with httpx.Client(base_url=server.base_url, headers=headers) as one_off:
                    assert one_off.post("/traces", json=_trace(n)).status_code == 202
            batch = client.post("/traces/batch", json={"traces": [_trace(n) for n in range(60)]})
            assert batch.json()["accepted"] == 60
            assert client.get("/traces").json()["total"] == 100

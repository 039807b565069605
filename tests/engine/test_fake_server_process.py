"""bench/fake_judge.py runs the same fake server as a separate process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def test_fake_judge_cli_serves_chat_completions() -> None:
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "fake_judge.py"), "--port", "0", "--latency-ms", "5"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().split()[-1]
        body = {"model": "fake", "messages": [{"role": "user", "content": "hi"}]}
        response = httpx.post(f"{url}/chat/completions", json=body, timeout=5)
        assert response.status_code == 200
        assert response.json()["usage"]["prompt_tokens"] > 0
        embedding = httpx.post(
            f"{url}/embeddings", json={"model": "e", "input": ["a b"]}, timeout=5
        )
        assert len(embedding.json()["data"][0]["embedding"]) > 0
    finally:
        process.terminate()
        process.wait(timeout=5)
        if process.stdout is not None:
            process.stdout.close()

"""Sightline's other processes (`sightline worker`, `sightline scheduler`) and a Redis of the
test's own, as real processes that a test can kill (the scaled deployment's tests)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import redis

from tests.support.server import REPO_SRC, free_port


@dataclass
class Process:
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_log(self, text: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log():
            if self.process.poll() is not None:
                raise RuntimeError(f"exited with {self.process.returncode}:\n{self.log()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"no {text!r} in {timeout} s:\n{self.log()}")
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: nothing runs on the way out, as in a crash."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self, timeout: float = 60.0) -> None:
        """SIGTERM (a warm shutdown), then SIGKILL if it takes too long."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()


def _env(data_dir: Path, env: dict[str, str]) -> dict[str, str]:
    full_env = {**os.environ, **env, "SIGHTLINE_DATA_DIR": str(data_dir)}
    full_env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(REPO_SRC), full_env.get("PYTHONPATH")])
    )
    return full_env


def run_sightline(
    args: list[str], data_dir: Path, env: dict[str, str], timeout: float = 60.0
) -> subprocess.CompletedProcess[str]:
    """A one-shot command (`sightline worker --ping`), its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "sightline", *args],
        env=_env(data_dir, env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_sightline(args: list[str], data_dir: Path, env: dict[str, str], name: str) -> Process:
    full_env = _env(data_dir, env)
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "sightline", *args],
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return Process(process, log_path)


def start_worker(data_dir: Path, env: dict[str, str], name: str, concurrency: int = 2) -> Process:
    args = ["worker", "--concurrency", str(concurrency)]
    # Celery's own INFO line once it consumes is what says it is ready.
    worker = start_sightline(args, data_dir, {**env, "SIGHTLINE_LOG_LEVEL": "info"}, name)
    worker.wait_for_log(" ready.")
    return worker


@dataclass
class RedisServer:
    """A redis-server of the test's own (no persistence, as a restart that loses the queue)."""

    port: int
    directory: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        binary = shutil.which("redis-server")
        if binary is None:
            raise FileNotFoundError("redis-server")
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--save", "", "--appendonly", "no"],
            cwd=self.directory,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis(port=self.port, socket_connect_timeout=0.2).ping()
                return self
            except redis.RedisError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None


def new_redis(directory: Path) -> RedisServer:
    return RedisServer(free_port(), directory)

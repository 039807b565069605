"""`sightline eval` as a user runs it: a `sightline` process talking over HTTP to a real
`sightline serve` process (on a free port, never 8000) whose judge is the fake OpenAI server.
One server per backend; each test gets its own project."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from tests.fakes.openai_server import FakeJudgeServer
from tests.support.server import ServerProcess, free_port, running_server

# Wide enough that a table row (a trace ID, a metric, a 120-character reason) stays one line.
COLUMNS = "300"


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err

    def __str__(self) -> str:  # what an assertion failure shows
        return f"exit {self.code}\n--- stdout\n{self.out}\n--- stderr\n{self.err}"


@dataclass
class EvalCli:
    server: ServerProcess
    api_key: str
    project: str
    api: httpx.AsyncClient  # the same project, for set-up and for checking what the CLI did
    judge: FakeJudgeServer
    endpoint_env: dict[str, str] = field(default_factory=dict)

    async def __call__(self, *args: str, env: dict[str, str] | None = None) -> CliResult:
        """`sightline eval ARGS`. The server is named only by PANDAPROBE_ENDPOINT unless
        ``env`` says otherwise; the key and project come from the PandaProbe SDK's vars."""
        chosen = self.endpoint_env if env is None else env
        full_env = {**clean_environ(), **chosen, "COLUMNS": COLUMNS}
        full_env.update(PANDAPROBE_API_KEY=self.api_key, PANDAPROBE_PROJECT_NAME=self.project)
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "sightline", "eval", *args,
            env=full_env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(process.communicate(), timeout=120)
        assert process.returncode is not None
        return CliResult(process.returncode, out.decode(), err.decode())


def clean_environ() -> dict[str, str]:
    """This process's environment without any Sightline or PandaProbe setting a developer's
    shell may carry, so only what a test passes reaches the CLI."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("SIGHTLINE_", "PANDAPROBE_"))}


@pytest.fixture(scope="session")
def cli_judge() -> Iterator[FakeJudgeServer]:
    with FakeJudgeServer() as judge:
        yield judge


@pytest.fixture(scope="session")
def cli_server(
    database_url: str, cli_judge: FakeJudgeServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ServerProcess, str]]:
    api_key = f"sk_sl_{uuid.uuid4().hex}{uuid.uuid4().hex}"
    env = {
        "SIGHTLINE_DATABASE_URL": database_url,
        "SIGHTLINE_INIT_ORG": f"org-cli-{uuid.uuid4().hex[:8]}",
        "SIGHTLINE_INIT_API_KEY": api_key,
        "SIGHTLINE_JUDGE_MODEL": "openai/gpt-4o-mini",
        "SIGHTLINE_JUDGE_API_BASE": cli_judge.url,
        "SIGHTLINE_JUDGE_API_KEY": "sk-test",
        "SIGHTLINE_EMBEDDING_API_BASE": cli_judge.url,
        "SIGHTLINE_EMBEDDING_API_KEY": "sk-test",
        "SIGHTLINE_RUN_SCHEDULER": "false",
        "SIGHTLINE_LOG_LEVEL": "warning",
    }
    with running_server(tmp_path_factory.mktemp("cli-server"), env) as server:
        assert not server.base_url.endswith(":8000")  # the CLI's default must not be it
        yield server, api_key


@pytest.fixture
async def cli(
    cli_server: tuple[ServerProcess, str], cli_judge: FakeJudgeServer
) -> AsyncIterator[EvalCli]:
    server, api_key = cli_server
    cli_judge.reset()
    cli_judge.context_limit_tokens = None
    project = f"cli-{uuid.uuid4().hex[:10]}"
    headers = {"X-API-Key": api_key, "X-Project-Name": project}
    async with httpx.AsyncClient(base_url=server.base_url, headers=headers, timeout=30) as api:
        yield EvalCli(
            server, api_key, project, api, cli_judge, {"PANDAPROBE_ENDPOINT": server.base_url}
        )


def unused_url() -> str:
    """A URL nothing listens on: a port just bound and released."""
    return f"http://127.0.0.1:{free_port()}"

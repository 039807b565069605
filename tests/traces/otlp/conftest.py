"""A real `sightline serve` per test module and backend, whose judge is the fake
OpenAI-compatible server, and OpenTelemetry exporters pointed at it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from tests.fakes.openai_server import FakeJudgeServer
from tests.support.server import ServerProcess, running_server

# Small, so that the over-the-limit cases cost little; every exporter here sends far less.
MAX_BODY_BYTES = 256 * 1024


@dataclass
class Otlp:
    server: ServerProcess
    api_key: str
    judge: FakeJudgeServer

    @property
    def endpoint(self) -> str:
        return f"{self.server.base_url}/v1/traces"

    def headers(self, project: str) -> dict[str, str]:
        return {"X-API-Key": self.api_key, "X-Project-Name": project}

    def provider(self, project: str, **resource: str) -> TracerProvider:
        """A tracer provider exporting every span as it ends (protobuf, gzip), as
        OTEL_EXPORTER_OTLP_ENDPOINT and OTEL_EXPORTER_OTLP_HEADERS would configure it."""
        exporter = OTLPSpanExporter(
            endpoint=self.endpoint,
            headers={"x-api-key": self.api_key, "x-project-name": project},
            compression=Compression.Gzip,
        )
        provider = TracerProvider(resource=Resource.create({"service.name": "agent", **resource}))
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        return provider


@pytest.fixture(scope="module")
def otlp_judge() -> Iterator[FakeJudgeServer]:
    with FakeJudgeServer() as judge:
        yield judge


@pytest.fixture(scope="module")
def otlp(
    database_url: str, otlp_judge: FakeJudgeServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Otlp]:
    api_key = f"sk_sl_{uuid.uuid4().hex}{uuid.uuid4().hex}"
    env = {
        "SIGHTLINE_DATABASE_URL": database_url,
        "SIGHTLINE_INIT_ORG": f"org-otlp-{uuid.uuid4().hex[:8]}",
        "SIGHTLINE_INIT_API_KEY": api_key,
        "SIGHTLINE_JUDGE_MODEL": "openai/gpt-4o-mini",
        "SIGHTLINE_JUDGE_API_BASE": otlp_judge.url,
        "SIGHTLINE_JUDGE_API_KEY": "sk-test",
        "SIGHTLINE_RUN_SCHEDULER": "false",
        "SIGHTLINE_LOG_LEVEL": "warning",
        "SIGHTLINE_MAX_BODY_BYTES": str(MAX_BODY_BYTES),
    }
    with running_server(tmp_path_factory.mktemp("otlp-server"), env) as server:
        yield Otlp(server, api_key, otlp_judge)


@pytest.fixture
def project() -> str:
    return f"otlp-{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def api(otlp: Otlp, project: str) -> AsyncIterator[httpx.AsyncClient]:
    """The data plane of the test's project."""
    async with httpx.AsyncClient(
        base_url=otlp.server.base_url, headers=otlp.headers(project), timeout=30
    ) as client:
        yield client

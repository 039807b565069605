"""Fixtures for engine tests: a real fake judge server per test and judges pointed at it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fakes.openai_server import FakeJudgeServer
from sightline.config import JudgeSettings
from sightline.engine.judge import LiteLLMJudge
from sightline.engine.limits import Limits
from sightline.engine.views import SpanView, TraceView

T0 = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def fake_server() -> Iterator[FakeJudgeServer]:
    with FakeJudgeServer(api_key="test-key") as server:
        yield server


@pytest.fixture
def settings(fake_server: FakeJudgeServer) -> JudgeSettings:
    return make_settings(fake_server)


def make_settings(server: FakeJudgeServer, **overrides: Any) -> JudgeSettings:
    values: dict[str, Any] = {
        "model": "openai/fake-judge",
        "api_base": server.url,
        "api_key": "test-key",
        "timeout_seconds": 5.0,
        "max_attempts": 4,
        "backoff_base_seconds": 0.01,
        "backoff_max_seconds": 0.05,
        "embedding_model": "openai/fake-embedding",
        "embedding_api_base": server.url,
        "embedding_api_key": "test-key",
    }
    values.update(overrides)
    return JudgeSettings(**values)


@pytest.fixture
def judge(settings: JudgeSettings) -> LiteLLMJudge:
    return LiteLLMJudge(settings, limits=Limits.from_settings(settings))


def span(
    span_id: str,
    name: str,
    kind: str = "OTHER",
    *,
    parent: str | None = None,
    at: int = 0,
    **fields: Any,
) -> SpanView:
    return SpanView(
        span_id=span_id,
        name=name,
        kind=kind,
        parent_span_id=parent,
        status=fields.pop("status", "OK"),
        started_at=T0 + timedelta(seconds=at),
        ended_at=T0 + timedelta(seconds=at + 1),
        **fields,
    )


def messages(*pairs: tuple[str, str]) -> dict[str, Any]:
    return {"messages": [{"role": role, "content": content} for role, content in pairs]}


def weather_trace(
    trace_id: str = "t-1",
    *,
    tool_result: Any = None,
    output: str = "It is 18°C and sunny in Paris.",
) -> TraceView:
    """A ~10-span agent trace: plan, LLM calls, two tools, an answer."""
    result = tool_result if tool_result is not None else {"temp_c": 18, "sky": "sunny"}
    spans = (
        span(
            "s1",
            "weather-agent",
            "AGENT",
            at=0,
            input=messages(("user", "What's the weather in Paris?")),
        ),
        span(
            "s2",
            "plan",
            "LLM",
            parent="s1",
            at=1,
            model="gpt-4o-mini",
            input=messages(
                ("system", "You are a weather agent."), ("user", "What's the weather in Paris?")
            ),
            output=messages(("assistant", "Plan: 1. geocode Paris 2. fetch forecast 3. answer")),
            token_usage={"prompt_tokens": 40, "completion_tokens": 12},
        ),
        span(
            "s3",
            "geocode",
            "TOOL",
            parent="s1",
            at=2,
            input={"city": "Paris"},
            output={"lat": 48.85, "lon": 2.35},
        ),
        span(
            "s4",
            "choose-tool",
            "LLM",
            parent="s1",
            at=3,
            model="gpt-4o-mini",
            input=messages(("user", "coordinates 48.85,2.35")),
            output=messages(("assistant", "call forecast")),
        ),
        span(
            "s5",
            "get_forecast",
            "TOOL",
            parent="s1",
            at=4,
            input={"lat": 48.85, "lon": 2.35},
            output=result,
        ),
        span(
            "s6",
            "retrieve-style",
            "RETRIEVER",
            parent="s1",
            at=5,
            input="answer style",
            output=["be brief"],
        ),
        span(
            "s7",
            "compose",
            "LLM",
            parent="s1",
            at=6,
            model="gpt-4o-mini",
            input=messages(("user", "compose answer")),
            output=messages(("assistant", output)),
        ),
        span(
            "s8",
            "format",
            "CHAIN",
            parent="s7",
            at=7,
            input={"text": output},
            output={"text": output},
        ),
        span("s9", "log", "OTHER", parent="s1", at=8, metadata={"level": "info"}),
        span(
            "s10",
            "check",
            "TOOL",
            parent="s1",
            at=9,
            input={"q": "units"},
            status="ERROR",
            error="units service down",
        ),
    )
    return TraceView(
        trace_id=trace_id,
        name="weather",
        status="COMPLETED",
        started_at=T0,
        ended_at=T0 + timedelta(seconds=10),
        input=messages(("user", "What's the weather in Paris?")),
        output=messages(("assistant", output)),
        session_id="sess-1",
        spans=spans,
    )

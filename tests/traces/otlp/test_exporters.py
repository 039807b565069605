"""Real OpenTelemetry exporters and instrumentors against a real `sightline serve`: each
trace comes back through the API with its tree, kinds, model, tokens, messages and
session, and a task_completion run over them judges the same steps and messages."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx
import pytest

from tests.traces.otlp import agents
from tests.traces.otlp.conftest import Otlp

pytestmark = pytest.mark.slow


async def _trace(api: httpx.AsyncClient, trace_id: str) -> dict[str, Any]:
    response = await api.get(f"/traces/{trace_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _trace_named(api: httpx.AsyncClient, name: str) -> dict[str, Any]:
    listed = (await api.get("/traces", params={"name": name})).json()
    assert listed["total"] == 1, listed
    return await _trace(api, listed["items"][0]["trace_id"])


def _by_kind(trace: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [s for s in trace["spans"] if s["kind"] == kind]


def _single(trace: dict[str, Any], kind: str) -> dict[str, Any]:
    [span] = _by_kind(trace, kind)
    return span


def _root(trace: dict[str, Any]) -> dict[str, Any]:
    roots: list[dict[str, Any]] = [s for s in trace["spans"] if s["parent_span_id"] is None]
    assert len(roots) == 1, roots
    return roots[0]


def _assert_tree(trace: dict[str, Any]) -> None:
    ids = {s["span_id"] for s in trace["spans"]}
    for span in trace["spans"]:
        assert span["parent_span_id"] is None or span["parent_span_id"] in ids, span


async def test_spans_exported_as_they_end_build_one_trace(
    otlp: Otlp, project: str, api: httpx.AsyncClient
) -> None:
    """SimpleSpanProcessor sends each span alone as it ends: children first, the root last.
    Until the root arrives the trace is named after its earliest span; then after the root."""
    provider = otlp.provider(project, **{"service.version": "1.4.2"})
    tracer = provider.get_tracer("manual")
    root = tracer.start_span(
        "triage",
        attributes={
            "openinference.span.kind": "AGENT",
            "input.value": '{"question": "refund?"}',
            "input.mime_type": "application/json",
            "session.id": "sess-manual",
            "user.id": "user-9",
            "tag.tags": ["beta", "eu"],
        },
    )
    trace_id = str(uuid.UUID(int=root.get_span_context().trace_id))
    from opentelemetry import trace as otel_trace

    context = otel_trace.set_span_in_context(root)
    with tracer.start_as_current_span(
        "classify",
        context=context,
        attributes={
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.usage.input_tokens": 12,
            "gen_ai.usage.output_tokens": 3,
        },
    ):
        pass
    with tracer.start_as_current_span(
        "search_docs",
        context=context,
        attributes={"openinference.span.kind": "TOOL", "input.value": "refund policy"},
    ) as failing:
        failing.record_exception(ValueError("index offline"))
        failing.set_status(otel_trace.Status(otel_trace.StatusCode.ERROR, "index offline"))
    await asyncio.to_thread(provider.force_flush)

    partial = await _trace(api, trace_id)
    assert partial["name"] == "classify"  # the earliest span, while the root is missing
    assert len(partial["spans"]) == 2

    root.set_attribute("output.value", "Refunds take 5 days.")
    root.end()
    await asyncio.to_thread(provider.shutdown)

    trace = await _trace(api, trace_id)
    assert trace["name"] == "triage"
    assert trace["input"] == {"question": "refund?"}
    assert trace["output"] == "Refunds take 5 days."
    assert trace["session_id"] == "sess-manual"
    assert trace["user_id"] == "user-9"
    assert sorted(trace["tags"]) == ["beta", "eu"]
    assert trace["release"] == "1.4.2"
    assert trace["status"] == "COMPLETED"
    assert trace["total_tokens"] == 15
    _assert_tree(trace)
    assert _root(trace)["kind"] == "AGENT"
    llm = _single(trace, "LLM")
    assert llm["model"] == "gpt-4o-mini"
    assert llm["token_usage"] == {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15}
    tool = _single(trace, "TOOL")
    assert tool["status"] == "ERROR"
    assert tool["error"] == "ValueError: index offline"
    assert tool["input"] == "refund policy"
    assert trace["started_at"] == _root(trace)["started_at"]


async def test_openinference_openai_inside_an_agent_span(
    otlp: Otlp, project: str, api: httpx.AsyncClient
) -> None:
    trace_id = await asyncio.to_thread(agents.openinference_agent, otlp, project, "sess-oi")
    trace = await _trace(api, trace_id)
    assert trace["name"] == "support-agent"
    assert trace["session_id"] == "sess-oi"
    assert trace["input"] == agents.OPENAI_TASK
    assert trace["output"] == agents.ANSWER
    _assert_tree(trace)
    llm = _single(trace, "LLM")
    assert llm["parent_span_id"] == _root(trace)["span_id"]
    assert llm["model"].startswith(agents.MODEL)
    assert llm["token_usage"]["prompt_tokens"] > 0
    assert llm["token_usage"]["completion_tokens"] > 0
    assert llm["input"] == {"messages": [{"role": "user", "content": agents.OPENAI_TASK}]}
    assert llm["output"]["messages"][0]["content"] == agents.ANSWER
    assert trace["total_tokens"] == llm["token_usage"]["total_tokens"]


async def test_opentelemetry_genai_instrumentation(
    otlp: Otlp, project: str, api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", "gen_ai_latest_experimental")
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "span_only")
    trace_id = await asyncio.to_thread(agents.genai_agent, otlp, project, "sess-genai")
    trace = await _trace(api, trace_id)
    assert trace["session_id"] == "sess-genai"
    assert _root(trace)["kind"] == "AGENT"
    _assert_tree(trace)
    llm = _single(trace, "LLM")
    assert llm["model"].startswith(agents.MODEL)
    assert llm["token_usage"]["prompt_tokens"] > 0
    assert llm["input"]["messages"][-1] == {"role": "user", "content": agents.GENAI_TASK}
    assert llm["output"]["messages"][0]["content"] == agents.ANSWER


async def test_openinference_langchain_with_a_tool(
    otlp: Otlp, project: str, api: httpx.AsyncClient
) -> None:
    await asyncio.to_thread(agents.langchain_agent, otlp, project)
    trace = await _trace_named(api, "order-agent")
    _assert_tree(trace)
    assert _root(trace)["kind"] == "AGENT"  # the instrumentor reads it off "-agent"
    assert trace["input"] == agents.LANGCHAIN_TASK
    llms = _by_kind(trace, "LLM")
    assert len(llms) == 2
    calls = llms[0]["output"]["messages"][0]["tool_calls"]
    assert calls[0]["function"]["name"] == "lookup_order"
    tool = _single(trace, "TOOL")
    assert tool["name"] == "lookup_order"
    assert "C-3" in str(tool["input"])
    assert "ships today" in str(tool["output"])
    assert all(s["token_usage"]["prompt_tokens"] > 0 for s in llms)
    assert llms[0]["metadata"]["tools"][0]["function"]["name"] == "lookup_order"


async def _finished_run(api: httpx.AsyncClient, run_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        run: dict[str, Any] = (await api.get(f"/evaluations/trace-runs/{run_id}")).json()
        if run["status"] in ("COMPLETED", "FAILED"):
            return run
        await asyncio.sleep(0.2)
    raise AssertionError(f"run {run_id} did not finish: {run}")


async def test_a_task_completion_run_over_otlp_traces(
    otlp: Otlp, project: str, api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", "gen_ai_latest_experimental")
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "span_only")
    trace_ids = [
        await asyncio.to_thread(agents.openinference_agent, otlp, project, "sess-eval"),
        await asyncio.to_thread(agents.genai_agent, otlp, project, "sess-eval"),
    ]
    await asyncio.to_thread(agents.langchain_agent, otlp, project)
    trace_ids.append((await _trace_named(api, "order-agent"))["trace_id"])
    otlp.judge.reset()

    response = await api.post(
        "/evaluations/trace-runs/batch",
        json={"trace_ids": trace_ids, "metrics": ["task_completion"]},
    )
    assert response.status_code == 202, response.text
    run = await _finished_run(api, response.json()["id"])
    assert run["status"] == "COMPLETED", run
    scores = (await api.get(f"/evaluations/trace-runs/{run['id']}/scores")).json()
    assert sorted(s["trace_id"] for s in scores) == sorted(trace_ids)
    assert all(s["status"] == "SUCCESS" for s in scores), scores

    prompts = [r.prompt_text for r in otlp.judge.chat_requests()]
    for task in (agents.OPENAI_TASK, agents.GENAI_TASK, agents.LANGCHAIN_TASK):
        assert any(task in p for p in prompts), task
    [langchain_prompt] = [p for p in prompts if agents.LANGCHAIN_TASK in p and "lookup_order" in p][
        :1
    ]
    assert "C-3" in langchain_prompt  # the tool call's arguments
    assert "ships today" in langchain_prompt  # and its result

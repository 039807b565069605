"""The mapping table, convention by convention: hand-built OTLP spans (the attributes and
events that other instrumentations and frameworks send) posted to a real `sightline serve`
and read back through the API."""

from __future__ import annotations

import json
import math
import os
import uuid
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from tests.traces.otlp.conftest import Otlp

pytestmark = pytest.mark.slow

T0 = 1_767_000_000_000_000_000


def _value(value: Any) -> AnyValue:
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, list):
        return AnyValue(array_value=ArrayValue(values=[_value(v) for v in value]))
    return AnyValue(string_value=value)


def _kv(attrs: dict[str, Any]) -> list[KeyValue]:
    return [KeyValue(key=k, value=_value(v)) for k, v in attrs.items()]


async def _stored(otlp: Otlp, api: httpx.AsyncClient, project: str, **specs: Any) -> dict[str, Any]:
    """Posts one trace whose spans are `name=(attributes, events, parent name or None)`;
    returns the stored spans by name."""
    trace_id = os.urandom(16)
    ids = {name: os.urandom(8) for name in specs}
    spans = []
    for offset, (name, (attrs, events, parent)) in enumerate(specs.items()):
        span = Span(
            trace_id=trace_id,
            span_id=ids[name],
            parent_span_id=ids[parent] if parent else b"",
            name=name,
            start_time_unix_nano=T0 + offset * 1_000_000,
            end_time_unix_nano=T0 + offset * 1_000_000 + 500_000,
            attributes=_kv(attrs),
        )
        for event_name, event_attrs in events:
            span.events.add(name=event_name, time_unix_nano=T0, attributes=_kv(event_attrs))
        spans.append(span)
    request = ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(spans=spans)])]
    )
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(
            otlp.endpoint,
            content=request.SerializeToString(),
            headers={**otlp.headers(project), "Content-Type": "application/x-protobuf"},
        )
    assert response.status_code == 200, response.text
    answer = ExportTraceServiceResponse.FromString(response.content)
    assert answer.partial_success.rejected_spans == 0, answer.partial_success.error_message
    trace = (await api.get(f"/traces/{uuid.UUID(bytes=trace_id)}")).json()
    return {s["name"]: s for s in trace["spans"]} | {"": trace}


async def test_openinference_flattened_messages_tools_and_tokens(
    otlp: Otlp, project: str, api: httpx.AsyncClient
) -> None:
    tool_schema = {"type": "function", "function": {"name": "get_weather", "description": "d"}}
    llm = {
        "openinference.span.kind": "LLM",
        "llm.model_name": "gpt-4o-mini",
        "llm.input_messages.0.message.role": "system",
        "llm.input_messages.0.message.content": "Be brief.",
        "llm.input_messages.1.message.role": "user",
        "llm.input_messages.1.message.contents.0.message_content.type": "text",
        "llm.input_messages.1.message.contents.0.message_content.text": "Weather in Oslo?",
        "llm.output_messages.0.message.role": "assistant",
        "llm.output_messages.0.message.tool_calls.0.tool_call.id": "c1",
        "llm.output_messages.0.message.tool_calls.0.tool_call.function.name": "get_weather",
        "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments": (
            '{"city":"Oslo"}'
        ),
        "llm.token_count.prompt": 40,
        "llm.token_count.completion": 9,
        "llm.token_count.total": 49,
        "llm.token_count.prompt_details.cache_read": 8,
        "llm.invocation_parameters": json.dumps({"temperature": 0.2}),
        "llm.tools.0.tool.json_schema": json.dumps(tool_schema),
        "metadata": json.dumps({"team": "weather"}),
        "http.route": "/chat",
        "ratio": math.nan,
    }
    spans = await _stored(otlp, api, project, chat=(llm, [], None))
    chat = spans["chat"]
    assert chat["kind"] == "LLM"
    assert chat["input"] == {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Weather in Oslo?"},
        ]
    }
    [call] = chat["output"]["messages"][0]["tool_calls"]
    assert call == {
        "id": "c1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'},
    }
    assert chat["token_usage"] == {
        "prompt_tokens": 40,
        "completion_tokens": 9,
        "total_tokens": 49,
        "cache_read_tokens": 8,
    }
    assert chat["model_parameters"] == {"temperature": 0.2}
    assert chat["metadata"]["tools"] == [tool_schema]
    assert chat["metadata"]["team"] == "weather"
    assert chat["metadata"]["http.route"] == "/chat"
    assert chat["metadata"]["ratio"] == "nan"
    assert "llm.token_count.prompt" not in chat["metadata"]
    assert chat["cost"] is not None  # priced from the model and the tokens


async def test_genai_attributes_and_the_older_events(
    otlp: Otlp, project: str, api: httpx.AsyncClient
) -> None:
    messages_in = [
        {"role": "user", "parts": [{"type": "text", "content": "Refund order 7"}]},
        {"role": "tool", "parts": [{"type": "tool_call_response", "id": "t1", "response": "ok"}]},
    ]
    messages_out = [
        {
            "role": "assistant",
            "parts": [{"type": "tool_call", "id": "t2", "name": "refund", "arguments": {"id": 7}}],
            "finish_reason": "tool_calls",
        }
    ]
    chat = {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.response.model": "gpt-4o-2024-08-06",
        "gen_ai.usage.input_tokens": 30,
        "gen_ai.usage.output_tokens": 5,
        "gen_ai.system_instructions": json.dumps([{"type": "text", "content": "You refund."}]),
        "gen_ai.input.messages": json.dumps(messages_in),
        "gen_ai.output.messages": json.dumps(messages_out),
        "gen_ai.request.temperature": 0.0,
    }
    events = [
        ("gen_ai.system.message", {"content": "Old system"}),
        ("gen_ai.user.message", {"content": "Old question"}),
        ("gen_ai.choice", {"message": json.dumps({"role": "assistant", "content": "Old answer"})}),
    ]
    spans = await _stored(
        otlp,
        api,
        project,
        agent=(
            {"gen_ai.operation.name": "invoke_agent", "gen_ai.conversation.id": "conv-1"},
            [],
            None,
        ),
        chat=(chat, [], "agent"),
        legacy=({"gen_ai.operation.name": "text_completion"}, events, "agent"),
        refund=(
            {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.call.arguments": '{"id": 7}'},
            [],
            "agent",
        ),
        embed=({"gen_ai.operation.name": "embeddings"}, [], "agent"),
        other=({"http.method": "GET"}, [], "agent"),
    )
    assert spans[""]["session_id"] == "conv-1"
    kinds = {
        name: spans[name]["kind"]
        for name in ("agent", "chat", "legacy", "refund", "embed", "other")
    }
    assert kinds == {
        "agent": "AGENT",
        "chat": "LLM",
        "legacy": "LLM",
        "refund": "TOOL",
        "embed": "EMBEDDING",
        "other": "OTHER",
    }
    assert spans["chat"]["model"] == "gpt-4o-2024-08-06"
    assert spans["chat"]["token_usage"]["prompt_tokens"] == 30
    assert spans["chat"]["model_parameters"] == {"temperature": 0.0}
    assert spans["chat"]["input"]["messages"] == [
        {"role": "system", "content": "You refund."},
        {"role": "user", "content": "Refund order 7"},
        {"role": "tool", "tool_call_id": "t1", "content": "ok"},
    ]
    [call] = spans["chat"]["output"]["messages"][0]["tool_calls"]
    assert call["function"] == {"name": "refund", "arguments": {"id": 7}}
    assert spans["legacy"]["input"]["messages"] == [
        {"role": "system", "content": "Old system"},
        {"role": "user", "content": "Old question"},
    ]
    assert spans["legacy"]["output"]["messages"] == [{"role": "assistant", "content": "Old answer"}]
    assert spans["refund"]["input"] == {"id": 7}


async def test_metadata_is_bounded(otlp: Otlp, project: str, api: httpx.AsyncClient) -> None:
    many: dict[str, Any] = {"long": "v" * 10_000}
    many.update({f"attr.{i:03d}": i for i in range(300)})
    spans = await _stored(otlp, api, project, noisy=(many, [], None))
    metadata = spans["noisy"]["metadata"]
    assert len(metadata) == 128
    assert len(metadata["long"]) == 4097  # cut, and the cut marked


async def _export(otlp: Otlp, project: str, *spans: Span) -> None:
    request = ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(spans=list(spans))])]
    )
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(
            otlp.endpoint,
            content=request.SerializeToString(),
            headers={**otlp.headers(project), "Content-Type": "application/x-protobuf"},
        )
    assert (
        ExportTraceServiceResponse.FromString(response.content).partial_success.rejected_spans == 0
    )


async def test_a_trace_without_a_root_follows_its_earliest_span(
    otlp: Otlp, project: str, api: httpx.AsyncClient
) -> None:
    """Its parent lives in another service: the trace is named after its earliest span and
    spans all its spans, whichever request brought them."""
    trace_id, missing_parent = os.urandom(16), os.urandom(8)
    ms = 1_000_000

    def span(name: str, start_ms: int, end_ms: int) -> Span:
        return Span(
            trace_id=trace_id,
            span_id=os.urandom(8),
            parent_span_id=missing_parent,
            name=name,
            start_time_unix_nano=T0 + start_ms * ms,
            end_time_unix_nano=T0 + end_ms * ms,
        )

    await _export(otlp, project, span("second", 100, 150), span("third", 200, 900))
    first = (await api.get(f"/traces/{uuid.UUID(bytes=trace_id)}")).json()
    assert first["name"] == "second"
    await _export(otlp, project, span("first", 10, 20))
    trace = (await api.get(f"/traces/{uuid.UUID(bytes=trace_id)}")).json()
    assert trace["name"] == "first"
    assert (
        trace["started_at"] == next(s for s in trace["spans"] if s["name"] == "first")["started_at"]
    )
    assert trace["ended_at"] == next(s for s in trace["spans"] if s["name"] == "third")["ended_at"]
    listed = (await api.get("/traces")).json()["items"]
    assert [(t["span_count"], round(t["latency_ms"])) for t in listed] == [(3, 890)]

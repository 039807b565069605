"""Small instrumented agents, each run with a real instrumentor whose `openai` client talks
to the fake OpenAI-compatible server; each returns the ID of the trace it produced."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import openai
from openinference.instrumentation import using_session
from opentelemetry.sdk.trace import TracerProvider

from tests.fakes.openai_server import Reply, chat_completion
from tests.traces.otlp.conftest import Otlp

MODEL = "gpt-4o-mini"
OPENAI_TASK = "Where is my order A-1042? It was due on Monday."
GENAI_TASK = "Summarise the refund policy for order B-77 in one sentence."
LANGCHAIN_TASK = "Look up order C-3 and tell me when it ships."
ANSWER = "Your order ships today and arrives on Thursday."
TOOL_ARGUMENTS = {"order_id": "C-3"}


def trace_uuid(span: Any) -> str:
    return str(uuid.UUID(int=span.get_span_context().trace_id))


def _agent_reply(body: dict[str, Any]) -> Reply | None:
    """The fake provider's side of the agents: a tool call when tools are offered and no
    tool has answered yet, else a plain answer. Judge requests (with a response_format)
    fall through to the fake's scripted judge answers."""
    if body.get("response_format"):
        return None
    messages = body.get("messages", [])
    if body.get("tools") and not any(m.get("role") == "tool" for m in messages):
        reply = chat_completion(body, "")
        reply["choices"][0]["message"] = {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "lookup_order", "arguments": json.dumps(TOOL_ARGUMENTS)},
                }
            ],
        }
        reply["choices"][0]["finish_reason"] = "tool_calls"
        return Reply(200, reply)
    return Reply(200, chat_completion(body, ANSWER))


@contextmanager
def provider_answers(otlp: Otlp) -> Iterator[None]:
    otlp.judge.responder = _agent_reply
    try:
        yield
    finally:
        otlp.judge.responder = None


def _client(otlp: Otlp) -> openai.OpenAI:
    return openai.OpenAI(base_url=otlp.judge.url, api_key="sk-test")


def _finish(provider: TracerProvider) -> None:
    provider.force_flush()
    provider.shutdown()


def openinference_agent(otlp: Otlp, project: str, session_id: str) -> str:
    """openinference-instrumentation-openai inside an AGENT span that carries session.id."""
    from openinference.instrumentation.openai import OpenAIInstrumentor

    provider = otlp.provider(project)
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        tracer = provider.get_tracer("support-agent")
        with (
            provider_answers(otlp),
            using_session(session_id),
            tracer.start_as_current_span(
                "support-agent",
                attributes={"openinference.span.kind": "AGENT", "input.value": OPENAI_TASK},
            ) as span,
        ):
            reply = _client(otlp).chat.completions.create(
                model=MODEL, messages=[{"role": "user", "content": OPENAI_TASK}]
            )
            span.set_attribute("output.value", reply.choices[0].message.content or "")
            trace_id = trace_uuid(span)
    finally:
        instrumentor.uninstrument()
        _finish(provider)
    return trace_id


def genai_agent(otlp: Otlp, project: str, session_id: str) -> str:
    """opentelemetry-instrumentation-openai-v2 (GenAI conventions, content on the span)
    inside an invoke_agent span. The caller sets the GenAI opt-in environment."""
    from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

    provider = otlp.provider(project)
    instrumentor = OpenAIInstrumentor()  # type: ignore[no-untyped-call]
    instrumentor.instrument(tracer_provider=provider)
    try:
        tracer = provider.get_tracer("refund-agent")
        attributes = {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.conversation.id": session_id,
            "input.value": GENAI_TASK,
        }
        with (
            provider_answers(otlp),
            tracer.start_as_current_span("invoke_agent refunds", attributes=attributes) as span,
        ):
            reply = _client(otlp).chat.completions.create(
                model=MODEL, messages=[{"role": "user", "content": GENAI_TASK}]
            )
            span.set_attribute("output.value", reply.choices[0].message.content or "")
            trace_id = trace_uuid(span)
    finally:
        instrumentor.uninstrument()
        _finish(provider)
    return trace_id


def langchain_agent(otlp: Otlp, project: str) -> None:
    """openinference-instrumentation-langchain: a chat model that calls a tool, the tool,
    and the model's answer, all inside one runnable (the trace's root, "order-agent")."""
    from langchain_core.messages import HumanMessage, ToolMessage
    from langchain_core.runnables import RunnableLambda
    from langchain_core.tools import tool
    from langchain_openai import ChatOpenAI
    from openinference.instrumentation.langchain import LangChainInstrumentor

    @tool
    def lookup_order(order_id: str) -> str:
        """Looks an order up by its ID."""
        return f"Order {order_id}: packed, ships today."

    model = ChatOpenAI(model=MODEL, base_url=otlp.judge.url, api_key="sk-test", max_retries=0)
    with_tools = model.bind_tools([lookup_order])

    def agent(task: str) -> str:
        messages: list[Any] = [HumanMessage(task)]
        first = with_tools.invoke(messages)
        messages.append(first)
        for call in first.tool_calls:
            result = lookup_order.invoke(call["args"])
            messages.append(ToolMessage(result, tool_call_id=call["id"]))
        return str(with_tools.invoke(messages).content)

    provider = otlp.provider(project)
    instrumentor = LangChainInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        with provider_answers(otlp):
            RunnableLambda(agent, name="order-agent").invoke(LANGCHAIN_TASK)
    finally:
        instrumentor.uninstrument()
        _finish(provider)

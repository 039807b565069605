"""A trace as the judge reads it: the task, the answer, then every step in tree order.

The user's task is the trace's input; in a conversation that is the last user message, kept
whole ahead of everything else, beside the head of the system prompt (the rest of the system
prompt and older turns come last). Then the final answer, every step's header (kind, name,
status, model, duration, tokens), every tool call's arguments, errors, and only then tool
results and the steps' messages. See ``slots`` for how the budget is shared.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sightline.engine.render.document import Block, Field, Item, Message, Messages, Text
from sightline.engine.render.slots import ANSWER, ARGS, ERRORS, HISTORY, RESULTS, TASK, Slot
from sightline.engine.text import compact_json, content_text, message_list
from sightline.engine.views import SpanView, TraceView

Tiers = tuple[tuple[int, int | None], ...]

SYSTEM_HEAD_CHARS = 1_200  # the system prompt's share next to the user's request
RECENT_MESSAGES = 6  # turns of the conversation kept ahead of the older ones
STEP_RECENT_MESSAGES = 2  # a step's newest prompt and its reply
# The task and the answer may each take a third of the budget at their own priority; beyond
# that they compete with everything else, so a 1 MB input cannot crowd out the steps.
TOP_SHARE = 3


def trace_items(
    trace: TraceView,
    budget_chars: int,
    *,
    spans: tuple[SpanView, ...] | None = None,
    input_output: bool = True,
) -> list[Item]:
    """``spans``: the steps to show (default: all); ``input_output``: with the trace's input
    and output (a custom judge metric may see only some spans, or only those two)."""
    shown = trace.spans if spans is None else spans
    top_cap = budget_chars // TOP_SHARE
    duration = _duration(trace.started_at, trace.ended_at)
    items: list[Item] = [
        f'TRACE "{trace.name}" status={trace.status} spans={len(trace.spans)}'
        + (f" duration={duration}" if duration else "")
    ]
    if trace.tags:
        items.append("tags: " + ", ".join(trace.tags))
    fields = [
        f
        for f in (
            _task_field(trace.input, top_cap) if input_output else None,
            _field("output", trace.output, ((ANSWER, top_cap), (HISTORY, None)))
            if input_output
            else None,
        )
        if f is not None
    ]
    if fields:
        items.append(Block(None, "", fields, fold=False))
    if shown:
        items.append("steps:")
        items.extend(_span_block(span, "  " * (depth + 1)) for depth, span in tree(shown))
    return items


def _task_field(value: Any, top_cap: int) -> Field | None:
    messages = message_list(value)
    if messages is None:
        return _field("input", value, ((TASK, top_cap), (HISTORY, None)))
    request = _last_user_index(messages)
    others = [i for i in range(len(messages)) if i != request and _role(messages[i]) != "system"]
    recent = set(others[-RECENT_MESSAGES:])

    def tiers(index: int, message: dict[str, Any]) -> Tiers:
        if index == request:
            return ((TASK, top_cap), (HISTORY, None))
        if _role(message) == "system":
            return ((TASK, SYSTEM_HEAD_CHARS), (HISTORY, None))
        return ((RESULTS, None),) if index in recent else ((HISTORY, None),)

    return Messages("input", [_message(m, tiers(i, m), ARGS) for i, m in enumerate(messages)])


def _span_block(span: SpanView, indent: str) -> Block:
    parts = [f"{indent}- [{span.kind}] {span.name}", span.status]
    if span.model:
        parts.append(span.model)
    duration = _duration(span.started_at, span.ended_at)
    if duration:
        parts.append(duration)
    usage = span.token_usage or {}
    if "prompt_tokens" in usage or "completion_tokens" in usage:
        parts.append(f"{usage.get('prompt_tokens', 0)}→{usage.get('completion_tokens', 0)} tokens")
    is_tool = span.kind == "TOOL"
    fields = [
        f
        for f in (
            _field(
                "args" if is_tool else "input",
                span.input,
                ((ARGS, None),) if is_tool else ((RESULTS, None),),
                recent=STEP_RECENT_MESSAGES,
            ),
            _field(
                "result" if is_tool else "output",
                span.output,
                ((RESULTS, None),),
                recent=STEP_RECENT_MESSAGES,
            ),
            _field("error", span.error, ((ERRORS, None),)),
        )
        if f is not None
    ]
    return Block(" ".join(parts), indent, fields)


def _field(label: str, value: Any, tiers: Tiers, *, recent: int | None = None) -> Field | None:
    if value is None or value == "" or value == [] or value == {}:
        return None
    messages = message_list(value)
    if messages is None:
        return Text(label, Slot(value if isinstance(value, str) else compact_json(value), tiers))
    newest = len(messages) - (recent if recent is not None else len(messages))
    return Messages(
        label,
        [
            _message(m, tiers if i >= newest else ((HISTORY, None),), ARGS, rank=len(messages) - i)
            for i, m in enumerate(messages)
        ],
    )


def _message(
    message: dict[str, Any], tiers: Tiers, call_priority: int, *, rank: int = 0
) -> Message:
    calls = []
    for call in message.get("tool_calls") or []:
        function = call.get("function", call) if isinstance(call, dict) else {}
        arguments = function.get("arguments", "")
        text = arguments if isinstance(arguments, str) else compact_json(arguments)
        calls.append((str(function.get("name", "?")), Slot(text, ((call_priority, None),))))
    content = content_text(message.get("content")).strip()
    return Message(_role(message), Slot(content, tiers, rank), calls)


def _role(message: dict[str, Any]) -> str:
    return str(message.get("role", "?"))


def _last_user_index(messages: list[dict[str, Any]]) -> int | None:
    for index in range(len(messages) - 1, -1, -1):
        if _role(messages[index]) == "user":
            return index
    return None


def tree(spans: tuple[SpanView, ...]) -> Iterator[tuple[int, SpanView]]:
    """Spans depth-first in start order; orphans (unknown parent) and cycles become roots."""
    ids = {span.span_id for span in spans}
    children: dict[str | None, list[SpanView]] = {}
    for span in spans:
        parent = span.parent_span_id if span.parent_span_id in ids else None
        children.setdefault(parent, []).append(span)
    for siblings in children.values():
        siblings.sort(key=_start_key)
    seen: set[str] = set()

    def walk(parent: str | None, depth: int) -> Iterator[tuple[int, SpanView]]:
        for span in children.get(parent, []):
            if span.span_id in seen:
                continue
            seen.add(span.span_id)
            yield depth, span
            yield from walk(span.span_id, depth + 1)

    yield from walk(None, 0)
    for span in sorted(spans, key=_start_key):  # only spans caught in a parent cycle remain
        if span.span_id not in seen:
            seen.add(span.span_id)
            yield 0, span
            yield from walk(span.span_id, 1)


def _start_key(span: SpanView) -> tuple[float, str]:
    return (span.started_at.timestamp() if span.started_at else 0.0, span.span_id)


def _duration(started: datetime | None, ended: datetime | None) -> str:
    if started is None or ended is None:
        return ""
    seconds = (ended - started).total_seconds()
    return f"{seconds * 1000:.0f}ms" if seconds < 1 else f"{seconds:.1f}s"

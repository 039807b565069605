"""Render a trace for the judge: once per trace, compact, structure-preserving, budgeted.

Every span keeps one header line (kind, name, status, model, duration, tokens) in tree order;
payloads (inputs, outputs, tool arguments and results, errors) follow it, each cut at a
per-field character limit with a visible ``…[truncated N chars]`` marker. Limits shrink
step by step until the whole text fits ``token_budget``. If even the bare skeleton (headers
only) exceeds the judge's context window, the trace cannot be judged: ContextOverflow.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sightline.engine.errors import ContextOverflow
from sightline.engine.judge.catalog import estimate_tokens
from sightline.engine.text import compact_json, content_text, message_list
from sightline.engine.views import SpanView, TraceView

# Characters per field, most generous first; 0 is the skeleton (no payloads at all).
FIELD_LIMITS: tuple[int | None, ...] = (None, 4000, 2000, 1000, 500, 250, 120, 60, 0)
_KEPT_TAIL_MESSAGES = 6  # a long conversation keeps its first message and its latest turns


@dataclass(frozen=True, slots=True)
class RenderedTrace:
    text: str
    estimated_tokens: int
    field_limit: int | None  # None: nothing had to be cut


def render_trace(
    trace: TraceView, *, token_budget: int = 6000, context_window_tokens: int | None = None
) -> RenderedTrace:
    for limit in FIELD_LIMITS:
        text = "\n".join(_Renderer(limit).trace(trace))
        tokens = estimate_tokens(text)
        if tokens <= token_budget:
            return RenderedTrace(text, tokens, limit)
    if context_window_tokens is not None and tokens > context_window_tokens:
        raise ContextOverflow(
            f"trace {trace.trace_id} needs ~{tokens} tokens even with every payload removed "
            f"({len(trace.spans)} spans); the judge's context window is {context_window_tokens}"
        )
    return RenderedTrace(text, tokens, 0)  # over budget but fits: better judged than dropped


def truncate(text: str, limit: int | None) -> str:
    if limit is None or len(text) <= limit:
        return text
    return f"{text[:limit]}…[truncated {len(text) - limit} chars]"


class _Renderer:
    def __init__(self, limit: int | None) -> None:
        self.limit = limit

    def trace(self, trace: TraceView) -> Iterator[str]:
        duration = _duration(trace.started_at, trace.ended_at)
        yield (
            f'TRACE "{trace.name}" status={trace.status} spans={len(trace.spans)}'
            + (f" duration={duration}" if duration else "")
        )
        if trace.tags:
            yield "tags: " + ", ".join(trace.tags)
        yield from self.field("input", trace.input, "")
        yield from self.field("output", trace.output, "")
        if trace.spans:
            yield "steps:"
            for depth, span in _tree(trace.spans):
                yield from self.span(span, "  " * (depth + 1))

    def span(self, span: SpanView, indent: str) -> Iterator[str]:
        parts = [f"{indent}- [{span.kind}] {span.name}", f"status={span.status}"]
        if span.model:
            parts.append(f"model={span.model}")
        duration = _duration(span.started_at, span.ended_at)
        if duration:
            parts.append(duration)
        usage = span.token_usage or {}
        if "prompt_tokens" in usage or "completion_tokens" in usage:
            parts.append(
                f"tokens={usage.get('prompt_tokens', 0)}→{usage.get('completion_tokens', 0)}"
            )
        yield " ".join(parts)
        inner = indent + "  "
        is_tool = span.kind == "TOOL"
        yield from self.field("args" if is_tool else "input", span.input, inner)
        yield from self.field("result" if is_tool else "output", span.output, inner)
        if span.error:
            # Errors explain failures, so they keep at least 200 characters at any limit.
            error_limit = None if self.limit is None else max(self.limit, 200)
            yield f"{inner}error: {truncate(span.error, error_limit)}"

    def field(self, label: str, value: Any, indent: str) -> Iterator[str]:
        if value is None or value == "" or self.limit == 0:
            return
        messages = message_list(value)
        if messages is None:
            text = value if isinstance(value, str) else compact_json(value)
            yield from _block(f"{indent}{label}: ", truncate(text, self.limit), indent)
            return
        yield f"{indent}{label}:"
        for line in self.messages(messages):
            yield from _block(f"{indent}  ", line, indent + "  ")

    def messages(self, messages: list[dict[str, Any]]) -> Iterator[str]:
        shown = list(enumerate(messages))
        if self.limit is not None and len(shown) > _KEPT_TAIL_MESSAGES + 1:
            omitted = len(shown) - _KEPT_TAIL_MESSAGES - 1
            yield f"…[{omitted} earlier messages omitted]"
            shown = shown[:1] + shown[-_KEPT_TAIL_MESSAGES:]
        for _, message in shown:
            text = content_text(message.get("content"))
            for call in message.get("tool_calls") or []:
                function = call.get("function", call) if isinstance(call, dict) else {}
                text += f" →call {function.get('name', '?')}({function.get('arguments', '')})"
            yield f"{message.get('role', '?')}: {truncate(text.strip(), self.limit)}"


def _block(first_prefix: str, text: str, indent: str) -> Iterator[str]:
    lines = text.splitlines() or [""]
    yield first_prefix + lines[0]
    for line in lines[1:]:
        yield f"{indent}  {line}"


def _tree(spans: tuple[SpanView, ...]) -> Iterator[tuple[int, SpanView]]:
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

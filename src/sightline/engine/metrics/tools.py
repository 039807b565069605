"""Tool calls and available tools, read from the trace itself (no judge call needed)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sightline.engine.text import message_list
from sightline.engine.views import TraceView


@dataclass(frozen=True, slots=True)
class ToolCall:
    name: str
    arguments: Any
    result: Any = None
    status: str = "UNSET"
    error: str | None = None


@dataclass(frozen=True, slots=True)
class AvailableTool:
    name: str
    description: str = ""


@dataclass(frozen=True, slots=True)
class ToolUse:
    calls: tuple[ToolCall, ...]
    available: tuple[AvailableTool, ...]


def extract_tool_use(trace: TraceView) -> ToolUse:
    """TOOL spans are the calls; traces without them fall back to the assistant messages'
    ``tool_calls``. Available tools come from any ``tools`` list in inputs or metadata."""
    spans = sorted(trace.spans, key=lambda s: (s.started_at.timestamp() if s.started_at else 0.0))
    calls = [
        ToolCall(s.name, s.input, s.output, s.status, s.error) for s in spans if s.kind == "TOOL"
    ]
    if not calls:
        for span in spans:
            calls.extend(_message_tool_calls(span.output))
    available: dict[str, AvailableTool] = {}
    for holder in [trace.metadata, *(s.input for s in spans), *(s.metadata for s in spans)]:
        for tool in _tool_definitions(holder):
            available.setdefault(tool.name, tool)
    return ToolUse(tuple(calls), tuple(available.values()))


def _message_tool_calls(output: Any) -> list[ToolCall]:
    messages = message_list(output) or ([output] if isinstance(output, dict) else [])
    found = []
    for message in messages:
        for call in message.get("tool_calls") or []:
            function = call.get("function", call) if isinstance(call, dict) else {}
            found.append(ToolCall(str(function.get("name", "?")), function.get("arguments")))
    return found


def _tool_definitions(holder: Any) -> list[AvailableTool]:
    if not isinstance(holder, dict):
        return []
    raw = holder.get("tools") or holder.get("available_tools") or []
    tools = []
    for item in raw if isinstance(raw, list) else []:
        spec = item.get("function", item) if isinstance(item, dict) else {"name": str(item)}
        if spec.get("name"):
            tools.append(AvailableTool(str(spec["name"]), str(spec.get("description") or "")))
    return tools

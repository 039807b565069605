"""A session read as a conversation: per trace, the user's message and the agent's answer,
picked out of the payloads the SDK's integrations send (chat messages, plain strings, the
usual keys). What cannot be read as text is shown whole, as JSON. Pure functions over the
API's TraceRead; everything they return is still untrusted text (templates escape it)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sightline.traces.schemas import TraceRead

INPUT_KEYS = ("input", "query", "question", "prompt", "message", "user_input", "text")
OUTPUT_KEYS = ("output", "answer", "response", "content", "text", "result", "message")


@dataclass(frozen=True, slots=True)
class Turn:
    trace: TraceRead
    user: str | None  # None: the input is not text; show it whole
    agent: str | None


def _content_text(content: Any) -> str | None:
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence) and not isinstance(content, str | bytes):
        parts = [
            str(p["text"]) for p in content
            if isinstance(p, Mapping) and isinstance(p.get("text"), str)
        ]  # fmt: skip
        return "\n".join(parts) if parts else None
    return None


def _last_message(messages: Any, role: str) -> str | None:
    if not isinstance(messages, Sequence) or isinstance(messages, str | bytes):
        return None
    for message in reversed(messages):
        if isinstance(message, Mapping) and message.get("role") == role:
            text = _content_text(message.get("content"))
            if text is not None:
                return text
    return None


def message_text(payload: Any, role: str, keys: Sequence[str]) -> str | None:
    """The text of the last message of ``role`` in a payload, if it holds one."""
    if payload is None:
        return None
    if isinstance(payload, str):
        return payload
    if isinstance(payload, Mapping):
        if "messages" in payload:
            return _last_message(payload["messages"], role)
        if payload.get("role") == role or ("content" in payload and "role" in payload):
            return _content_text(payload.get("content"))
        for key in keys:
            value = payload.get(key)
            if isinstance(value, str):
                return value
            nested = message_text(value, role, ()) if isinstance(value, Mapping) else None
            if nested is not None:
                return nested
        return None
    return _last_message(payload, role)


def turns(traces: Sequence[TraceRead]) -> list[Turn]:
    return [
        Turn(
            trace,
            message_text(trace.input, "user", INPUT_KEYS),
            message_text(trace.output, "assistant", OUTPUT_KEYS),
        )
        for trace in traces
    ]

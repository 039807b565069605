"""The messages of an LLM span, in Sightline's shape (`{"role", "content", "tool_calls"}`,
OpenAI-style, what the judge's renderer reads), from whichever convention sent them:
OpenInference's flattened `llm.input_messages.*` / `llm.output_messages.*`, the GenAI
`gen_ai.input.messages` / `gen_ai.output.messages` JSON attributes (with
`gen_ai.system_instructions`), or the older GenAI span events (`gen_ai.user.message`, ...,
`gen_ai.choice`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from sightline.traces.otlp.attributes import Attributes, parsed_json

Message = dict[str, Any]
Event = tuple[str, Attributes]  # (name, attributes)
INPUT_MESSAGES, OUTPUT_MESSAGES, TOOLS = "llm.input_messages.", "llm.output_messages.", "llm.tools."
# The flattened OpenInference groups, split off a span's attributes and indexed in the same
# single pass (mapping.py): prefix -> {0: {"message.role": ..., ...}, ...}
Groups = dict[str, dict[int, Attributes]]

_EVENT_ROLES = {
    "gen_ai.system.message": "system",
    "gen_ai.user.message": "user",
    "gen_ai.assistant.message": "assistant",
    "gen_ai.tool.message": "tool",
}
CHOICE_EVENT = "gen_ai.choice"
_ROLE_AND_CONTENT = frozenset({"message.role", "message.content"})
# An OpenInference message's own fields: any other key is nested (contents, tool calls).
_FLAT_MESSAGE_KEYS = frozenset(
    {"message.role", "message.content", "message.tool_call_id", "message.name"}
)


def index_of(suffix: str) -> tuple[int, str] | None:
    """`0.x` -> (0, "x"); None for a suffix without an index (or without a field), which is
    dropped. isdecimal, not isdigit: int() refuses digits such as "²" that isdigit accepts."""
    index, _, rest = suffix.partition(".")
    return (int(index), rest) if index.isdecimal() and rest else None


def add_indexed(groups: dict[int, Attributes], suffix: str, value: Any) -> None:
    """`0.x` -> groups[0]["x"]; a suffix without an index (or without a field) is dropped."""
    position = index_of(suffix)
    if position is not None:
        groups.setdefault(position[0], {})[position[1]] = value


def ordered(groups: dict[int, Attributes] | None) -> list[Attributes]:
    return [groups[i] for i in sorted(groups)] if groups else []


def indexed(attrs: Attributes, prefix: str) -> list[Attributes]:
    """`prefix.0.x`, `prefix.0.y`, `prefix.1.x` -> [{x, y}, {x}], in index order."""
    groups: dict[int, Attributes] = {}
    for key, value in attrs.items():
        if key.startswith(prefix):
            add_indexed(groups, key[len(prefix) :], value)
    return ordered(groups)


def _clean(message: Message) -> Message:
    return {k: v for k, v in message.items() if v is not None and v != []}


def _call(call_id: Any, name: Any, arguments: Any) -> Message:
    return _clean(
        {
            "id": call_id,
            "type": "function",
            "function": _clean({"name": name, "arguments": arguments}),
        }
    )


def _openinference(fields: Attributes) -> Message:
    if fields.keys() <= _ROLE_AND_CONTENT:  # most messages: what _clean would keep of them
        message: Message = {}
        role = fields.get("message.role", "unknown")
        if role is not None and role != []:
            message["role"] = role
        text = fields.get("message.content")
        if text is not None and text != []:
            message["content"] = text
        return message
    content = fields.get("message.content")
    # Most messages have no nested fields (contents, tool calls): not looked for then.
    nested = not fields.keys() <= _FLAT_MESSAGE_KEYS
    if content is None and nested:
        parts = indexed(fields, "message.contents.")
        texts = [str(p["message_content.text"]) for p in parts if p.get("message_content.text")]
        content = "\n".join(texts) if texts else None
    calls = [
        _call(
            c.get("tool_call.id"),
            c.get("tool_call.function.name"),
            c.get("tool_call.function.arguments"),
        )
        for c in (indexed(fields, "message.tool_calls.") if nested else ())
    ]
    return _clean(
        {
            "role": fields.get("message.role", "unknown"),
            "content": content,
            "tool_calls": calls,
            "tool_call_id": fields.get("message.tool_call_id"),
            "name": fields.get("message.name"),
        }
    )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def _genai(message: Any) -> list[Message]:
    """One GenAI message (`{"role", "parts": [...]}`); a tool response part is a message of
    its own, as in OpenAI's shape."""
    if not isinstance(message, dict):
        return []
    texts, calls, responses = [], [], []
    for part in message.get("parts") or []:
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        if kind == "text" and part.get("content") is not None:
            texts.append(_text(part["content"]))
        elif kind == "tool_call":
            calls.append(_call(part.get("id"), part.get("name"), part.get("arguments")))
        elif kind == "tool_call_response":
            responses.append(
                {
                    "role": "tool",
                    "tool_call_id": part.get("id"),
                    "content": _text(part.get("response")),
                }
            )
    if not texts and not calls and "content" in message:  # the pre-parts shape
        texts = [_text(message["content"])] if message["content"] is not None else []
    own = _clean(
        {
            "role": message.get("role", "unknown"),
            "content": "\n".join(texts) if texts else None,
            "tool_calls": calls,
        }
    )
    return [_clean(r) for r in responses] + ([own] if texts or calls or not responses else [])


def _genai_list(value: Any) -> list[Message]:
    value = parsed_json(value)
    return [m for item in value for m in _genai(item)] if isinstance(value, list) else []


def _event_calls(value: Any) -> list[Message]:
    value = parsed_json(value)
    calls = []
    for call in value if isinstance(value, list) else []:
        if isinstance(call, dict):
            inner = call.get("function")
            function: dict[str, Any] = inner if isinstance(inner, dict) else call
            calls.append(_call(call.get("id"), function.get("name"), function.get("arguments")))
    return calls


def _event(name: str, attrs: Attributes) -> Message:
    body = parsed_json(attrs["gen_ai.event.content"]) if "gen_ai.event.content" in attrs else attrs
    body = body if isinstance(body, dict) else {}
    if name == CHOICE_EVENT:
        inner = parsed_json(body.get("message"))
        body = inner if isinstance(inner, dict) else body
    content = body.get("content")
    return _clean(
        {
            "role": body.get("role") or _EVENT_ROLES.get(name, "assistant"),
            "content": None if content is None else _text(content),
            "tool_calls": _event_calls(body.get("tool_calls")),
            "tool_call_id": body.get("id") if name == "gen_ai.tool.message" else None,
        }
    )


def span_messages(
    attrs: Attributes, groups: Groups, events: Iterable[Event]
) -> tuple[list[Message] | None, list[Message] | None]:
    """(input messages, output messages); None where the span carries none."""
    inputs = [_openinference(m) for m in ordered(groups.get(INPUT_MESSAGES))]
    outputs = [_openinference(m) for m in ordered(groups.get(OUTPUT_MESSAGES))]
    if not inputs and "gen_ai.input.messages" in attrs:
        system = parsed_json(attrs.get("gen_ai.system_instructions"))
        inputs = _genai({"role": "system", "parts": system}) if isinstance(system, list) else []
        inputs += _genai_list(attrs.get("gen_ai.input.messages"))
    if not outputs and "gen_ai.output.messages" in attrs:
        outputs = _genai_list(attrs["gen_ai.output.messages"])
    if not inputs and not outputs and events:
        for name, event_attrs in events:
            if name in _EVENT_ROLES:
                inputs.append(_event(name, event_attrs))
            elif name == CHOICE_EVENT:
                outputs.append(_event(name, event_attrs))
    return inputs or None, outputs or None


def tool_definitions(attrs: Attributes, groups: Groups) -> list[Any]:
    """The tools offered to the model (`llm.tools.*.tool.json_schema`, or GenAI's
    `gen_ai.tool.definitions`), where the judge's tool metrics look for them."""
    tools = [parsed_json(t.get("tool.json_schema")) for t in ordered(groups.get(TOOLS))]
    found = [t for t in tools if isinstance(t, dict)]
    if not found and "gen_ai.tool.definitions" in attrs:
        definitions = parsed_json(attrs.get("gen_ai.tool.definitions"))
        found = (
            [t for t in definitions if isinstance(t, dict)] if isinstance(definitions, list) else []
        )
    return found

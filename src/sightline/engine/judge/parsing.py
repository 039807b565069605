"""Turning a judge's reply into a validated Pydantic answer, and the strict schema we send."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

AnswerT = TypeVar("AnswerT", bound=BaseModel)

# Keys OpenAI's strict structured-output validator rejects; Pydantic still enforces them locally.
_UNSUPPORTED_KEYS = (
    "default",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
)


class InvalidAnswer(ValueError):
    """The reply is not valid JSON for the schema (worth one repair attempt)."""


def strict_schema(answer_model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema in the form strict mode accepts: every property required,
    no additional properties, no unsupported keywords."""
    schema = copy.deepcopy(answer_model.model_json_schema())
    _make_strict(schema)
    return schema


def _make_strict(node: Any) -> None:
    if isinstance(node, list):
        for item in node:
            _make_strict(item)
        return
    if not isinstance(node, dict):
        return
    for key in _UNSUPPORTED_KEYS:
        node.pop(key, None)
    if node.get("type") == "object" and "properties" in node:
        node["additionalProperties"] = False
        node["required"] = list(node["properties"])
    for value in node.values():
        _make_strict(value)


def strip_code_fence(text: str) -> str:
    stripped = text.strip()
    if stripped.startswith("```"):
        first_newline = stripped.find("\n")
        stripped = stripped[first_newline + 1 :] if first_newline != -1 else ""
        if stripped.rstrip().endswith("```"):
            stripped = stripped.rstrip()[:-3]
    return stripped.strip()


def parse_answer(
    content: str | None,
    answer_model: type[AnswerT],
    check: Callable[[AnswerT], None] | None = None,
) -> AnswerT:
    if not content:
        raise InvalidAnswer("the reply was empty")
    text = strip_code_fence(content)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidAnswer(f"not JSON ({exc.msg} at position {exc.pos})") from exc
    try:
        answer = answer_model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}"
            for err in exc.errors()[:5]
        )
        raise InvalidAnswer(f"does not match the schema ({problems})") from exc
    if check is not None:
        try:
            check(answer)
        except ValueError as exc:
            raise InvalidAnswer(str(exc)) from exc
    return answer


def repair_messages(
    messages: list[dict[str, str]], bad_reply: str | None, problem: str
) -> list[dict[str, str]]:
    return [
        *messages,
        {"role": "assistant", "content": bad_reply or ""},
        {
            "role": "user",
            "content": (
                f"That reply was rejected: {problem}. Reply again with only the JSON object "
                "matching the schema, no markdown and no commentary."
            ),
        },
    ]

"""The numbered tool-call listing tool_correctness and argument_correctness read, and the list
of tools the agent had, each fitted into its own share of the budget.

Every call keeps its number and name. Arguments come first, then errors, then results; a
long argument is shown whole while the budget allows and cut in place with a marker beyond.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sightline.engine.render.document import Block, Field, Item, Text
from sightline.engine.render.fit import fit
from sightline.engine.render.slots import ARGS, ERRORS, RESULTS, Slot
from sightline.engine.text import compact_json


def render_calls(calls: Sequence[Any], budget_tokens: int) -> str:
    """``calls`` are ToolCalls (name, arguments, result, error). Raises DoesNotFit."""
    if not calls:
        return "(none)"
    items: list[Item] = []
    for number, call in enumerate(calls, start=1):
        fields: list[Field] = [Text("args", Slot(_text(call.arguments), ((ARGS, None),)))]
        if call.error:
            fields.append(Text("error", Slot(call.error, ((ERRORS, None),))))
        elif call.result is not None:
            fields.append(Text("result", Slot(_text(call.result), ((RESULTS, None),))))
        items.append(Block(f"{number}. {call.name}", "", fields))
    return fit(items, budget_tokens)[0]


def render_available(tools: Sequence[Any], budget_tokens: int) -> str:
    """``tools`` are AvailableTools (name, description)."""
    if not tools:
        return "(not recorded in the trace)"
    items: list[Item] = [
        Block(
            f"- {tool.name}", "", [Text("description", Slot(tool.description, ((ERRORS, None),)))]
        )
        if tool.description
        else f"- {tool.name}"
        for tool in tools
    ]
    return fit(items, budget_tokens)[0]


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else compact_json(value)

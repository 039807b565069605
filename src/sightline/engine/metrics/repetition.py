"""Loops inside one trace: the same tool called with the same arguments again and again.

Deterministic, no judge call. Two calls are identical when they have the same tool name and
the same arguments after canonical JSON (keys sorted, no whitespace; a string holding JSON
is parsed first, so ``'{"b":1, "a":2}'`` and ``{"a": 2, "b": 1}`` are the same arguments).
A call is *repeated* when at least ``REPEAT_MIN`` identical calls fall within some window of
``REPEAT_WINDOW`` consecutive tool calls of the trace (so A B A B A B is caught, and three
identical look-ups spread over 200 calls are not). loop_detection turns the worst repeat
into its in-trace score with ``repetition_score``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sightline.engine.metrics.tools import ToolCall

REPEAT_WINDOW = 10  # consecutive tool calls looked at together
REPEAT_MIN = 3  # identical calls within one window that make a loop
ARGUMENTS_PREVIEW = 200  # characters of the repeated arguments kept in metadata


@dataclass(frozen=True, slots=True)
class RepeatedCall:
    name: str
    arguments: str  # canonical JSON
    count: int  # identical calls in the whole trace
    max_in_window: int  # the most of them within REPEAT_WINDOW consecutive calls
    first_call: int  # 1-based position of the first one among the trace's tool calls

    def as_metadata(self) -> dict[str, Any]:
        arguments = self.arguments
        if len(arguments) > ARGUMENTS_PREVIEW:
            cut = len(arguments) - ARGUMENTS_PREVIEW
            arguments = f"{arguments[:ARGUMENTS_PREVIEW]}…[{cut:,} characters omitted]"
        return {
            "name": self.name,
            "arguments": arguments,
            "count": self.count,
            "max_in_window": self.max_in_window,
            "first_call": self.first_call,
        }

    def describe(self) -> str:
        arguments = self.as_metadata()["arguments"]
        return (
            f"{self.name}({arguments}) was called {self.count} times "
            f"({self.max_in_window} within {REPEAT_WINDOW} consecutive tool calls)"
        )


def canonical_arguments(arguments: Any) -> str:
    if isinstance(arguments, str):
        text = arguments
        try:
            arguments = json.loads(text)
        except ValueError:
            return text.strip()
    return json.dumps(
        arguments, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )


def repeated_calls(
    calls: Sequence[ToolCall], *, window: int = REPEAT_WINDOW, minimum: int = REPEAT_MIN
) -> list[RepeatedCall]:
    """Every repeated (tool, arguments), the most repeated first (ties: first called)."""
    positions: dict[tuple[str, str], list[int]] = defaultdict(list)
    for index, call in enumerate(calls):
        positions[(call.name, canonical_arguments(call.arguments))].append(index)
    found = []
    for (name, arguments), where in positions.items():
        densest = _densest(where, window)
        if densest >= minimum:
            found.append(RepeatedCall(name, arguments, len(where), densest, where[0] + 1))
    found.sort(key=lambda r: (-r.max_in_window, -r.count, r.first_call))
    return found


def repetition_score(repeat: RepeatedCall | None) -> float:
    """1.0 without a repeated call; otherwise 1 / (k - 1) for k identical calls within one
    window: 3 → 0.5 (borderline), 4 → 0.33, 10 → 0.11."""
    if repeat is None:
        return 1.0
    return round(1.0 / (repeat.max_in_window - 1), 4)


def _densest(positions: list[int], window: int) -> int:
    """The most positions (sorted) that fit in ``window`` consecutive indices."""
    best, start = 0, 0
    for end, position in enumerate(positions):
        while position - positions[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best

"""Repeated identical tool calls inside one trace (engine/metrics/repetition.py), and the
user's request as coherence reads it (engine/text.py ``user_request``)."""

from __future__ import annotations

import pytest

from sightline.engine.metrics.repetition import (
    REPEAT_WINDOW,
    canonical_arguments,
    repeated_calls,
    repetition_score,
)
from sightline.engine.metrics.tools import ToolCall
from sightline.engine.text import user_request


def calls(*specs: tuple[str, object]) -> list[ToolCall]:
    return [ToolCall(name, arguments) for name, arguments in specs]


def test_arguments_are_compared_as_canonical_json() -> None:
    as_text = canonical_arguments('{"b": 1, "a": [2, 3]}')
    assert as_text == canonical_arguments({"a": [2, 3], "b": 1}) == '{"a":[2,3],"b":1}'
    assert canonical_arguments("  not json ") == "not json"
    assert canonical_arguments(None) == "null"


def test_ten_identical_calls() -> None:
    [repeat] = repeated_calls(calls(*[("search", {"q": "late orders"})] * 10))
    assert (repeat.name, repeat.count, repeat.max_in_window, repeat.first_call) == (
        "search", 10, 10, 1,
    )  # fmt: skip
    assert repetition_score(repeat) == round(1 / 9, 4)


def test_two_identical_calls_are_not_a_loop() -> None:
    assert repeated_calls(calls(("search", {"q": 1}), ("search", {"q": 1}))) == []
    assert repetition_score(None) == 1.0


def test_different_arguments_or_tools_are_not_repeats() -> None:
    varied = calls(*[("search", {"page": n}) for n in range(10)], ("fetch", {"page": 1}))
    assert repeated_calls(varied) == []


def test_interleaved_repeats_are_caught() -> None:
    """A B A B A B: the same two calls alternating is a loop too."""
    found = repeated_calls(calls(*[("a", {"x": 1}), ("b", {"y": 2})] * 3))
    assert [(r.name, r.max_in_window) for r in found] == [("a", 3), ("b", 3)]
    assert repetition_score(found[0]) == 0.5


def test_repeats_spread_wider_than_the_window_are_not_a_loop() -> None:
    spread: list[ToolCall] = []
    for n in range(3):
        spread.append(ToolCall("status", {"job": 7}))
        spread.extend(ToolCall("step", {"n": n * 100 + i}) for i in range(REPEAT_WINDOW))
    assert repeated_calls(spread) == []
    # ... but the same three within REPEAT_WINDOW consecutive calls are
    dense = spread[: REPEAT_WINDOW - 2] + [ToolCall("status", {"job": 7})] * 2
    [repeat] = repeated_calls(dense)
    assert repeat.count == 3 and repeat.max_in_window == 3


def test_long_arguments_are_cut_with_a_marker_in_metadata() -> None:
    [repeat] = repeated_calls(calls(*[("sql", "SELECT " + "x" * 5000)] * 3))
    shown = repeat.as_metadata()["arguments"]
    assert shown.startswith("SELECT xxx") and shown.endswith("characters omitted]")
    assert len(shown) < 300


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plain question", "plain question"),
        (
            {"messages": [{"role": "system", "content": "POLICY " * 900},
                          {"role": "user", "content": "first ask"},
                          {"role": "assistant", "content": "ok"},
                          {"role": "user", "content": [{"type": "text", "text": "last ask"}]}]},
            "last ask",
        ),
        # a user turn holding only a tool result has no text: the earlier request counts
        (
            [{"role": "user", "content": "find my order"},
             {"role": "user", "content": [{"type": "tool_result", "content": "{}"}]}],
            "find my order",
        ),
        ({"messages": [{"role": "system", "content": "rules"}]}, ""),
        ({"query": "weather"}, '{"query":"weather"}'),
        (None, ""),
    ],
)  # fmt: skip
def test_user_request(value: object, expected: str) -> None:
    assert user_request(value) == expected

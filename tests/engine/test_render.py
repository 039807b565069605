from __future__ import annotations

import json
import re
from dataclasses import asdict, replace

import pytest

from sightline.engine.errors import ContextOverflow
from sightline.engine.judge.catalog import estimate_tokens
from sightline.engine.render import render_trace
from sightline.engine.render.slots import ARGS, RESULTS, TASK, Slot, allocate, cut
from sightline.engine.views import TraceView

from .conftest import messages, span, weather_trace

MARKER = re.compile(r"…\[([\d,]+) characters omitted\]")


def test_renders_every_span_as_a_tree_with_payloads() -> None:
    rendered = render_trace(weather_trace())
    text = rendered.text
    assert text.startswith('TRACE "weather" status=COMPLETED spans=10')
    for name in ("weather-agent", "plan", "geocode", "get_forecast", "compose", "format", "check"):
        assert f"] {name} " in text
    assert "  - [AGENT] weather-agent OK" in text
    assert "    - [TOOL] geocode OK" in text  # child of the agent, indented
    assert "      - [CHAIN] format" in text  # grandchild
    assert 'args: {"city":"Paris"}' in text
    assert 'result: {"lat":48.85,"lon":2.35}' in text
    assert "error: units service down" in text
    assert "gpt-4o-mini" in text and "40→12 tokens" in text
    assert rendered.cuts == 0 and "omitted" not in text


def test_message_envelopes_become_role_lines() -> None:
    text = render_trace(weather_trace()).text
    assert "user: What's the weather in Paris?" in text
    assert "assistant: Plan: 1. geocode Paris" in text
    assert '"messages"' not in text and '"role"' not in text


def test_huge_payload_is_cut_in_place_with_a_marker_and_fits_budget() -> None:
    trace = weather_trace(tool_result={"rows": ["x" * 50 for _ in range(2000)]})
    rendered = render_trace(trace, token_budget=1500)
    assert rendered.estimated_tokens <= 1500
    [removed] = MARKER.findall(rendered.text)
    assert int(removed.replace(",", "")) > 90_000
    assert "get_forecast" in rendered.text and "check" in rendered.text  # every step kept
    # Everything else is whole: the cut took only what did not fit.
    assert 'args: {"lat":48.85,"lon":2.35}' in rendered.text
    assert "user: What's the weather in Paris?" in rendered.text


def test_budget_goes_by_priority_task_and_answer_then_args_then_results() -> None:
    big = "r" * 20_000
    spans = tuple(
        span(f"s{i}", f"tool-{i}", "TOOL", at=i, input={"q": f"args-{i}"}, output=big)
        for i in range(5)
    )
    trace = TraceView(
        trace_id="p", name="p", input="the task " * 50, output="the answer " * 50, spans=spans
    )
    text = render_trace(trace, token_budget=1200).text
    assert ("the task " * 50).strip() in text and ("the answer " * 50).strip() in text
    assert all(f'args: {{"q":"args-{i}"}}' in text for i in range(5))
    shown = [len(m) for m in re.findall(r"result: (r*)", text)]
    assert len(shown) == 5 and max(shown) - min(shown) <= 1  # the rest shared out evenly
    assert estimate_tokens(text) <= 1200


def test_unused_budget_is_given_back_to_the_longer_payloads() -> None:
    slots = [Slot("a" * 10, ((RESULTS, None),)), Slot("b" * 1000, ((RESULTS, None),))]
    allocate(slots, 500)
    assert slots[0].full and slots[1].allotted == 490


def test_priorities_and_caps() -> None:
    system = Slot("s" * 5000, ((TASK, 1200), (RESULTS, None)))
    request = Slot("q" * 300, ((TASK, None),))
    args = Slot("a" * 5000, ((ARGS, None),))
    allocate([system, request, args], 3000)
    assert request.full and system.allotted == 1200 and args.allotted == 1500


def test_a_cut_keeps_both_ends_and_says_how_much_went() -> None:
    sql = "SELECT " + "c, " * 1000 + "x FROM t WHERE paid = false"
    shown = cut(sql, 600)
    assert shown.startswith("SELECT ") and shown.endswith("WHERE paid = false")
    assert f"…[{len(sql) - 600:,} characters omitted]" in shown


def test_a_long_conversation_keeps_the_users_request_after_the_system_prompt() -> None:
    turns = [("system", "POLICY " * 2000)]
    for i in range(30):
        turns += [("user", f"question {i} " * 40), ("assistant", f"answer {i} " * 40)]
    turns.append(("user", "Please cancel invoice 7731."))
    trace = TraceView(trace_id="c", name="c", input=messages(*turns), output="Cancelled.")
    text = render_trace(trace, token_budget=2000).text
    lines = text.splitlines()
    system_line = next(i for i, line in enumerate(lines) if line.startswith("  system: POLICY"))
    request_line = lines.index("  user: Please cancel invoice 7731.")
    omitted = next(i for i, line in enumerate(lines) if "messages omitted" in line)
    assert system_line < omitted < request_line  # the marker stands where messages went
    assert "characters omitted]" in lines[system_line]  # the system prompt is shortened
    assert estimate_tokens(text) <= 2000


def test_far_smaller_than_pandaprobe_json_dump() -> None:
    trace = weather_trace()
    pandaprobe_tokens = estimate_tokens(json.dumps(asdict(trace), indent=2, default=str))
    assert render_trace(trace).estimated_tokens * 2 <= pandaprobe_tokens


def test_headers_over_the_budget_are_a_context_overflow_never_a_skeleton() -> None:
    spans = tuple(span(f"s{i}", f"step-{i}-" + "n" * 200, "TOOL", at=i) for i in range(400))
    trace = TraceView(trace_id="big", name="big", spans=spans)
    with pytest.raises(ContextOverflow, match="400 step headers"):
        render_trace(trace, token_budget=5000)
    assert render_trace(trace, token_budget=40_000).cuts == 0


def test_steps_whose_payloads_all_went_fold_the_marker_into_the_header() -> None:
    spans = tuple(
        span(f"s{i}", f"fetch-{i}", "TOOL", at=i, input="i" * 400, output="o" * 4000)
        for i in range(300)
    )
    trace = TraceView(trace_id="f", name="f", input="task", output="answer", spans=spans)
    text = render_trace(trace, token_budget=8000).text
    assert "- [TOOL] fetch-299 OK 1.0s …[args 400, result 4,000 chars omitted]" in text
    assert estimate_tokens(text) <= 8000


def test_orphans_and_cycles_are_still_rendered() -> None:
    spans = (
        span("a", "orphan", parent="missing"),
        span("b", "cycle-1", parent="c", at=1),
        span("c", "cycle-2", parent="b", at=2),
    )
    text = render_trace(replace(weather_trace(), spans=spans)).text
    assert all(name in text for name in ("orphan", "cycle-1", "cycle-2"))

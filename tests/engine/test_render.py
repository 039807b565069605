from __future__ import annotations

import json
from dataclasses import asdict, replace

import pytest

from sightline.engine.errors import ContextOverflow
from sightline.engine.judge.catalog import estimate_tokens
from sightline.engine.render import render_trace
from sightline.engine.views import TraceView

from .conftest import span, weather_trace


def test_renders_every_span_as_a_tree_with_payloads() -> None:
    text = render_trace(weather_trace()).text
    assert text.startswith('TRACE "weather" status=COMPLETED spans=10')
    for name in ("weather-agent", "plan", "geocode", "get_forecast", "compose", "format", "check"):
        assert f"] {name} " in text
    assert "  - [AGENT] weather-agent status=OK" in text
    assert "    - [TOOL] geocode status=OK" in text  # child of the agent, indented
    assert "      - [CHAIN] format" in text  # grandchild
    assert 'args: {"city":"Paris"}' in text
    assert 'result: {"lat":48.85,"lon":2.35}' in text
    assert "error: units service down" in text
    assert "model=gpt-4o-mini" in text and "tokens=40→12" in text


def test_message_envelopes_become_role_lines() -> None:
    text = render_trace(weather_trace()).text
    assert "user: What's the weather in Paris?" in text
    assert "assistant: Plan: 1. geocode Paris" in text
    assert '"messages"' not in text and '"role"' not in text


def test_huge_payload_is_truncated_with_marker_and_fits_budget() -> None:
    trace = weather_trace(tool_result={"rows": ["x" * 50 for _ in range(2000)]})
    rendered = render_trace(trace, token_budget=1500)
    assert rendered.estimated_tokens <= 1500
    assert "…[truncated " in rendered.text
    assert "get_forecast" in rendered.text and "check" in rendered.text  # every step kept


def test_far_smaller_than_pandaprobe_json_dump() -> None:
    trace = weather_trace()
    pandaprobe_tokens = estimate_tokens(json.dumps(asdict(trace), indent=2, default=str))
    assert render_trace(trace).estimated_tokens * 2 <= pandaprobe_tokens


def test_skeleton_over_context_window_raises_context_overflow() -> None:
    spans = tuple(span(f"s{i}", f"step-{i}-" + "n" * 200, "TOOL", at=i) for i in range(400))
    trace = TraceView(trace_id="big", name="big", spans=spans)
    with pytest.raises(ContextOverflow):
        render_trace(trace, token_budget=1000, context_window_tokens=5000)
    # Without a known context window the skeleton is still returned.
    assert render_trace(trace, token_budget=1000).field_limit == 0


def test_orphans_and_cycles_are_still_rendered() -> None:
    spans = (
        span("a", "orphan", parent="missing"),
        span("b", "cycle-1", parent="c", at=1),
        span("c", "cycle-2", parent="b", at=2),
    )
    text = render_trace(replace(weather_trace(), spans=spans)).text
    assert all(name in text for name in ("orphan", "cycle-1", "cycle-2"))

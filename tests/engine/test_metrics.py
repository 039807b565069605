"""Each metric over real HTTP against the fake judge: prompt content and scoring."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from fakes.openai_server import FakeJudgeServer
from sightline.engine import evaluate_metrics
from sightline.engine.errors import ContextOverflow, UnparseableAnswer
from sightline.engine.judge import LiteLLMJudge
from sightline.engine.judge.catalog import estimate_tokens
from sightline.engine.metrics import TraceEvaluation, get_metric, listed_metrics, template
from sightline.engine.views import TraceView

from .conftest import T0, messages, span, weather_trace

TASK = {"task": "Tell the weather in Paris", "outcome": "Said it is 18°C and sunny"}


def script(server: FakeJudgeServer, **answers: Any) -> None:
    server.answers.update(
        {"TaskAnswer": TASK, "PlanAnswer": {"plan": ["geocode", "forecast", "answer"]}}
    )
    server.answers.update(answers)


def prompts(server: FakeJudgeServer, schema: str) -> list[str]:
    return [r.body["messages"][-1]["content"] for r in server.chat_requests(schema)]


async def evaluate(name: str, judge: LiteLLMJudge, trace: TraceView | None = None, **kw: Any):
    return await get_metric(name).evaluate(TraceEvaluation(trace or weather_trace(), judge, **kw))


async def test_task_completion(judge: LiteLLMJudge, fake_server: FakeJudgeServer) -> None:
    script(fake_server, TaskVerdict={"verdict": 0.9, "reason": "done"})
    result = await evaluate("task_completion", judge)
    assert (result.score, result.reason) == (0.9, "done")
    assert result.metadata == {**TASK, "threshold": 0.5, "success": True}
    assert "[TOOL] get_forecast" in prompts(fake_server, "TaskAnswer")[0]
    assert "Tell the weather in Paris" in prompts(fake_server, "TaskVerdict")[0]
    assert result.usage.requests == 2


async def test_step_efficiency_sends_task_and_rendered_trace(
    judge: LiteLLMJudge, fake_server: FakeJudgeServer
) -> None:
    script(fake_server, ScoreAnswer={"score": 0.3, "reason": "detours"})
    result = await evaluate("step_efficiency", judge)
    assert result.score == 0.3 and result.metadata["success"] is False
    [score_prompt] = prompts(fake_server, "ScoreAnswer")
    assert "Tell the weather in Paris" in score_prompt and "[TOOL] geocode" in score_prompt


async def test_truncation_marker_reaches_the_judge(fake_server: FakeJudgeServer, settings) -> None:
    judge = LiteLLMJudge(settings.model_copy(update={"prompt_token_budget": 4000}))
    script(fake_server)
    trace = weather_trace(tool_result={"rows": ["y" * 80 for _ in range(3000)]})
    await get_metric("confidence").evaluate(
        TraceEvaluation.from_settings(trace, judge, judge_settings(judge))
    )
    [prompt] = prompts(fake_server, "ConfidenceAnswer")
    assert "characters omitted]" in prompt and estimate_tokens(prompt) <= 4000


def judge_settings(judge: LiteLLMJudge):
    return judge._settings  # the settings the judge was built with


async def test_prompts_are_at_most_half_of_pandaprobe(
    judge: LiteLLMJudge, fake_server: FakeJudgeServer
) -> None:
    script(fake_server)
    evaluation = TraceEvaluation(weather_trace(), judge)
    results = await evaluate_metrics(
        evaluation, [get_metric("task_completion"), get_metric("step_efficiency")]
    )
    prompt_tokens = sum(r.usage.prompt_tokens for r in results.values())  # type: ignore[union-attr]
    assert prompt_tokens / 2 <= 6600 / 2


async def test_tool_correctness(judge: LiteLLMJudge, fake_server: FakeJudgeServer) -> None:
    script(fake_server, ScoreAnswer={"score": 1.0, "reason": "right tools"})
    result = await evaluate("tool_correctness", judge)
    assert result.score == 1.0
    assert [c["name"] for c in result.metadata["tools_called"]] == [
        "geocode",
        "get_forecast",
        "check",
    ]
    [prompt] = prompts(fake_server, "ScoreAnswer")
    assert (
        '2. get_forecast\n  args: {"lat":48.85,"lon":2.35}' in prompt
        and '3. check\n  args: {"q":"units"}\n  error: units service down' in prompt
    )


async def test_argument_correctness_scores_the_fraction_of_yes(
    judge: LiteLLMJudge, fake_server: FakeJudgeServer
) -> None:
    verdicts = [
        {"call": 1, "verdict": "yes", "reason": ""},
        {"call": 2, "verdict": "yes", "reason": ""},
        {"call": 3, "verdict": "no", "reason": "bad unit"},
    ]
    script(fake_server, ArgumentVerdicts={"verdicts": verdicts, "reason": "one bad unit"})
    result = await evaluate("argument_correctness", judge)
    assert result.score == pytest.approx(0.6667)
    assert result.metadata["verdicts"][2] == {
        "call": 3,
        "tool": "check",
        "verdict": "no",
        "reason": "bad unit",
    }


def assert_not_applicable(result: Any, note: str) -> None:
    assert result.score is None and result.not_applicable
    assert result.reason.startswith("not_applicable: ")
    assert result.metadata["not_applicable"] is True and result.metadata["note"] == note
    assert result.metadata["threshold"] == 0.5 and result.metadata["success"] is None


async def test_argument_correctness_without_tool_calls_is_not_applicable(
    judge: LiteLLMJudge, fake_server: FakeJudgeServer
) -> None:
    before = len(fake_server.requests)
    result = await evaluate("argument_correctness", judge, replace(weather_trace(), spans=()))
    assert_not_applicable(result, "no_tool_calls")
    assert len(fake_server.requests) == before and result.usage.requests == 0


async def test_tool_correctness_without_tools_is_not_applicable_without_a_judge_call(
    judge: LiteLLMJudge, fake_server: FakeJudgeServer
) -> None:
    script(fake_server, ScoreAnswer={"score": 0.03, "reason": "noise"})
    before = len(fake_server.requests)
    result = await evaluate("tool_correctness", judge, replace(weather_trace(), spans=()))
    assert_not_applicable(result, "no_tools")
    assert len(fake_server.requests) == before
    assert result.metadata["tools_called"] == [] and result.metadata["available_tools"] == []


async def test_tool_correctness_with_tools_offered_but_none_called_is_judged(
    judge: LiteLLMJudge, fake_server: FakeJudgeServer
) -> None:
    """Not calling a tool the task needed is a real error: the judge decides."""
    script(fake_server, ScoreAnswer={"score": 0.2, "reason": "never looked the weather up"})
    offered = replace(
        weather_trace(),
        spans=(),
        metadata={"tools": [{"name": "get_forecast", "description": "the forecast"}]},
    )
    result = await evaluate("tool_correctness", judge, offered)
    assert result.score == 0.2 and not result.not_applicable
    assert len(fake_server.chat_requests("ScoreAnswer")) == 1


async def test_plan_quality_and_adherence(
    judge: LiteLLMJudge, fake_server: FakeJudgeServer
) -> None:
    script(fake_server, ScoreAnswer={"score": 0.8, "reason": "good plan"})
    quality = await evaluate("plan_quality", judge)
    adherence = await evaluate("plan_adherence", judge)
    assert quality.metadata["plan"] == ["geocode", "forecast", "answer"] and quality.score == 0.8
    assert adherence.score == 0.8
    quality_prompt, adherence_prompt = prompts(fake_server, "ScoreAnswer")
    assert "1. geocode" in quality_prompt and "[TOOL]" not in quality_prompt
    assert "1. geocode" in adherence_prompt and "[TOOL] get_forecast" in adherence_prompt


@pytest.mark.parametrize("name", ["plan_quality", "plan_adherence"])
async def test_empty_plan_is_not_applicable(
    name: str, judge: LiteLLMJudge, fake_server: FakeJudgeServer
) -> None:
    script(fake_server, PlanAnswer={"plan": []})
    result = await evaluate(name, judge)
    assert_not_applicable(result, "no_plan")
    assert result.reason == "not_applicable: No plan found in the trace."
    # only the plan extraction was asked: no task extraction, no score
    assert [r.schema_name for r in fake_server.chat_requests()] == ["PlanAnswer"]
    assert result.usage.requests == 1


async def test_confidence(judge: LiteLLMJudge, fake_server: FakeJudgeServer) -> None:
    script(fake_server, ConfidenceAnswer={"confidence": 0.25, "reason": "ignored an error"})
    result = await evaluate("confidence", judge)
    assert result.score == 0.25 and result.metadata == {"threshold": 0.5, "success": False}


async def test_shared_extraction_runs_once_for_four_metrics(
    judge: LiteLLMJudge, fake_server: FakeJudgeServer
) -> None:
    script(fake_server)
    evaluation = TraceEvaluation(weather_trace(), judge)
    names = ["task_completion", "step_efficiency", "plan_quality", "plan_adherence"]
    results = await evaluate_metrics(evaluation, [get_metric(n) for n in names])
    assert all(not isinstance(r, Exception) for r in results.values())
    assert len(fake_server.chat_requests("TaskAnswer")) == 1
    assert len(fake_server.chat_requests("PlanAnswer")) == 1
    assert evaluation.computed["render"] == 1
    # Usage is charged once, split between the users: the scores add up to what the server saw.
    usage = [r.usage for r in results.values()]  # type: ignore[union-attr]
    assert sum(u.requests for u in usage) == len(fake_server.requests)
    assert sum(u.prompt_tokens for u in usage) == sum(r.prompt_tokens for r in fake_server.requests)
    shared = {name: r.metadata["shared_extractions"] for name, r in results.items()}  # type: ignore[union-attr]
    assert shared == {
        "task_completion": {"task": "1/4"},
        "step_efficiency": {"task": "1/4"},
        "plan_quality": {"plan": "1/2", "task": "1/4"},
        "plan_adherence": {"plan": "1/2", "task": "1/4"},
    }
    [extraction] = fake_server.chat_requests("TaskAnswer")
    own = {  # what each metric asked alone, besides the shared extractions
        "task_completion": fake_server.chat_requests("TaskVerdict"),
        "step_efficiency": [
            r for r in fake_server.chat_requests("ScoreAnswer") if "economically" in r.prompt_text
        ],
    }
    for name, requests in own.items():
        paid = results[name].usage.prompt_tokens  # type: ignore[union-attr]
        fair = sum(r.prompt_tokens for r in requests) + extraction.prompt_tokens / 4
        assert abs(paid - fair) < 1, name


async def test_failed_metrics_carry_what_they_spent(
    judge: LiteLLMJudge, fake_server: FakeJudgeServer
) -> None:
    """Unparseable final answers: every request the server saw is charged exactly once,
    across scores and failures, so failed pairs are accounted too."""
    script(fake_server, TaskVerdict="not json at all", ScoreAnswer="still not json")
    evaluation = TraceEvaluation(weather_trace(), judge)
    names = ["task_completion", "step_efficiency"]
    results = await evaluate_metrics(evaluation, [get_metric(n) for n in names])
    assert all(isinstance(r, UnparseableAnswer) for r in results.values())
    # Each metric: the shared task extraction (charged to one of them) + call + repair.
    spent = [r.usage for r in results.values()]  # type: ignore[union-attr]
    assert sum(u.requests for u in spent) == len(fake_server.requests) == 5
    assert all(u.prompt_tokens > 0 for u in spent)


async def test_failed_shared_extraction_is_charged_once(
    judge: LiteLLMJudge, fake_server: FakeJudgeServer
) -> None:
    script(fake_server, TaskAnswer="no task here")
    evaluation = TraceEvaluation(weather_trace(), judge)
    names = ["task_completion", "step_efficiency", "plan_quality"]
    results = await evaluate_metrics(evaluation, [get_metric(n) for n in names])
    assert all(isinstance(r, UnparseableAnswer) for r in results.values())
    usage = {name: r.usage for name, r in results.items()}  # type: ignore[union-attr]
    # the task extraction and its repair, plus plan_quality's plan extraction (it asks for
    # the plan first: an empty plan needs no task)
    assert sum(u.requests for u in usage.values()) == len(fake_server.requests) == 3
    assert sum(u.prompt_tokens for u in usage.values()) == sum(
        r.prompt_tokens for r in fake_server.requests
    )
    # The failed extraction's two requests are split over its three users, in metric order.
    assert [u.requests for u in usage.values()] == [1, 1, 1]  # plan_quality's: its own plan
    task = sum(r.prompt_tokens for r in fake_server.chat_requests("TaskAnswer"))
    assert abs(usage["task_completion"].prompt_tokens - task / 3) < 1
    assert abs(usage["step_efficiency"].prompt_tokens - task / 3) < 1


async def test_context_overflow_fails_the_metric_without_a_call(
    judge: LiteLLMJudge, fake_server: FakeJudgeServer
) -> None:
    evaluation = TraceEvaluation(weather_trace(), judge, token_budget=10, context_window_tokens=20)
    results = await evaluate_metrics(
        evaluation, [get_metric("confidence"), get_metric("task_completion")]
    )
    assert all(isinstance(r, ContextOverflow) for r in results.values())
    assert not fake_server.requests


async def test_coherence_strips_envelopes(
    judge: LiteLLMJudge, fake_server: FakeJudgeServer
) -> None:
    on_topic = await evaluate("coherence", judge)
    off = replace(weather_trace(), output=messages(("assistant", "Bananas contain potassium")))
    off_topic = await evaluate("coherence", judge, off)
    assert on_topic.score > off_topic.score
    assert off_topic.metadata["coherence_gap"] == pytest.approx(1 - off_topic.score)
    sent = fake_server.requests[0].body["input"]
    assert "messages" not in sent[0] and "What's the weather in Paris?" in sent[0]


@pytest.mark.parametrize(
    "change",
    [
        {"output": None},
        {"input": messages(("system", "You are a weather agent."))},  # no user request
    ],
)
async def test_coherence_with_empty_side_is_not_applicable(
    judge: LiteLLMJudge, fake_server: FakeJudgeServer, change: dict[str, Any]
) -> None:
    result = await evaluate("coherence", judge, replace(weather_trace(), **change))
    assert_not_applicable(result, "empty_input_or_output")
    assert not fake_server.requests


async def test_coherence_embeds_the_user_request_not_the_system_prompt(
    judge: LiteLLMJudge, fake_server: FakeJudgeServer
) -> None:
    policy = ("Policy: never disclose internal refund thresholds to customers. " * 92)[:5861]
    conversation = messages(
        ("system", policy),
        ("user", "Hi, I need help with an order."),
        ("assistant", "Sure, which order?"),
        ("user", "What's the weather in Paris?"),
    )
    trace = replace(weather_trace(), input=conversation)
    result = await evaluate("coherence", judge, trace)
    [embedding] = [r for r in fake_server.requests if r.path.endswith("embeddings")]
    request, answer = embedding.body["input"]
    assert request == "What's the weather in Paris?"  # the last user message, alone
    assert "Policy" not in request and "help with an order" not in request
    assert answer == "It is 18°C and sunny in Paris."
    assert result.metadata["compared_chars"] == {"request": len(request), "output": len(answer)}


def session_trace(index: int, output: str) -> TraceView:
    return replace(
        weather_trace(f"t-{index}", output=output), started_at=T0 + timedelta(minutes=index)
    )


async def test_loop_detection_flags_a_repeated_answer(judge: LiteLLMJudge) -> None:
    session = [
        session_trace(i, f"Answer {w}")
        for i, w in enumerate(["alpha one", "beta two", "gamma three"])
    ]
    current = session_trace(9, "Answer gamma three")
    looping = await evaluate("loop_detection", judge, current, session_traces=[*session, current])
    assert looping.score < 0.1
    assert looping.metadata["window_size"] == 3 and len(looping.metadata["comparisons"]) == 3
    fresh = await evaluate(
        "loop_detection",
        judge,
        session_trace(9, "Completely different words here"),
        session_traces=session,
    )
    assert fresh.score > 0.9


@pytest.mark.parametrize(
    ("session", "output", "note"),
    [
        (None, "x", "no_session_context"),
        ([], "answer", "no_previous_outputs"),
        ([], None, "empty_output"),
    ],
)
async def test_loop_detection_without_material_is_not_applicable(
    judge: LiteLLMJudge, fake_server: FakeJudgeServer, session, output, note
) -> None:
    trace = replace(weather_trace(), output=output, spans=())  # no tool calls either
    result = await evaluate("loop_detection", judge, trace, session_traces=session)
    assert_not_applicable(result, note)
    assert not fake_server.requests


@pytest.mark.parametrize("session", [None, []])  # no session context, or its first turn
async def test_loop_detection_checks_tool_calls_without_session_context(
    judge: LiteLLMJudge, fake_server: FakeJudgeServer, session
) -> None:
    """The three distinct calls of the weather trace: real evidence of no loop, not a note
    (the session would otherwise treat it as no evidence)."""
    result = await evaluate("loop_detection", judge, weather_trace(), session_traces=session)
    assert result.score == 1.0 and "note" not in result.metadata
    assert result.metadata["in_trace"]["tool_calls"] == 3
    assert result.metadata["in_trace"]["repeated_calls"] == []
    assert result.reason.startswith("No repeated tool call among 3 calls.")
    assert not fake_server.requests


def looping_trace(trace_id: str = "t-loop", calls: int = 10) -> TraceView:
    """A trace calling search_orders with the same arguments ``calls`` times."""
    base = weather_trace(trace_id)
    searches = tuple(
        span(f"loop-{i}", "search_orders", "TOOL", parent="s1", at=20 + i,
             input={"status": "late", "customer": "C-7"} if i % 2 else
             '{"customer": "C-7", "status": "late"}',  # same arguments, other key order
             output={"orders": []})
        for i in range(calls)
    )  # fmt: skip
    return replace(base, spans=base.spans[:1] + searches)


@pytest.mark.parametrize("session", [None, []])
async def test_ten_identical_tool_calls_are_a_loop(
    judge: LiteLLMJudge, fake_server: FakeJudgeServer, session
) -> None:
    result = await evaluate("loop_detection", judge, looping_trace(), session_traces=session)
    assert result.score == pytest.approx(1 / 9, abs=1e-4) and result.metadata["success"] is False
    [repeat] = result.metadata["in_trace"]["repeated_calls"]
    assert repeat == {
        "name": "search_orders", "arguments": '{"customer":"C-7","status":"late"}',
        "count": 10, "max_in_window": 10, "first_call": 1,
    }  # fmt: skip
    assert "search_orders" in result.reason and "10 times" in result.reason
    assert not fake_server.requests  # deterministic: no judge, no embedding


async def test_loop_detection_takes_the_lower_of_both_checks(judge: LiteLLMJudge) -> None:
    earlier = [session_trace(i, f"Answer {w}") for i, w in enumerate(["alpha", "beta"])]
    current = replace(looping_trace(calls=4), started_at=T0 + timedelta(minutes=9))
    result = await evaluate("loop_detection", judge, current, session_traces=earlier)
    # the answers differ (cross-turn ~1.0); 4 identical calls score 1 / 3
    assert result.score == pytest.approx(1 / 3, abs=1e-4)
    assert len(result.metadata["comparisons"]) == 2 and result.metadata["max_hybrid"] < 0.1
    assert result.metadata["in_trace"]["score"] == pytest.approx(1 / 3, abs=1e-4)


def test_registry_lists_eight_metrics_and_hides_loop_detection() -> None:
    names = [m.name for m in listed_metrics()]
    assert names == sorted(names) and len(names) == 8 and "loop_detection" not in names
    assert get_metric("loop_detection").needs_session
    stages = {m.name: [s["stage"] for s in template(m)["prompt_preview"]] for m in listed_metrics()}
    assert stages == {
        "task_completion": ["extract", "score"],
        "step_efficiency": ["extract_task", "score"],
        "tool_correctness": ["extract", "score"],
        "argument_correctness": ["extract", "verdicts", "reason"],
        "plan_quality": ["score"],
        "plan_adherence": ["extract_plan", "score"],
        "confidence": ["evaluate"],
        "coherence": [],
    }
    assert template(get_metric("confidence"))["default_threshold"] == 0.5


async def test_concurrent_metrics_share_one_in_flight_extraction(
    judge: LiteLLMJudge, fake_server: FakeJudgeServer
) -> None:
    fake_server.latency_seconds = 0.2
    script(fake_server)
    evaluation = TraceEvaluation(weather_trace(), judge)
    await asyncio.gather(
        *(get_metric(n).evaluate(evaluation) for n in ("task_completion", "step_efficiency"))
    )
    assert len(fake_server.chat_requests("TaskAnswer")) == 1
    # Through evaluate_metrics, both awaited the one in-flight extraction and share its cost.
    before = len(fake_server.requests)
    evaluation = TraceEvaluation(weather_trace("t-2"), judge)
    names = ["task_completion", "step_efficiency"]
    results = await evaluate_metrics(evaluation, [get_metric(n) for n in names])
    sent = fake_server.requests[before:]
    [extraction] = [r for r in sent if r.schema_name == "TaskAnswer"]
    for result in results.values():
        assert result.metadata["shared_extractions"] == {"task": "1/2"}  # type: ignore[union-attr]
    usage = [r.usage for r in results.values()]  # type: ignore[union-attr]
    assert [u.requests for u in usage] == [2, 1]  # the one extraction request goes to the first
    assert sum(u.prompt_tokens for u in usage) == sum(r.prompt_tokens for r in sent)
    assert abs(usage[0].prompt_tokens - usage[1].prompt_tokens) < extraction.prompt_tokens

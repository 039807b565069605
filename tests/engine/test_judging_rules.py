"""Issue 9's judging rules over real HTTP: reason before score, one verdict per tool call
(checked, repaired once, else FAILED), and shared extraction costs split between metrics."""

from __future__ import annotations

import inspect
import re
from dataclasses import replace
from typing import Any

import pytest
from pydantic import BaseModel

from fakes.openai_server import FakeJudgeServer
from sightline.engine import evaluate_metrics
from sightline.engine.budget import Budget
from sightline.engine.errors import UnparseableAnswer
from sightline.engine.judge import InMemoryJudgeCache, JudgeRequest, LiteLLMJudge
from sightline.engine.judge.parsing import strict_schema
from sightline.engine.judge.types import JUDGE_SYSTEM_PROMPT, Usage
from sightline.engine.limits import Limits
from sightline.engine.metrics import MetricResult, TraceEvaluation, answers, get_metric
from sightline.engine.metrics.answers import (
    ArgumentVerdict,
    ArgumentVerdicts,
    ConfidenceAnswer,
    ScoreAnswer,
    TaskVerdict,
)
from sightline.engine.metrics.argument_correctness import one_verdict_per_call
from sightline.engine.metrics.context import UsageMeter, split_usage
from sightline.engine.views import TraceView

from .conftest import make_settings, span, weather_trace

TASK = {"task": "Look up five things", "outcome": "Looked them up"}


def five_calls() -> TraceView:
    spans = tuple(
        span(f"c{i}", f"lookup_{i}", "TOOL", at=i, input={"q": i}, output="ok") for i in range(5)
    )
    return TraceView(trace_id="five", name="five", input="look up", output="done", spans=spans)


def verdicts(*calls: int, reply_reason: str = "summary") -> dict[str, Any]:
    return {
        "verdicts": [{"call": n, "reason": "fine", "verdict": "yes"} for n in calls],
        "reason": reply_reason,
    }


JUDGED = [
    "task_completion",
    "step_efficiency",
    "confidence",
    "plan_quality",
    "plan_adherence",
    "tool_correctness",
    "argument_correctness",
]
CALL_COUNT = re.compile(r"The agent's (\d+) tool calls")


def all_yes(body: dict[str, Any]) -> dict[str, Any]:
    """One "yes" per call, as many as the verdicts prompt lists."""
    found = CALL_COUNT.search(str(body["messages"][-1]["content"]))
    assert found is not None
    return verdicts(*range(1, int(found.group(1)) + 1))


@pytest.mark.parametrize(
    ("model", "order"),
    [
        (ScoreAnswer, ["reason", "score"]),
        (TaskVerdict, ["reason", "verdict"]),
        (ConfidenceAnswer, ["reason", "confidence"]),
        (ArgumentVerdict, ["call", "reason", "verdict"]),
    ],
)
def test_every_answer_schema_asks_for_the_reason_before_the_score(
    model: type[BaseModel], order: list[str]
) -> None:
    assert list(strict_schema(model)["properties"]) == order


def test_no_answer_shape_puts_a_score_before_its_reason() -> None:
    shapes = [
        m
        for _, m in inspect.getmembers(answers, inspect.isclass)
        if issubclass(m, BaseModel) and m.__module__ == answers.__name__
    ]
    assert ArgumentVerdicts in shapes
    for shape in shapes:
        properties = list(strict_schema(shape)["properties"])
        for decided in {"score", "verdict", "confidence"} & set(properties):
            assert properties.index("reason") < properties.index(decided), shape.__name__


def test_the_system_prompt_asks_for_reasoning_in_the_answer() -> None:
    assert "silently" not in JUDGE_SYSTEM_PROMPT
    assert "reasoning" in JUDGE_SYSTEM_PROMPT


async def test_every_judged_prompt_asks_for_the_reasoning_first(
    judge: LiteLLMJudge, fake_server: FakeJudgeServer
) -> None:
    fake_server.answers.update(
        TaskAnswer=TASK, PlanAnswer={"plan": ["a", "b"]}, ArgumentVerdicts=all_yes
    )
    evaluation = TraceEvaluation(weather_trace(), judge)
    results = await evaluate_metrics(evaluation, [get_metric(n) for n in JUDGED])
    assert all(isinstance(r, MetricResult) and r.score is not None for r in results.values())
    judged = [
        r for r in fake_server.chat_requests() if r.schema_name not in {"TaskAnswer", "PlanAnswer"}
    ]
    assert len(judged) == len(JUDGED)
    for request in judged:
        assert request.body["messages"][0]["content"] == JUDGE_SYSTEM_PROMPT
        prompt = str(request.body["messages"][-1]["content"])
        assert re.search(r"[Ff]irst (explain your reasoning|give a short reason)", prompt)
    # The stored reason is the judge's own text (the fake's default answer says "fake").
    assert {r.reason for r in results.values()} == {"fake", "summary"}  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (verdicts(1), "verdicts for calls 2, 3, 4, 5 are missing"),
        (verdicts(1, 2, 2, 3, 4, 5), "calls 2 have more than one verdict"),
        (verdicts(1, 2, 3, 4, 5, 99), "calls 99 do not exist (there are 5 calls)"),
        (verdicts(), "verdicts for calls 1, 2, 3, 4, 5 are missing"),
    ],
    ids=["one-for-five", "duplicate", "out-of-range", "empty"],
)
async def test_a_wrong_set_of_verdicts_is_repaired_once_then_failed(
    judge: LiteLLMJudge, fake_server: FakeJudgeServer, answer: dict[str, Any], problem: str
) -> None:
    fake_server.answers.update(TaskAnswer=TASK, ArgumentVerdicts=answer)
    with pytest.raises(UnparseableAnswer) as failed:
        await get_metric("argument_correctness").evaluate(TraceEvaluation(five_calls(), judge))
    sent = fake_server.chat_requests("ArgumentVerdicts")
    assert len(sent) == 2  # the question and its one repair
    assert problem in sent[1].body["messages"][-1]["content"]
    assert failed.value.usage.requests == 3  # the task extraction, the answer, the repair


async def test_a_repaired_answer_scores(judge: LiteLLMJudge, fake_server: FakeJudgeServer) -> None:
    replies = iter([verdicts(1), verdicts(5, 4, 3, 2, 1)])
    fake_server.answers.update(TaskAnswer=TASK, ArgumentVerdicts=lambda request: next(replies))
    result = await get_metric("argument_correctness").evaluate(TraceEvaluation(five_calls(), judge))
    assert result.score == 1.0
    assert [v["call"] for v in result.metadata["verdicts"]] == [1, 2, 3, 4, 5]
    assert result.metadata["verdicts"][0]["tool"] == "lookup_0"


async def test_shared_extraction_cost_is_split_and_sums_to_what_was_spent(
    judge: LiteLLMJudge, fake_server: FakeJudgeServer
) -> None:
    fake_server.answers.update(TaskAnswer=TASK, PlanAnswer={"plan": ["a", "b"]})
    names = ["task_completion", "step_efficiency", "plan_quality", "plan_adherence"]
    uses = {
        "task_completion": ("task",),
        "step_efficiency": ("task",),
        "plan_quality": ("task", "plan"),
        "plan_adherence": ("task", "plan"),
    }
    # Alone, each metric pays its own request plus every extraction it needs.
    own: dict[str, int] = {}
    for name in names:
        alone = TraceEvaluation(weather_trace(), judge)
        [result] = (await evaluate_metrics(alone, [get_metric(name)])).values()
        extractions = sum(alone.shared_usage[k].prompt_tokens for k in uses[name])
        own[name] = result.usage.prompt_tokens - extractions  # type: ignore[union-attr]

    before = len(fake_server.chat_requests())
    together = TraceEvaluation(weather_trace(), judge)
    results = await evaluate_metrics(together, [get_metric(n) for n in names])
    usage = {name: r.usage for name, r in results.items()}  # type: ignore[union-attr]
    assert sum(u.requests for u in usage.values()) == len(fake_server.chat_requests()) - before
    task, plan = together.shared_usage["task"], together.shared_usage["plan"]
    assert sum(u.prompt_tokens for u in usage.values()) == (
        sum(own.values()) + task.prompt_tokens + plan.prompt_tokens
    )
    for name in names:
        fair = task.prompt_tokens / 4 + (plan.prompt_tokens / 2 if "plan" in uses[name] else 0)
        assert abs(usage[name].prompt_tokens - (own[name] + fair)) <= 2, name
    metadata = {name: results[name].metadata for name in names}  # type: ignore[union-attr]
    assert metadata["task_completion"]["shared_extractions"] == {"task": "1/4"}
    assert metadata["plan_quality"]["shared_extractions"] == {"task": "1/4", "plan": "1/2"}


async def test_a_cached_answer_that_fails_the_check_is_asked_again(
    fake_server: FakeJudgeServer, settings: Any
) -> None:
    cache = InMemoryJudgeCache()
    judge = LiteLLMJudge(settings, cache=cache)
    unchecked = JudgeRequest("Give the verdicts of five calls", ArgumentVerdicts)
    fake_server.answers["ArgumentVerdicts"] = verdicts(1)
    await judge.complete(unchecked)  # cached when nothing checked it
    fake_server.answers["ArgumentVerdicts"] = verdicts(1, 2, 3, 4, 5)
    checked = replace(unchecked, check=one_verdict_per_call(5))
    result = await judge.complete(checked)
    assert not result.cached and not result.repaired
    assert [v.call for v in result.answer.verdicts] == [1, 2, 3, 4, 5]
    assert len(fake_server.chat_requests()) == 2  # the miss asked once, no repair needed
    again = await judge.complete(checked)
    assert again.cached and len(again.answer.verdicts) == 5  # the good answer replaced it
    assert len(fake_server.chat_requests()) == 2


def test_split_usage_adds_up_exactly() -> None:
    total = Usage(prompt_tokens=10, completion_tokens=7, cost_usd=0.1, requests=2, cached=1)
    parts = split_usage(total, 3)
    assert [p.prompt_tokens for p in parts] == [4, 3, 3]
    assert [p.completion_tokens for p in parts] == [3, 2, 2]
    assert [p.requests for p in parts] == [1, 1, 0]
    assert [p.cached for p in parts] == [1, 0, 0]
    assert abs(sum(p.cost_usd for p in parts) - 0.1) <= 1e-12
    assert all(abs(p.cost_usd - 0.1 / 3) <= 1e-12 for p in parts)


async def test_per_metric_cost_sums_to_what_the_judge_spent(fake_server: FakeJudgeServer) -> None:
    settings = make_settings(fake_server, model="openai/gpt-4o-mini")  # a priced model
    fake_server.answers.update(
        TaskAnswer=TASK, PlanAnswer={"plan": ["a", "b"]}, ArgumentVerdicts=all_yes
    )
    # What each metric costs by itself: the extractions are cache hits (free) for it.
    cache = InMemoryJudgeCache()
    warm = TraceEvaluation(weather_trace(), LiteLLMJudge(settings, cache=cache))
    await warm.task(UsageMeter())
    await warm.plan(UsageMeter())
    own: dict[str, float] = {}
    for name in JUDGED:
        alone = TraceEvaluation(weather_trace(), LiteLLMJudge(settings, cache=cache))
        [result] = (await evaluate_metrics(alone, [get_metric(name)])).values()
        own[name] = result.usage.cost_usd  # type: ignore[union-attr]

    budget = Budget()
    judge = LiteLLMJudge(settings, limits=Limits.from_settings(settings), budget=budget)
    before = len(fake_server.requests)
    evaluation = TraceEvaluation(weather_trace(), judge)
    results = await evaluate_metrics(evaluation, [get_metric(n) for n in JUDGED])
    usage = {name: r.usage for name, r in results.items()}  # type: ignore[union-attr]
    sent = fake_server.requests[before:]
    assert budget.spent_usd > 0
    assert abs(sum(u.cost_usd for u in usage.values()) - budget.spent_usd) <= 1e-12
    assert sum(u.requests for u in usage.values()) == len(sent)
    assert sum(u.prompt_tokens for u in usage.values()) == sum(r.prompt_tokens for r in sent)
    task, plan = evaluation.shared_usage["task"].cost_usd, evaluation.shared_usage["plan"].cost_usd
    fair = {name: task / 6 for name in JUDGED}
    fair.update(
        confidence=0.0, plan_quality=task / 6 + plan / 2, plan_adherence=task / 6 + plan / 2
    )
    for name in JUDGED:
        assert abs(usage[name].cost_usd - (own[name] + fair[name])) <= 1e-12, name
    assert "shared_extractions" not in results["confidence"].metadata  # type: ignore[union-attr]
    assert results["tool_correctness"].metadata["shared_extractions"] == {"task": "1/6"}  # type: ignore[union-attr]
    assert results["plan_adherence"].metadata["shared_extractions"] == {  # type: ignore[union-attr]
        "plan": "1/2",
        "task": "1/6",
    }


async def test_a_failed_metric_carries_its_share_of_the_extraction(
    fake_server: FakeJudgeServer,
) -> None:
    settings = make_settings(fake_server, model="openai/gpt-4o-mini")
    budget = Budget()
    judge = LiteLLMJudge(settings, limits=Limits.from_settings(settings), budget=budget)
    fake_server.answers.update(TaskAnswer=TASK, ArgumentVerdicts=verdicts(1))  # never enough
    names = ["task_completion", "step_efficiency", "argument_correctness"]
    evaluation = TraceEvaluation(five_calls(), judge)
    results = await evaluate_metrics(evaluation, [get_metric(n) for n in names])
    failed = results["argument_correctness"]
    assert isinstance(failed, UnparseableAnswer)
    assert str(failed).count("verdicts for calls 2, 3, 4, 5 are missing")
    spent = [r.usage for r in results.values()]  # type: ignore[union-attr]
    assert abs(sum(u.cost_usd for u in spent) - budget.spent_usd) <= 1e-12
    assert sum(u.requests for u in spent) == len(fake_server.requests) == 5
    # the extraction's one request went to the first user; the failure paid its two own
    assert [u.requests for u in spent] == [2, 1, 2]
    task = evaluation.shared_usage["task"]
    own = sum(r.prompt_tokens for r in fake_server.chat_requests("ArgumentVerdicts"))
    assert abs(failed.usage.prompt_tokens - (own + task.prompt_tokens / 3)) < 1

"""Issue 9's judging rules over real HTTP: reason before score, one verdict per tool call
(checked, repaired once, else FAILED), and shared extraction costs split between metrics."""

from __future__ import annotations

from typing import Any

import pytest

from fakes.openai_server import FakeJudgeServer
from sightline.engine import evaluate_metrics
from sightline.engine.errors import UnparseableAnswer
from sightline.engine.judge import LiteLLMJudge
from sightline.engine.judge.parsing import strict_schema
from sightline.engine.judge.types import JUDGE_SYSTEM_PROMPT
from sightline.engine.metrics import TraceEvaluation, get_metric
from sightline.engine.metrics.answers import (
    ArgumentVerdict,
    ConfidenceAnswer,
    ScoreAnswer,
    TaskVerdict,
)
from sightline.engine.views import TraceView

from .conftest import span, weather_trace

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


@pytest.mark.parametrize("model", [ScoreAnswer, TaskVerdict, ConfidenceAnswer, ArgumentVerdict])
def test_every_answer_schema_asks_for_the_reason_before_the_score(model: Any) -> None:
    properties = list(strict_schema(model)["properties"])
    assert properties.index("reason") < len(properties) - 1
    assert properties[-1] in {"score", "verdict", "confidence"}


def test_the_system_prompt_asks_for_reasoning_in_the_answer() -> None:
    assert "silently" not in JUDGE_SYSTEM_PROMPT
    assert "reasoning" in JUDGE_SYSTEM_PROMPT


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

from __future__ import annotations

from collections.abc import Callable

from sightline.engine.judge.types import JudgeRequest
from sightline.engine.metrics.answers import ArgumentVerdicts
from sightline.engine.metrics.base import Metric, MetricResult, PromptStage
from sightline.engine.metrics.context import TraceEvaluation, UsageMeter
from sightline.engine.metrics.tool_correctness import EXTRACT_NOTE

VERDICTS_PROMPT = """The user's task: {task}

The agent's {count} tool calls, numbered, with their results:
{calls}

For every numbered call (exactly one verdict each, calls 1 to {count}), decide whether its \
arguments were right for what the agent needed at \
that moment: correct values taken from the task or earlier results, the right types and \
formats, nothing invented. For each call first give a short reason, then "yes" or "no"; then \
sum up what was wrong (or say nothing was) in one sentence."""

REASON_NOTE = "(Answered in the verdicts call: the summary sentence of the wrong arguments.)"


class ArgumentCorrectness(Metric):
    name = "argument_correctness"
    description = "Were the tools called with correct arguments? (fraction of correct calls)"
    stages = (
        PromptStage("extract", EXTRACT_NOTE),
        PromptStage("verdicts", VERDICTS_PROMPT),
        PromptStage("reason", REASON_NOTE),
    )

    async def evaluate(self, evaluation: TraceEvaluation) -> MetricResult:
        meter = UsageMeter()
        calls = evaluation.tool_use().calls
        if not calls:  # no judge call: there are no arguments to check
            return self.not_applicable(
                "No tool calls in the trace; no arguments to check.",
                meter,
                note="no_tool_calls",
                user_input=None,
                verdicts=[],
            )
        extracted = await evaluation.task(meter)
        prompt = VERDICTS_PROMPT.format(
            count=len(calls), task=extracted.task, calls=evaluation.tool_listing()[1]
        )
        request = JudgeRequest(
            prompt, ArgumentVerdicts, stage="verdicts", check=one_verdict_per_call(len(calls))
        )
        answer = await evaluation.ask(request, meter)
        ordered = sorted(answer.verdicts, key=lambda v: v.call)
        verdicts = [
            {
                "call": v.call,
                "tool": calls[v.call - 1].name,
                "verdict": v.verdict,
                "reason": v.reason,
            }
            for v in ordered
        ]
        correct = sum(1 for v in ordered if v.verdict == "yes")
        return self.result(
            correct / len(calls), answer.reason, meter, user_input=extracted.task, verdicts=verdicts
        )


def one_verdict_per_call(count: int) -> Callable[[ArgumentVerdicts], None]:
    """The judge must give exactly one verdict for each of calls 1..count; anything else is
    an answer to repair, never a score built from what happened to come back."""

    def check(answer: ArgumentVerdicts) -> None:
        numbers = [v.call for v in answer.verdicts]
        problems = []
        missing = sorted(set(range(1, count + 1)) - set(numbers))
        if missing:
            problems.append(f"verdicts for calls {_listed(missing)} are missing")
        duplicated = sorted({n for n in numbers if numbers.count(n) > 1})
        if duplicated:
            problems.append(f"calls {_listed(duplicated)} have more than one verdict")
        unknown = sorted({n for n in numbers if not 1 <= n <= count})
        if unknown:
            problems.append(f"calls {_listed(unknown)} do not exist (there are {count} calls)")
        if problems:
            raise ValueError(
                "; ".join(problems) + f"; give exactly one verdict for each call 1..{count}"
            )

    return check


def _listed(numbers: list[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:20])
    return shown + (f" and {len(numbers) - 20} more" if len(numbers) > 20 else "")

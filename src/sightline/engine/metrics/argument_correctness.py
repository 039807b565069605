from __future__ import annotations

from sightline.engine.judge.types import JudgeRequest
from sightline.engine.metrics.answers import ArgumentVerdicts
from sightline.engine.metrics.base import Metric, MetricResult, PromptStage
from sightline.engine.metrics.context import TraceEvaluation, UsageMeter
from sightline.engine.metrics.tool_correctness import EXTRACT_NOTE

VERDICTS_PROMPT = """The user's task: {task}

The agent's tool calls, numbered, with their results:
{calls}

For every numbered call, decide whether its arguments were right for what the agent needed at \
that moment: correct values taken from the task or earlier results, the right types and \
formats, nothing invented. Answer "yes" or "no" per call with a short reason, then sum up what \
was wrong (or say nothing was) in one sentence."""

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
        prompt = VERDICTS_PROMPT.format(task=extracted.task, calls=evaluation.tool_listing()[1])
        answer = await evaluation.ask(
            JudgeRequest(prompt, ArgumentVerdicts, stage="verdicts"), meter
        )
        verdicts = [{"verdict": v.verdict, "reason": v.reason} for v in answer.verdicts]
        correct = sum(1 for v in answer.verdicts if v.verdict == "yes")
        score = correct / len(verdicts) if verdicts else 1.0
        return self.result(
            score, answer.reason, meter, user_input=extracted.task, verdicts=verdicts
        )

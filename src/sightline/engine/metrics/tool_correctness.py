from __future__ import annotations

from sightline.engine.judge.types import JudgeRequest
from sightline.engine.metrics.answers import ScoreAnswer
from sightline.engine.metrics.base import Metric, MetricResult, PromptStage
from sightline.engine.metrics.context import TraceEvaluation, UsageMeter
from sightline.engine.metrics.tools import describe_available, describe_calls

EXTRACT_NOTE = """(No judge call.) Tool calls are read from the trace's TOOL spans (name, \
arguments, result, error), or from the assistant messages' tool_calls when there are no TOOL \
spans; available tools from any "tools" list in span inputs or metadata. The user's task comes \
from the shared task extraction."""

SCORE_PROMPT = """The user's task: {task}

Tools the agent had:
{available}

Tools the agent called, in order (with results):
{calls}

Did the agent pick the right tools? 1.0: every tool the task needed was called and none was \
wrong or pointless; lower it for a missing needed tool, a wrong tool, or calls that did not \
serve the task; 0.0: tool use was entirely wrong. Give the score and a one-sentence reason."""


class ToolCorrectness(Metric):
    name = "tool_correctness"
    description = "Did the agent call the right tools for the task? (1 = all right)"
    stages = (PromptStage("extract", EXTRACT_NOTE), PromptStage("score", SCORE_PROMPT))

    async def evaluate(self, evaluation: TraceEvaluation) -> MetricResult:
        meter = UsageMeter()
        extracted = await evaluation.task(meter)
        tools = evaluation.tool_use()
        prompt = SCORE_PROMPT.format(
            task=extracted.task,
            available=describe_available(tools.available),
            calls=describe_calls(tools.calls),
        )
        answer = await evaluation.ask(JudgeRequest(prompt, ScoreAnswer, stage="score"), meter)
        return self.result(
            answer.score,
            answer.reason,
            meter,
            user_input=extracted.task,
            tools_called=[{"name": c.name, "parameters": c.arguments} for c in tools.calls],
            available_tools=[
                {"name": t.name, "description": t.description} for t in tools.available
            ],
        )

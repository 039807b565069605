from __future__ import annotations

from sightline.engine.judge.types import JudgeRequest
from sightline.engine.metrics.answers import ScoreAnswer
from sightline.engine.metrics.base import Metric, MetricResult, PromptStage
from sightline.engine.metrics.context import TraceEvaluation, UsageMeter

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
serve the task; 0.0: tool use was entirely wrong. \
First explain your reasoning in two or three sentences, then give the score."""


class ToolCorrectness(Metric):
    name = "tool_correctness"
    description = "Did the agent call the right tools for the task? (1 = all right)"
    stages = (PromptStage("extract", EXTRACT_NOTE), PromptStage("score", SCORE_PROMPT))
    version = 2  # 2: not applicable without tools (no judge noise)

    async def evaluate(self, evaluation: TraceEvaluation) -> MetricResult:
        meter = UsageMeter()
        tools = evaluation.tool_use()
        # No tool called and none offered: nothing to judge. When tools were offered and
        # none was called, the judge still decides (not calling a needed tool is an error).
        if not tools.calls and not tools.available:
            return self.not_applicable(
                "No tool calls and no available tools in the trace.",
                meter,
                note="no_tools",
                user_input=None,
                tools_called=[],
                available_tools=[],
            )
        extracted = await evaluation.task(meter)
        prompt = SCORE_PROMPT.format(
            task=extracted.task,
            available=evaluation.tool_listing()[0],
            calls=evaluation.tool_listing()[1],
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

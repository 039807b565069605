from __future__ import annotations

from sightline.engine.judge.types import JudgeRequest
from sightline.engine.metrics.answers import TaskVerdict
from sightline.engine.metrics.base import Metric, MetricResult, PromptStage
from sightline.engine.metrics.context import EXTRACT_TASK_PROMPT, TraceEvaluation, UsageMeter

SCORE_PROMPT = """Task the user gave an AI agent:
{task}

What the agent delivered:
{outcome}

How completely and correctly does the delivered outcome accomplish the task? 1.0: fully done \
and correct; 0.5: partly done or with notable gaps; 0.0: not done, wrong, or the agent gave up. \
First explain your reasoning in two or three sentences, then give the verdict."""


class TaskCompletion(Metric):
    name = "task_completion"
    description = "Did the agent accomplish the task the user asked for? (1 = fully completed)"
    stages = (PromptStage("extract", EXTRACT_TASK_PROMPT), PromptStage("score", SCORE_PROMPT))

    async def evaluate(self, evaluation: TraceEvaluation) -> MetricResult:
        meter = UsageMeter()
        extracted = await evaluation.task(meter)
        prompt = SCORE_PROMPT.format(task=extracted.task, outcome=extracted.outcome)
        verdict = await evaluation.ask(JudgeRequest(prompt, TaskVerdict, stage="score"), meter)
        return self.result(
            verdict.verdict, verdict.reason, meter, task=extracted.task, outcome=extracted.outcome
        )

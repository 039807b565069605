from __future__ import annotations

from sightline.engine.judge.types import JudgeRequest
from sightline.engine.metrics.answers import ScoreAnswer
from sightline.engine.metrics.base import Metric, MetricResult, PromptStage
from sightline.engine.metrics.context import EXTRACT_TASK_PROMPT, TraceEvaluation, UsageMeter

SCORE_PROMPT = """The user's task: {task}

The agent's steps:
{trace}

Rate how economically the steps pursue the task. 1.0: every step was needed and in a sensible \
order; lower it for repeated calls, redundant LLM round-trips, detours, retries of the same \
failing action, or work unrelated to the task; 0.0: mostly wasted effort. Judge the path, not \
whether the final answer is right. \
First explain your reasoning in two or three sentences, then give the score."""


class StepEfficiency(Metric):
    name = "step_efficiency"
    description = "Did the agent reach its result without redundant or wasted steps? (1 = no waste)"
    stages = (PromptStage("extract_task", EXTRACT_TASK_PROMPT), PromptStage("score", SCORE_PROMPT))

    async def evaluate(self, evaluation: TraceEvaluation) -> MetricResult:
        meter = UsageMeter()
        extracted = await evaluation.task(meter)
        prompt = SCORE_PROMPT.format(task=extracted.task, trace=evaluation.rendered.text)
        answer = await evaluation.ask(JudgeRequest(prompt, ScoreAnswer, stage="score"), meter)
        return self.result(answer.score, answer.reason, meter, task=extracted.task)

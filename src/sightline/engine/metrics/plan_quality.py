from __future__ import annotations

from sightline.engine.judge.types import JudgeRequest
from sightline.engine.metrics.answers import ScoreAnswer
from sightline.engine.metrics.base import Metric, MetricResult, PromptStage
from sightline.engine.metrics.context import TraceEvaluation, UsageMeter

SCORE_PROMPT = """The user's task: {task}

The agent's plan:
{plan}

Rate the plan itself, regardless of how it was carried out. 1.0: complete, logically ordered, \
specific enough to act on, and no unnecessary steps; lower it for missing steps, wrong order, \
vague steps or steps that do not serve the task. \
First explain your reasoning in two or three sentences, then give the score."""


def numbered(steps: list[str]) -> str:
    return "\n".join(f"{i}. {step}" for i, step in enumerate(steps, start=1))


class PlanQuality(Metric):
    name = "plan_quality"
    description = "Is the agent's plan complete, well ordered and fit for the task? (1 = excellent)"
    stages = (PromptStage("score", SCORE_PROMPT),)

    async def evaluate(self, evaluation: TraceEvaluation) -> MetricResult:
        meter = UsageMeter()
        plan = (await evaluation.plan(meter)).plan
        if not plan:  # no plan to rate: not applicable, and no task extraction needed
            return self.not_applicable(
                "No plan found in the trace.", meter, note="no_plan", plan=[]
            )
        extracted = await evaluation.task(meter)
        prompt = SCORE_PROMPT.format(task=extracted.task, plan=numbered(plan))
        answer = await evaluation.ask(JudgeRequest(prompt, ScoreAnswer, stage="score"), meter)
        return self.result(answer.score, answer.reason, meter, task=extracted.task, plan=plan)

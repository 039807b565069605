from __future__ import annotations

from sightline.engine.judge.types import JudgeRequest
from sightline.engine.metrics.answers import ScoreAnswer
from sightline.engine.metrics.base import Metric, MetricResult, PromptStage
from sightline.engine.metrics.context import EXTRACT_PLAN_PROMPT, TraceEvaluation, UsageMeter
from sightline.engine.metrics.plan_quality import numbered

SCORE_PROMPT = """The user's task: {task}

The plan the agent set out:
{plan}

What the agent actually did:
{trace}

Rate how faithfully the execution followed the plan. 1.0: every planned step was carried out \
in order and nothing unplanned was done without reason; lower it for skipped, reordered or \
abandoned steps and unexplained deviations. \
First explain your reasoning in two or three sentences, then give the score."""


class PlanAdherence(Metric):
    name = "plan_adherence"
    description = "Did the agent follow the plan it set out? (1 = followed faithfully)"
    stages = (PromptStage("extract_plan", EXTRACT_PLAN_PROMPT), PromptStage("score", SCORE_PROMPT))

    async def evaluate(self, evaluation: TraceEvaluation) -> MetricResult:
        meter = UsageMeter()
        plan = (await evaluation.plan(meter)).plan
        if not plan:  # no plan to rate: not applicable, and no task extraction needed
            return self.not_applicable(
                "No plan found in the trace.", meter, note="no_plan", plan=[]
            )
        extracted = await evaluation.task(meter)
        prompt = SCORE_PROMPT.format(
            task=extracted.task, plan=numbered(plan), trace=evaluation.rendered.text
        )
        answer = await evaluation.ask(JudgeRequest(prompt, ScoreAnswer, stage="score"), meter)
        return self.result(answer.score, answer.reason, meter, task=extracted.task, plan=plan)

from __future__ import annotations

from sightline.engine.judge.types import JudgeRequest
from sightline.engine.metrics.answers import ConfidenceAnswer
from sightline.engine.metrics.base import Metric, MetricResult, PromptStage
from sightline.engine.metrics.context import TraceEvaluation, UsageMeter

EVALUATE_PROMPT = """Read this AI-agent trace:

{trace}

How much can the agent's final answer be trusted? 1.0: it is grounded in tool or retrieval \
results shown in the trace, consistent with them, and no error was left unresolved; lower it \
for claims without support in the trace, contradictions, ignored errors, or guessing; 0.0: the \
answer is unsupported or contradicted. \
First explain your reasoning in two or three sentences, then give the confidence."""


class Confidence(Metric):
    name = "confidence"
    description = (
        "How well supported by the trace's own evidence is the agent's final answer? (1 = fully)"
    )
    stages = (PromptStage("evaluate", EVALUATE_PROMPT),)

    async def evaluate(self, evaluation: TraceEvaluation) -> MetricResult:
        meter = UsageMeter()
        prompt = EVALUATE_PROMPT.format(trace=evaluation.rendered.text)
        answer = await evaluation.ask(
            JudgeRequest(prompt, ConfidenceAnswer, stage="evaluate"), meter
        )
        return self.result(answer.confidence, answer.reason, meter)

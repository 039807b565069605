from __future__ import annotations

from sightline.engine.metrics.base import Metric, MetricResult
from sightline.engine.metrics.context import TraceEvaluation, UsageMeter
from sightline.engine.text import cosine, plain_text, user_request


class Coherence(Metric):
    """Embedding similarity of what the user asked and what the agent answered. The request
    is the last user message of a conversation input (never the system prompt, whose policy
    text would swamp the comparison), or the plain input; message envelopes are stripped so
    JSON boilerplate does not inflate the similarity."""

    name = "coherence"
    description = (
        "Does the agent's output stay on the subject of the user's request? "
        "(embedding similarity, 1 = same subject)"
    )
    uses_embeddings = True
    version = 2  # 2: the user's request, not the whole input, is compared

    async def evaluate(self, evaluation: TraceEvaluation) -> MetricResult:
        meter = UsageMeter()
        question = user_request(evaluation.trace.input)
        answer = plain_text(evaluation.trace.output).strip()
        if not question or not answer:
            return self.not_applicable(
                "The user's request or the output is empty; nothing to compare.",
                meter,
                note="empty_input_or_output",
            )
        vectors = (await evaluation.embed([question, answer], meter)).vectors
        score = round(min(1.0, max(0.0, cosine(vectors[0], vectors[1]))), 4)
        reason = f"The user's request and the output have cosine similarity {score:.2f}."
        return self.result(
            score,
            reason,
            meter,
            coherence_gap=round(1.0 - score, 4),
            compared_chars={"request": len(question), "output": len(answer)},
        )

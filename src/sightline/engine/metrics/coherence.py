from __future__ import annotations

from sightline.engine.metrics.base import Metric, MetricResult
from sightline.engine.metrics.context import TraceEvaluation, UsageMeter
from sightline.engine.text import cosine, plain_text


class Coherence(Metric):
    """Embedding similarity of what the user said and what the agent answered. Message
    envelopes are stripped first so JSON boilerplate does not inflate the similarity."""

    name = "coherence"
    description = (
        "Does the agent's output stay on the subject of the input? "
        "(embedding similarity, 1 = same subject)"
    )
    uses_embeddings = True

    async def evaluate(self, evaluation: TraceEvaluation) -> MetricResult:
        meter = UsageMeter()
        question = plain_text(evaluation.trace.input).strip()
        answer = plain_text(evaluation.trace.output).strip()
        if not question or not answer:
            return self.result(
                1.0,
                "Input or output is empty; nothing to compare.",
                meter,
                coherence_gap=0.0,
                note="empty_input_or_output",
            )
        vectors = (await evaluation.embed([question, answer], meter)).vectors
        score = round(min(1.0, max(0.0, cosine(vectors[0], vectors[1]))), 4)
        reason = f"Input and output embeddings have cosine similarity {score:.2f}."
        return self.result(score, reason, meter, coherence_gap=round(1.0 - score, 4))

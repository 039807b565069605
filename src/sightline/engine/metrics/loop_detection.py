from __future__ import annotations

from typing import Any

from sightline.engine.metrics.base import Metric, MetricResult
from sightline.engine.metrics.context import TraceEvaluation, UsageMeter
from sightline.engine.text import content_tokens, cosine, jaccard, plain_text
from sightline.engine.views import TraceView

WINDOW_SIZE = 3


class LoopDetection(Metric):
    """Compares this trace's output with the outputs of the previous traces of its session:
    an agent answering the same thing again and again is looping. Hidden from listings
    because it only makes sense with session context (``TraceEvaluation.session_traces``)."""

    name = "loop_detection"
    description = (
        "Is the agent repeating an earlier answer of the same session? (1 = no repetition)"
    )
    listed = False
    needs_session = True
    uses_embeddings = True

    async def evaluate(self, evaluation: TraceEvaluation) -> MetricResult:
        meter = UsageMeter()
        session_traces = evaluation.session_traces
        current = evaluation.trace
        output = plain_text(current.output).strip()
        if session_traces is None:
            return self._nothing(
                meter, "no_session_context", "No session context; nothing to compare."
            )
        if not output:
            return self._nothing(meter, "empty_output", "The trace has no output.")
        previous = [
            (t, text)
            for t in _earlier(current, session_traces)
            if (text := plain_text(t.output).strip())
        ]
        if not previous:
            return self._nothing(meter, "no_previous_outputs", "No earlier outputs in the session.")

        vectors = (await evaluation.embed([output] + [text for _, text in previous], meter)).vectors
        mine = content_tokens(output)
        comparisons: list[dict[str, Any]] = []
        hybrids: list[float] = []
        for index, ((trace, text), vector) in enumerate(zip(previous, vectors[1:], strict=True)):
            cos = max(0.0, cosine(vectors[0], vector))
            jac = jaccard(mine, content_tokens(text))
            hybrids.append(round(cos * jac, 4))
            comparisons.append(
                {
                    "trace_index": index,
                    "trace_id": trace.trace_id,
                    "cosine_similarity": round(cos, 4),
                    "jaccard_similarity": round(jac, 4),
                    "hybrid_score": hybrids[-1],
                }
            )
        max_hybrid = max(hybrids)
        reason = (
            f"Most similar earlier output scores {max_hybrid:.2f} (cosine × word overlap) "
            f"over the last {len(comparisons)} traces."
        )
        return self.result(
            1.0 - max_hybrid,
            reason,
            meter,
            window_size=WINDOW_SIZE,
            max_hybrid=max_hybrid,
            comparisons=comparisons,
        )

    def _nothing(self, meter: UsageMeter, note: str, reason: str) -> MetricResult:
        return self.result(1.0, reason, meter, window_size=WINDOW_SIZE, note=note)


def _earlier(current: TraceView, session_traces: tuple[TraceView, ...]) -> list[TraceView]:
    """The last WINDOW_SIZE traces that started before this one (the session may be passed
    whole, in any order, with or without the current trace)."""
    if current.started_at is None:
        others = [t for t in session_traces if t.trace_id != current.trace_id]
        return others[-WINDOW_SIZE:]
    start = current.started_at
    earlier = [
        t
        for t in session_traces
        if t.trace_id != current.trace_id and t.started_at is not None and t.started_at < start
    ]
    earlier.sort(key=lambda t: t.started_at or start)
    return earlier[-WINDOW_SIZE:]

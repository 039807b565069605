from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sightline.engine.metrics.base import Metric, MetricResult
from sightline.engine.metrics.context import TraceEvaluation, UsageMeter
from sightline.engine.metrics.repetition import (
    REPEAT_MIN,
    REPEAT_WINDOW,
    repeated_calls,
    repetition_score,
)
from sightline.engine.text import content_tokens, cosine, jaccard, plain_text
from sightline.engine.views import TraceView

WINDOW_SIZE = 3
LISTED_REPEATS = 5


@dataclass(frozen=True, slots=True)
class _Check:
    """One of the two loop checks: a score, or why it did not apply (``skipped``)."""

    score: float | None
    reason: str
    metadata: dict[str, Any] = field(default_factory=dict)
    skipped: str | None = None


class LoopDetection(Metric):
    """Two checks; when both apply, the lower score wins:

    - **inside the trace**: the same tool called with the same arguments again and again
      (``repetition``: ``REPEAT_MIN`` identical calls within ``REPEAT_WINDOW`` consecutive
      tool calls scores 1 / (k - 1) for k such calls), deterministic, no judge call, and
      no session context needed;
    - **across turns**: this trace's output against the outputs of the previous traces of
      its session (1 - max of cosine × word overlap, one embedding call), which needs
      session context (``TraceEvaluation.session_traces``).

    Not applicable when neither applies (no tool calls, and no earlier output to compare).
    Hidden from listings: session runs use it as a signal."""

    name = "loop_detection"
    description = (
        "Is the agent looping: the same tool call repeated inside the trace, or an earlier "
        "answer of the same session repeated? (1 = no repetition)"
    )
    listed = False
    needs_session = True
    uses_embeddings = True
    version = 2  # 2: repeated tool calls inside the trace count

    async def evaluate(self, evaluation: TraceEvaluation) -> MetricResult:
        meter = UsageMeter()
        inside = _inside(evaluation)
        across = await _across(evaluation, meter)
        checks = [c for c in (inside, across) if c.score is not None]
        metadata: dict[str, Any] = {"window_size": WINDOW_SIZE, **across.metadata}
        metadata["in_trace"] = inside.metadata
        if not checks:
            return self.not_applicable(
                f"{inside.reason} {across.reason}",
                meter,
                note=across.skipped or "nothing_to_compare",
                **metadata,
            )
        if across.skipped:
            metadata["cross_turn_skipped"] = across.skipped
        score = min(c.score for c in checks if c.score is not None)
        return self.result(score, f"{inside.reason} {across.reason}", meter, **metadata)


def _inside(evaluation: TraceEvaluation) -> _Check:
    calls = evaluation.tool_use().calls
    base = {"repeat_window": REPEAT_WINDOW, "repeat_min": REPEAT_MIN, "tool_calls": len(calls)}
    if not calls:
        return _Check(None, "No tool calls in the trace.", base, skipped="no_tool_calls")
    repeats = repeated_calls(calls)
    score = repetition_score(repeats[0] if repeats else None)
    metadata = {
        **base,
        "score": score,
        "repeated_calls": [r.as_metadata() for r in repeats[:LISTED_REPEATS]],
    }
    if not repeats:
        return _Check(score, f"No repeated tool call among {len(calls)} calls.", metadata)
    return _Check(score, f"Repeated tool call: {repeats[0].describe()}.", metadata)


async def _across(evaluation: TraceEvaluation, meter: UsageMeter) -> _Check:
    session_traces = evaluation.session_traces
    current = evaluation.trace
    output = plain_text(current.output).strip()
    if session_traces is None:
        return _Check(None, "No session context to compare.", skipped="no_session_context")
    if not output:
        return _Check(None, "The trace has no output to compare.", skipped="empty_output")
    previous = [
        (t, text)
        for t in _earlier(current, session_traces)
        if (text := plain_text(t.output).strip())
    ]
    if not previous:
        return _Check(
            None, "No earlier outputs in the session to compare.", skipped="no_previous_outputs"
        )

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
    metadata = {"max_hybrid": max_hybrid, "comparisons": comparisons}
    return _Check(round(1.0 - max_hybrid, 4), reason, metadata)


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

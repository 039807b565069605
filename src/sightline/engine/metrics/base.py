"""The Metric interface and its result."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

from sightline.engine.judge.types import Usage
from sightline.engine.metrics.context import TraceEvaluation, UsageMeter
from sightline.kit.statuses import ScoreDataType

DEFAULT_THRESHOLD = 0.5
# The reason of a not-applicable result starts with this word, and its metadata holds
# ``not_applicable: true`` (README, "What a score rests on").
NOT_APPLICABLE = "not_applicable"


@dataclass(frozen=True, slots=True)
class PromptStage:
    stage: str
    prompt: str

    def as_dict(self) -> dict[str, str]:
        return {"stage": self.stage, "prompt": self.prompt}


@dataclass(frozen=True, slots=True)
class MetricResult:
    """A score, or (``score is None``) the finding that the metric does not apply to the
    trace: no tool calls to check, no plan to rate. Not applicable is not a score: it is
    stored with a null value and left out of every mean."""

    score: float | None  # 0..1, rounded to 4 places; None when not applicable
    reason: str | None
    metadata: dict[str, Any]  # always holds threshold and success (None when not applicable)
    usage: Usage = field(default_factory=Usage)  # judge calls made for this result
    # What the stored value is (custom metrics, issue 15): NUMERIC is ``score``; BOOLEAN is
    # "true"/"false" from a score of 1.0/0.0; CATEGORICAL is ``label`` (``score`` None).
    data_type: ScoreDataType = ScoreDataType.NUMERIC
    label: str | None = None

    @property
    def not_applicable(self) -> bool:
        return self.score is None and self.label is None


class Metric(ABC):
    name: ClassVar[str]
    description: ClassVar[str]
    stages: ClassVar[tuple[PromptStage, ...]] = ()
    listed: ClassVar[bool] = True  # shown by GET /evaluations/trace-metrics
    needs_session: ClassVar[bool] = False  # needs TraceEvaluation.session_traces
    uses_embeddings: ClassVar[bool] = False
    threshold: ClassVar[float] = DEFAULT_THRESHOLD
    # Bumped when a change makes earlier stored scores incomparable; written to metadata as
    # metric_version (when > 1), and a session run reuses a stored signal only of the
    # current version.
    version: ClassVar[int] = 1

    @abstractmethod
    async def evaluate(self, evaluation: TraceEvaluation) -> MetricResult:
        """Score one trace. Raises an EngineError when it cannot (never returns a fake 0)."""

    def prompt_preview(self) -> list[dict[str, str]]:
        return [stage.as_dict() for stage in self.stages]

    def result(
        self, score: float, reason: str | None, meter: UsageMeter, **metadata: Any
    ) -> MetricResult:
        score = round(min(1.0, max(0.0, float(score))), 4)
        metadata.update(threshold=self.threshold, success=score >= self.threshold)
        return MetricResult(score, reason, self._versioned(metadata), meter.usage)

    def not_applicable(
        self, reason: str, meter: UsageMeter, *, note: str, **metadata: Any
    ) -> MetricResult:
        """Nothing to evaluate (``note`` names why, e.g. ``no_tool_calls``): no score, and
        ``success`` is None, neither passed nor failed. The reason reads
        ``not_applicable: <reason>``."""
        metadata.update(not_applicable=True, note=note, threshold=self.threshold, success=None)
        reason = f"{NOT_APPLICABLE}: {reason}"
        return MetricResult(None, reason, self._versioned(metadata), meter.usage)

    def _versioned(self, metadata: dict[str, Any]) -> dict[str, Any]:
        if self.version > 1:
            metadata["metric_version"] = self.version
        return metadata

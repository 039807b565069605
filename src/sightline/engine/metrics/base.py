"""The Metric interface and its result."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

from sightline.engine.judge.types import Usage
from sightline.engine.metrics.context import TraceEvaluation, UsageMeter

DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True, slots=True)
class PromptStage:
    stage: str
    prompt: str

    def as_dict(self) -> dict[str, str]:
        return {"stage": self.stage, "prompt": self.prompt}


@dataclass(frozen=True, slots=True)
class MetricResult:
    score: float  # 0..1, rounded to 4 places
    reason: str | None
    metadata: dict[str, Any]  # always holds threshold and success
    usage: Usage = field(default_factory=Usage)  # judge calls made for this score


class Metric(ABC):
    name: ClassVar[str]
    description: ClassVar[str]
    stages: ClassVar[tuple[PromptStage, ...]] = ()
    listed: ClassVar[bool] = True  # shown by GET /evaluations/trace-metrics
    needs_session: ClassVar[bool] = False  # needs TraceEvaluation.session_traces
    uses_embeddings: ClassVar[bool] = False
    threshold: ClassVar[float] = DEFAULT_THRESHOLD

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
        return MetricResult(score, reason, metadata, meter.usage)

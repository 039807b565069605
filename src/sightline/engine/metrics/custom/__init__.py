"""A project's own metrics as the engine runs them (issue 15).

``Definition`` is one stored version of a metric (name, version, kind, description,
config); ``build(definition, judge=...)`` makes the ``Metric`` a run evaluates: a
``CheckMetric`` for the deterministic kinds (``checks``: no judge call, cost 0, BOOLEAN), a
``JudgeMetric`` for ``llm_judge`` (``judge``). Every score they give records
``metadata.metric_version`` and ``metadata.kind``. ``config`` holds each kind's settings
and their validation; ``fields`` what a check reads of a trace.

A run resolves its custom metrics once, when it starts (``executor``), from the versions
pinned at its creation (``eval_run.metric_versions``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel

from sightline.engine.judge.types import JudgeClient
from sightline.engine.metrics.base import NOT_APPLICABLE, Metric, MetricResult, PromptStage
from sightline.engine.metrics.context import TraceEvaluation, UsageMeter
from sightline.engine.metrics.custom.checks import CHECKS, Check, Verdict, reason_of
from sightline.engine.metrics.custom.config import (
    DETERMINISTIC_KINDS,
    Kind,
    LlmJudgeConfig,
    parse_config,
)
from sightline.engine.metrics.custom.judge import answer_model, build_request, preview
from sightline.engine.views import TraceView
from sightline.kit.statuses import ScoreDataType

__all__ = [
    "DETERMINISTIC_KINDS",
    "CheckMetric",
    "CustomMetric",
    "Definition",
    "JudgeMetric",
    "Kind",
    "build",
    "data_type_of",
    "scoring_model",
]


@dataclass(frozen=True, slots=True)
class Definition:
    name: str
    version: int
    kind: str
    description: str = ""
    config: dict[str, Any] = field(default_factory=dict)


class CustomMetric(Metric):
    """A metric built from a Definition (instance attributes where built-ins have class
    attributes)."""

    deterministic: ClassVar[bool] = True

    def __init__(self, definition: Definition) -> None:
        self.name = definition.name  # type: ignore[misc]
        self.description = definition.description or definition.kind  # type: ignore[misc]
        self.version = definition.version  # type: ignore[misc]
        self.kind = Kind(definition.kind)
        self.own_model: str | None = None

    @property
    def cache_scope(self) -> str:
        return f"custom_metric:{self.name}:v{self.version}"

    def _versioned(self, metadata: dict[str, Any]) -> dict[str, Any]:
        metadata["metric_version"] = self.version
        metadata["kind"] = self.kind.value
        return metadata


class CheckMetric(CustomMetric):
    def __init__(self, definition: Definition, check: Check[Any]) -> None:
        super().__init__(definition)
        self.check = check

    async def evaluate(self, evaluation: TraceEvaluation) -> MetricResult:
        return self.verdict_result(self.check.on_trace(evaluation.trace))

    def check_trace(self, trace: TraceView) -> MetricResult | Exception:
        """``evaluate`` without a coroutine (a check never awaits): its failure is returned
        in its place, as ``evaluate_metrics`` returns a metric's."""
        try:
            return self.verdict_result(self.check.on_trace(trace))
        except Exception as exc:
            return exc

    def on_session(self, traces: Sequence[TraceView]) -> MetricResult:
        """The check on a session's traces as one whole (see ``checks``)."""
        return self.verdict_result(self.check.on_traces(traces))

    def verdict_result(self, verdict: Verdict) -> MetricResult:
        reason = reason_of(verdict)
        metadata: dict[str, Any] = {**verdict.details, "threshold": None}
        if verdict.passed is None:
            metadata.update(not_applicable=True, note="nothing_to_check", success=None)
            return MetricResult(
                None,
                f"{NOT_APPLICABLE}: {reason}",
                self._versioned(metadata),
                data_type=ScoreDataType.BOOLEAN,
            )
        metadata["success"] = verdict.passed
        score = 1.0 if verdict.passed else 0.0
        return MetricResult(
            score, reason, self._versioned(metadata), data_type=ScoreDataType.BOOLEAN
        )


class JudgeMetric(CustomMetric):
    deterministic = False

    def __init__(
        self, definition: Definition, config: LlmJudgeConfig, judge: JudgeClient | None
    ) -> None:
        super().__init__(definition)
        self.config = config
        self.judge = judge  # None: the run's judge
        self.own_model = judge.model if judge is not None else None
        self.threshold = config.threshold if config.threshold is not None else 0.5  # type: ignore[misc]
        self.answer: type[BaseModel] = answer_model(config)
        self.stages = (PromptStage("judge", preview(config)),)  # type: ignore[misc]

    async def evaluate(self, evaluation: TraceEvaluation) -> MetricResult:
        meter = UsageMeter()
        request = build_request(self.config, self.answer, evaluation, self.cache_scope)
        answer: Any = await evaluation.ask(request, meter, judge=self.judge)
        score_type = self.config.score_type
        if score_type == ScoreDataType.CATEGORICAL:
            metadata = self._versioned({"threshold": None, "success": None})
            return MetricResult(
                None, answer.reason, metadata, meter.usage,
                data_type=ScoreDataType.CATEGORICAL, label=str(answer.label),
            )  # fmt: skip
        if score_type == ScoreDataType.BOOLEAN:
            metadata = self._versioned({"threshold": None, "success": bool(answer.passed)})
            score = 1.0 if answer.passed else 0.0
            return MetricResult(
                score, answer.reason, metadata, meter.usage, data_type=ScoreDataType.BOOLEAN
            )
        return self.result(answer.score, answer.reason, meter)


def build(definition: Definition, *, judge: JudgeClient | None = None) -> CustomMetric:
    """The metric of one stored version. ``judge``: a client bound to an llm_judge metric's
    own model (None: the run's judge). Raises pydantic.ValidationError for a config that
    no longer validates."""
    config = parse_config(definition.kind, definition.config)
    if isinstance(config, LlmJudgeConfig):
        return JudgeMetric(definition, config, judge)
    return CheckMetric(definition, CHECKS[Kind(definition.kind)](config))


def data_type_of(metric: Metric) -> ScoreDataType:
    """What the metric's scores are: a check BOOLEAN, a custom judge its score_type, a
    built-in NUMERIC."""
    if isinstance(metric, JudgeMetric):
        return metric.config.score_type
    if isinstance(metric, CheckMetric):
        return ScoreDataType.BOOLEAN
    return ScoreDataType.NUMERIC


def scoring_model(metric: Metric, run_model: str) -> str | None:
    """The judge model a metric's scores record: None for a deterministic check, the
    metric's own model, else the run's."""
    if isinstance(metric, CustomMetric):
        if metric.deterministic:
            return None
        return metric.own_model or run_model
    return run_model

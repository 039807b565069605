"""Metrics: the ``Metric`` interface, the registry and the per-trace shared context."""

from sightline.engine.metrics.base import (
    DEFAULT_THRESHOLD,
    NOT_APPLICABLE,
    Metric,
    MetricResult,
    PromptStage,
)
from sightline.engine.metrics.context import TraceEvaluation, UsageMeter
from sightline.engine.metrics.registry import (
    UnknownMetric,
    all_metrics,
    describe,
    get_metric,
    listed_metrics,
    template,
)

__all__ = [
    "DEFAULT_THRESHOLD",
    "NOT_APPLICABLE",
    "Metric",
    "MetricResult",
    "PromptStage",
    "TraceEvaluation",
    "UnknownMetric",
    "UsageMeter",
    "all_metrics",
    "describe",
    "get_metric",
    "listed_metrics",
    "template",
]

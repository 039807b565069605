"""Every metric by name, plus what GET /evaluations/trace-metrics and
GET /evaluations/trace-runs/template need to describe them."""

from __future__ import annotations

from typing import Any

from sightline.engine.metrics.argument_correctness import ArgumentCorrectness
from sightline.engine.metrics.base import DEFAULT_THRESHOLD, Metric
from sightline.engine.metrics.coherence import Coherence
from sightline.engine.metrics.confidence import Confidence
from sightline.engine.metrics.loop_detection import LoopDetection
from sightline.engine.metrics.plan_adherence import PlanAdherence
from sightline.engine.metrics.plan_quality import PlanQuality
from sightline.engine.metrics.step_efficiency import StepEfficiency
from sightline.engine.metrics.task_completion import TaskCompletion
from sightline.engine.metrics.tool_correctness import ToolCorrectness

_ALL: dict[str, Metric] = {
    metric.name: metric
    for metric in (
        ArgumentCorrectness(),
        Coherence(),
        Confidence(),
        LoopDetection(),
        PlanAdherence(),
        PlanQuality(),
        StepEfficiency(),
        TaskCompletion(),
        ToolCorrectness(),
    )
}


class UnknownMetric(KeyError):
    pass


def get_metric(name: str) -> Metric:
    try:
        return _ALL[name]
    except KeyError:
        raise UnknownMetric(name) from None


def all_metrics() -> list[Metric]:
    """Every metric, hidden ones included (session runs may use loop_detection)."""
    return [_ALL[name] for name in sorted(_ALL)]


def listed_metrics() -> list[Metric]:
    """What a standalone trace run accepts and GET /evaluations/trace-metrics lists."""
    return [metric for metric in all_metrics() if metric.listed]


def describe(metric: Metric) -> dict[str, Any]:
    return {"name": metric.name, "description": metric.description, "category": "trace"}


def template(metric: Metric) -> dict[str, Any]:
    return {
        **describe(metric),
        "default_threshold": DEFAULT_THRESHOLD,
        "prompt_preview": metric.prompt_preview(),
    }

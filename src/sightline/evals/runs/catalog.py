"""What a trace run can use: the metrics GET /evaluations/trace-metrics lists (the
built-ins, then the project's own) and GET /evaluations/trace-runs/template."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from sightline.config import Settings
from sightline.engine.metrics import get_metric, listed_metrics, template
from sightline.evals.metrics import service as custom_metrics
from sightline.evals.runs.schemas import EvalRunFilters, MetricInfo, RunTemplate
from sightline.evals.runs.service import resolve_default_model, unknown_metrics

CUSTOM_CATEGORY = "custom"


async def list_trace_metrics(db: AsyncSession, project_id: uuid.UUID) -> list[MetricInfo]:
    """The built-in trace metrics, then the project's own (category "custom")."""
    builtins = [
        MetricInfo(name=m.name, description=m.description, category="trace")
        for m in listed_metrics()
    ]
    custom = await custom_metrics.live_metrics(db, project_id)
    return builtins + [
        MetricInfo(name=row.name, description=row.description, category=CUSTOM_CATEGORY)
        for row in custom.values()
    ]


async def run_template(
    db: AsyncSession, project_id: uuid.UUID, settings: Settings, metric: str
) -> RunTemplate:
    listed = [m.name for m in listed_metrics()]
    custom = await custom_metrics.live_metrics(db, project_id, [metric])
    if metric not in listed and metric not in custom:
        # hidden metrics (loop_detection) have no standalone template
        every = [*listed, *await custom_metrics.live_metrics(db, project_id)]
        raise unknown_metrics([metric], every, heading="Unknown metric")
    if metric in custom:
        found = custom_metrics.built(custom.values())[metric]
        described = {**template(found), "category": CUSTOM_CATEGORY}
        described["default_threshold"] = found.threshold if found.threshold is not None else 0.5
    else:
        described = template(get_metric(metric))
    return RunTemplate.model_validate(
        {
            "metric": described,
            "filters": dict.fromkeys(EvalRunFilters.model_fields),
            "sampling_rate": 1.0,
            "model": resolve_default_model(settings),
        }
    )

"""A project's deterministic custom metrics on a session: the check reads the session's
traces as one whole (``CheckMetric.on_session``), with no signal and no judge."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence

from sightline.engine.errors import EngineError
from sightline.engine.metrics.custom import CheckMetric
from sightline.engine.targets import PairOutcome, RunContext
from sightline.engine.views import TraceView
from sightline.kit.statuses import ScoreDataType

logger = logging.getLogger("sightline.engine")


def check_outcome(ctx: RunContext, name: str, views: Sequence[TraceView]) -> PairOutcome:
    """A deterministic custom metric on the session's traces (no judge, cost 0)."""
    metric = ctx.custom_metrics[name]
    context = {"model": None}
    if not isinstance(metric, CheckMetric):  # refused when the run is created
        failure = EngineError(f"{name} is not a deterministic check; it cannot score a session")
        return dataclasses.replace(
            PairOutcome.failure(name, failure), context=context, data_type=ScoreDataType.BOOLEAN
        )
    try:
        result = metric.on_session(views)
    except Exception as exc:
        logger.error("custom metric %s failed on a session", name, exc_info=exc)
        return dataclasses.replace(
            PairOutcome.failure(name, exc), context=context, data_type=ScoreDataType.BOOLEAN
        )
    return PairOutcome(
        name, result.score, result.reason, result.metadata, context=context,
        not_applicable=result.not_applicable, data_type=result.data_type,
    )  # fmt: skip

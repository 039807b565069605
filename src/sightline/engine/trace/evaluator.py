"""TRACE targets: load the trace once, evaluate all its metrics on one shared
``TraceEvaluation`` (one rendering, shared extractions), write trace scores by upsert."""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from sightline.db.models import Span, Trace
from sightline.db.types import utcnow
from sightline.engine import evaluate_metrics
from sightline.engine.errors import EngineError
from sightline.engine.judge.types import Usage
from sightline.engine.metrics import TraceEvaluation, get_metric
from sightline.engine.targets import (
    PairOutcome,
    RunContext,
    TargetMissing,
)
from sightline.engine.views import SpanView, TraceView
from sightline.evals.scores import repository as scores_repo
from sightline.kit.statuses import ScoreDataType, ScoreSource, ScoreStatus
from sightline.traces import repository as traces_repo

logger = logging.getLogger("sightline.engine")


def to_trace_view(trace: Trace, spans: Sequence[Span]) -> TraceView:
    return TraceView(
        trace_id=str(trace.trace_id),
        name=trace.name,
        status=trace.status,
        started_at=trace.started_at,
        ended_at=trace.ended_at,
        input=trace.input,
        output=trace.output,
        metadata=dict(trace.metadata_ or {}),
        session_id=trace.session_id,
        user_id=trace.user_id,
        tags=tuple(trace.tags or ()),
        environment=trace.environment,
        spans=tuple(
            SpanView(
                span_id=str(span.span_id),
                name=span.name,
                kind=span.kind,
                status=span.status,
                started_at=span.started_at,
                ended_at=span.ended_at,
                parent_span_id=str(span.parent_span_id) if span.parent_span_id else None,
                input=span.input,
                output=span.output,
                model=span.model,
                token_usage=dict(span.token_usage) if span.token_usage else None,
                metadata=dict(span.metadata_ or {}),
                error=span.error,
            )
            for span in spans
        ),
    )


class TraceTargetEvaluator:
    async def evaluate(
        self, ctx: RunContext, target_id: str, metrics: Sequence[str]
    ) -> list[PairOutcome]:
        trace_id = uuid.UUID(target_id)
        async with ctx.session_factory() as db:
            loaded = await traces_repo.load_traces(db, ctx.project_id, [trace_id])
        if trace_id not in loaded:
            missing = TargetMissing(f"trace {target_id} no longer exists in the project")
            return [PairOutcome.failure(m, missing, store=False) for m in metrics]
        trace, spans = loaded[trace_id]
        # Automated trace scores copy the trace's environment, as PandaProbe's do.
        context = {"environment": trace.environment}
        evaluation = TraceEvaluation.from_settings(
            to_trace_view(trace, spans), ctx.judge, ctx.settings.judge_settings
        )
        results = await evaluate_metrics(evaluation, [get_metric(name) for name in metrics])
        outcomes = []
        for name in metrics:
            result = results[name]
            if isinstance(result, Exception):
                if not isinstance(result, EngineError):
                    logger.error("metric %s failed on trace %s", name, target_id, exc_info=result)
                failure = PairOutcome.failure(name, result)
                # What the metric spent before failing, when the error carries it.
                spent = getattr(result, "usage", None)
                usage = spent if isinstance(spent, Usage) else failure.usage
                outcomes.append(dataclasses.replace(failure, context=context, usage=usage))
            else:
                outcomes.append(
                    PairOutcome(
                        name, result.score, result.reason, result.metadata, result.usage,
                        context=context, not_applicable=result.not_applicable,
                    )
                )  # fmt: skip
        return outcomes

    async def write(
        self, db: AsyncSession, ctx: RunContext, target_id: str, outcomes: list[PairOutcome]
    ) -> None:
        now = utcnow()
        rows = [
            _score_row(ctx, uuid.UUID(target_id), outcome, outcome.context.get("environment"), now)
            for outcome in outcomes
            if outcome.store
        ]
        await scores_repo.upsert_trace_scores(db, rows)


def _score_row(
    ctx: RunContext, trace_id: uuid.UUID, outcome: PairOutcome, environment: str | None, now: Any
) -> dict[str, Any]:
    """A score, a FAILED row (null value, coded reason), or a not-applicable one: SUCCESS
    with a null value, reason ``not_applicable: ...`` and ``metadata.not_applicable``."""
    usage = outcome.usage
    metadata = dict(outcome.metadata)
    if not outcome.failed or usage.requests or usage.cached:
        metadata["judge"] = {"model": ctx.model, **usage.as_metadata()}
    return {
        "id": uuid.uuid4(),
        "project_id": ctx.project_id,
        "trace_id": trace_id,
        "eval_run_id": ctx.run_id,
        "name": outcome.metric,
        "data_type": ScoreDataType.NUMERIC,
        "value": None if outcome.score is None else str(round(outcome.score, 4)),
        "source": ScoreSource.AUTOMATED,
        "status": ScoreStatus.FAILED if outcome.failed else ScoreStatus.SUCCESS,
        "reason": _scrub(outcome.reason),
        "metadata": _scrub(metadata),
        "model": ctx.model,
        "judge_calls": usage.requests,
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "cost_usd": usage.cost_usd,
        "environment": environment,
        "created_at": now,
        "updated_at": now,
    }


def _scrub(value: Any) -> Any:
    """Judge answers are free text; PostgreSQL refuses NUL characters in text and JSON."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_scrub(k): _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value

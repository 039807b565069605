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
from sightline.engine.metrics import TraceEvaluation
from sightline.engine.metrics.custom import CheckMetric, data_type_of
from sightline.engine.targets import (
    PairOutcome,
    RunContext,
    TargetMissing,
)
from sightline.engine.trace.rows import rows_view
from sightline.engine.views import SpanView, TraceView
from sightline.evals.scores import repository as scores_repo
from sightline.kit.statuses import ScoreSource, ScoreStatus
from sightline.traces import repository as traces_repo

logger = logging.getLogger("sightline.engine")
# Score rows per upsert statement.
WRITE_CHUNK = 1000
PREFETCH_LIMIT = 5_000  # prefetched traces kept at most (a few claims' worth)
# A prefetched trace that was not found (deleted since the run was created).
MISSING: tuple[TraceView, str | None] = (TraceView(trace_id="", name=""), None)


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
        latency_ms=trace.latency_ms,
        total_cost=trace.total_cost,
        prompt_tokens=trace.prompt_tokens,
        completion_tokens=trace.completion_tokens,
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
    def __init__(self) -> None:
        # Traces loaded by prefetch() for their next evaluate(), by (run, trace).
        self._prefetched: dict[tuple[uuid.UUID, uuid.UUID], tuple[TraceView, str | None]] = {}

    async def prefetch(self, ctx: RunContext, target_ids: Sequence[str]) -> None:
        """Load the targets as plain rows (a judge-free run's bulk load)."""
        ids = [uuid.UUID(target) for target in target_ids]
        async with ctx.session_factory() as db:
            loaded = await traces_repo.load_trace_rows(db, ctx.project_id, ids)
        for trace_id, (trace, spans) in loaded.items():
            self._prefetched[(ctx.run_id, trace_id)] = (rows_view(trace, spans), trace.environment)
        for trace_id in ids:
            self._prefetched.setdefault((ctx.run_id, trace_id), MISSING)
        # Targets handed back unevaluated (a cancelled execution) leave their entry: the
        # oldest go, and a target without one is loaded by its evaluation.
        for stale in list(self._prefetched)[: max(0, len(self._prefetched) - PREFETCH_LIMIT)]:
            del self._prefetched[stale]

    async def evaluate(
        self, ctx: RunContext, target_id: str, metrics: Sequence[str]
    ) -> list[PairOutcome]:
        trace_id = uuid.UUID(target_id)
        found = self._prefetched.pop((ctx.run_id, trace_id), None)
        if found is None:
            async with ctx.session_factory() as db:
                loaded = await traces_repo.load_traces(db, ctx.project_id, [trace_id])
            if trace_id in loaded:
                trace, spans = loaded[trace_id]
                found = (to_trace_view(trace, spans), trace.environment)
        if found is None or found is MISSING:
            missing = TargetMissing(f"trace {target_id} no longer exists in the project")
            return [PairOutcome.failure(m, missing, store=False) for m in metrics]
        view, environment = found
        # Automated trace scores copy the trace's environment, as PandaProbe's do.
        context = {"environment": environment}
        evaluation = TraceEvaluation.from_settings(view, ctx.judge, ctx.settings.judge_settings)
        chosen = [ctx.metric(name) for name in metrics]
        judged = [metric for metric in chosen if not isinstance(metric, CheckMetric)]
        results = await evaluate_metrics(evaluation, judged) if judged else {}
        for metric in chosen:
            if isinstance(metric, CheckMetric):  # no judge: computed here, no task of its own
                results[metric.name] = metric.check_trace(view)
        outcomes = []
        for name, metric in zip(metrics, chosen, strict=True):
            result = results[name]
            # The model the score records: the run's, a custom judge's own, None for a check.
            scored = {**context, "model": ctx.scoring_model(metric)}
            if isinstance(result, Exception):
                if not isinstance(result, EngineError):
                    logger.error("metric %s failed on trace %s", name, target_id, exc_info=result)
                failure = PairOutcome.failure(name, result)
                # What the metric spent before failing, when the error carries it.
                spent = getattr(result, "usage", None)
                usage = spent if isinstance(spent, Usage) else failure.usage
                outcomes.append(
                    dataclasses.replace(
                        failure, context=scored, usage=usage, data_type=data_type_of(metric)
                    )
                )
            else:
                outcomes.append(
                    PairOutcome(
                        name, result.score, result.reason, result.metadata, result.usage,
                        context=scored, not_applicable=result.not_applicable,
                        data_type=result.data_type, label=result.label,
                    )
                )  # fmt: skip
        return outcomes

    async def write(
        self, db: AsyncSession, ctx: RunContext, target_id: str, outcomes: list[PairOutcome]
    ) -> None:
        await self.write_many(db, ctx, [(target_id, outcomes)])

    async def write_many(
        self, db: AsyncSession, ctx: RunContext, results: Sequence[tuple[str, list[PairOutcome]]]
    ) -> None:
        now = utcnow()
        rows = [
            _score_row(ctx, uuid.UUID(target_id), outcome, outcome.context.get("environment"), now)
            for target_id, outcomes in results
            for outcome in outcomes
            if outcome.store
        ]
        for start in range(0, len(rows), WRITE_CHUNK):
            await scores_repo.upsert_trace_scores(db, rows[start : start + WRITE_CHUNK])


def _score_row(
    ctx: RunContext, trace_id: uuid.UUID, outcome: PairOutcome, environment: str | None, now: Any
) -> dict[str, Any]:
    """A score, a FAILED row (null value, coded reason), or a not-applicable one: SUCCESS
    with a null value, reason ``not_applicable: ...`` and ``metadata.not_applicable``."""
    usage = outcome.usage
    metadata = dict(outcome.metadata)
    model = outcome.context.get("model", ctx.model)
    if model is not None and (not outcome.failed or usage.requests or usage.cached):
        metadata["judge"] = {"model": model, **usage.as_metadata()}
    return {
        "id": uuid.uuid4(),
        "project_id": ctx.project_id,
        "trace_id": trace_id,
        "eval_run_id": ctx.run_id,
        "name": outcome.metric,
        "data_type": outcome.data_type,
        "value": outcome.value,
        "source": ScoreSource.AUTOMATED,
        "status": ScoreStatus.FAILED if outcome.failed else ScoreStatus.SUCCESS,
        "reason": _scrub(outcome.reason),
        "metadata": _scrub(metadata),
        "model": model,
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

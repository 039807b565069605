"""SESSION targets for the executor: per-trace signals, then the session metrics' maths.

For each trace of the session (in order) the four signals are taken from an earlier score
when one may be reused — AUTOMATED, SUCCESS, NUMERIC, same judge model (API.md §6 item 13),
a number or a not-applicable finding — and computed otherwise, all traces and signals at
once through the run's judge (so the engine's limiter, cache, budget and accounting apply).
loop_detection sees the session's earlier traces. Computed signals are written as trace
scores of the session run, so their cost is the run's cost; the session score rows carry no
cost of their own.

A signal is evidence (a number the maths uses), no evidence (not applicable, or an older
score marked with a ``note``: stored, not counted, never recomputed because of it), or
failed (a judge error: counted against the session's evidence, see ``aggregation``).

A project's deterministic custom metrics (issue 15) score a session too, from its traces
as one whole and without any signal (``CheckMetric.on_session``); a run of those alone
computes no signal at all.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from sightline.db.models import Trace
from sightline.db.types import utcnow
from sightline.engine import evaluate_metrics
from sightline.engine.errors import EngineError
from sightline.engine.judge.types import Usage
from sightline.engine.metrics import MetricResult, TraceEvaluation, get_metric
from sightline.engine.session.aggregation import (
    SESSION_METRICS,
    SIGNALS,
    Failures,
    NothingToEvaluate,
    merge_weights,
)
from sightline.engine.session.checks import check_outcome
from sightline.engine.targets import (
    PairOutcome,
    RunContext,
    TargetMissing,
    describe_failure,
)
from sightline.engine.trace.evaluator import to_trace_view
from sightline.engine.views import TraceView
from sightline.evals.scores import repository as scores_repo
from sightline.evals.sessions import repository as repo
from sightline.kit.statuses import ScoreDataType, ScoreSource, ScoreStatus

logger = logging.getLogger("sightline.engine")

MAX_LISTED_FAILURES = 50


class SessionTargetEvaluator:
    def __init__(self) -> None:
        # Signal score rows computed by evaluate(), written by write() in the same job.
        self._pending: dict[tuple[uuid.UUID, str], list[dict[str, Any]]] = {}

    async def evaluate(
        self, ctx: RunContext, target_id: str, metrics: Sequence[str]
    ) -> list[PairOutcome]:
        checks = [m for m in metrics if m in ctx.custom_metrics]
        builtins = [m for m in metrics if m not in ctx.custom_metrics]
        async with ctx.session_factory() as db:
            traces, spans = await repo.list_session_traces(db, ctx.project_id, target_id)
            reusable = (
                await scores_repo.list_reusable_signals(
                    db, ctx.project_id, [t.trace_id for t in traces], SIGNALS, ctx.model
                )
                if builtins
                else {}
            )
        if not traces:
            missing = TargetMissing(f"session {target_id} has no traces in the project")
            return [PairOutcome.failure(m, missing) for m in metrics]

        views = [to_trace_view(t, spans[t.trace_id]) for t in traces]
        checked = [check_outcome(ctx, name, views) for name in checks]
        if not builtins:
            return checked
        return await self._signals(ctx, target_id, builtins, traces, views, reusable) + checked

    async def _signals(
        self,
        ctx: RunContext,
        target_id: str,
        metrics: Sequence[str],
        traces: Sequence[Trace],
        views: list[TraceView],
        reusable: dict[tuple[uuid.UUID, str], Any],
    ) -> list[PairOutcome]:
        tally = _Tally({view.trace_id: {} for view in views})
        wanted: list[list[str]] = []
        for trace in traces:
            missing_signals = []
            for name in SIGNALS:
                score = reusable.get((trace.trace_id, name))
                if score is None or not _reusable(name, score):
                    missing_signals.append(name)
                else:
                    tally.reused += 1
                    tally.add(str(trace.trace_id), name, _value(score), score.metadata_ or {})
            wanted.append(missing_signals)

        computed = await asyncio.gather(
            *(
                _compute(ctx, view, views[:index], names)
                for index, (view, names) in enumerate(zip(views, wanted, strict=True))
            )
        )
        rows: list[dict[str, Any]] = []
        now = utcnow()
        for trace, results in zip(traces, computed, strict=True):
            for name, result in results.items():
                row = _signal_row(ctx, trace, name, result, now)
                rows.append(row)
                if isinstance(result, MetricResult):
                    tally.computed += 1
                    tally.usage += result.usage
                    tally.add(str(trace.trace_id), name, result.score, result.metadata)
                else:
                    tally.failures.append(
                        {"trace_id": str(trace.trace_id), "signal": name, "reason": row["reason"]}
                    )
        self._pending[(ctx.run_id, target_id)] = rows
        summary = tally.summary(ctx.model)
        weights = merge_weights(ctx.filters.get("signal_weights"))
        return [
            _session_outcome(m, tally.signals, tally.failed(), weights, len(views), summary)
            for m in metrics
        ]

    async def write(
        self, db: AsyncSession, ctx: RunContext, target_id: str, outcomes: list[PairOutcome]
    ) -> None:
        signals = self._pending.pop((ctx.run_id, target_id), [])
        if signals:
            await scores_repo.upsert_trace_scores(db, signals)
        now = utcnow()
        await scores_repo.upsert_session_scores(
            db, [_session_row(ctx, target_id, o, now) for o in outcomes if o.store]
        )


@dataclass
class _Tally:
    """The signals that count as evidence, and what happened to every signal."""

    signals: dict[str, dict[str, float]]
    reused: int = 0
    computed: int = 0
    no_evidence: int = 0
    failures: list[dict[str, str]] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)

    def add(self, trace_id: str, name: str, value: float | None, metadata: dict[str, Any]) -> None:
        # A signal that had nothing to look at (not applicable: a null value; or, in scores
        # stored before not-applicable existed, a 1.0 with a metadata "note") is stored but
        # is not evidence, so a session with no real evidence fails instead of scoring 1.0.
        if value is None or metadata.get("note"):
            self.no_evidence += 1
        else:
            self.signals[trace_id][name] = value

    def failed(self) -> Failures:
        by_trace: dict[str, list[str]] = {}
        for failure in self.failures:
            by_trace.setdefault(failure["trace_id"], []).append(failure["signal"])
        return by_trace

    def summary(self, model: str) -> dict[str, Any]:
        return {
            "signals": {
                "reused": self.reused,
                "computed": self.computed,
                "failed": len(self.failures),
                "no_evidence": self.no_evidence,
            },
            "signal_failures": self.failures[:MAX_LISTED_FAILURES],
            "signal_usage": {"model": model, **self.usage.as_metadata()},
        }


def _reusable(name: str, score: Any) -> bool:
    """A number in [0, 1], or a not-applicable finding (null value, metadata.not_applicable:
    reusing it means a trace without tools is not re-examined on every run), computed by
    the metric's current version (an older one, e.g. loop_detection before it looked at
    repeated tool calls, is computed again)."""
    metadata = score.metadata_ or {}
    if metadata.get("metric_version", 1) != get_metric(name).version:
        return False
    if score.value is None:
        return bool(metadata.get("not_applicable"))
    return _value(score) is not None


def _value(score: Any) -> float | None:
    if score.value is None:
        return None
    try:
        value = float(score.value)
    except (TypeError, ValueError):
        return None  # not a number after all: compute the signal instead of crashing
    return value if 0.0 <= value <= 1.0 else None


async def _compute(
    ctx: RunContext, view: TraceView, earlier: list[TraceView], names: list[str]
) -> dict[str, MetricResult | Exception]:
    if not names:
        return {}
    evaluation = TraceEvaluation.from_settings(
        view, ctx.judge, ctx.settings.judge_settings, session_traces=earlier
    )
    results = await evaluate_metrics(evaluation, [get_metric(name) for name in names])
    for name, result in results.items():
        if isinstance(result, Exception) and not isinstance(result, EngineError):
            logger.error("signal %s failed on trace %s", name, view.trace_id, exc_info=result)
    return results


def _session_outcome(
    metric: str,
    signals: dict[str, dict[str, float]],
    failures: Failures,
    weights: dict[str, float],
    total_traces: int,
    summary: dict[str, Any],
) -> PairOutcome:
    try:
        outcome = SESSION_METRICS[metric](signals, weights, total_traces, failures)
    except NothingToEvaluate as nothing:  # no_signals, or insufficient_evidence
        metadata = {"error": nothing.code, "signal_weights": weights, **nothing.metadata}
        return PairOutcome(metric, None, f"{nothing.code}: {nothing}", {**metadata, **summary})
    return PairOutcome(metric, outcome.score, outcome.reason, {**outcome.metadata, **summary})


def _signal_row(
    ctx: RunContext,
    trace: Trace,
    name: str,
    result: MetricResult | Exception,
    now: Any,
) -> dict[str, Any]:
    if isinstance(result, MetricResult):
        # Not applicable: SUCCESS with a null value (its metadata says not_applicable).
        value = None if result.score is None else str(round(result.score, 4))
        status, reason = ScoreStatus.SUCCESS, result.reason
        metadata = dict(result.metadata)
        usage = result.usage
    else:
        code, described = describe_failure(result)
        value, status, reason = None, ScoreStatus.FAILED, described
        # The reason starts with the failure code, so the run's error message gets its hint.
        metadata = {"error": code, "signal_failed": True}
        # What the signal spent before failing, when the error carries it (as for trace runs).
        spent = getattr(result, "usage", None)
        usage = spent if isinstance(spent, Usage) else Usage()
    metadata["session_run_signal"] = True
    metadata["judge"] = {"model": ctx.model, **usage.as_metadata()}
    return {
        "id": uuid.uuid4(),
        "project_id": ctx.project_id,
        "trace_id": trace.trace_id,
        "eval_run_id": ctx.run_id,
        "name": name,
        "data_type": ScoreDataType.NUMERIC,
        "value": value,
        "source": ScoreSource.AUTOMATED,
        "status": status,
        "reason": reason,
        "metadata": metadata,
        "model": ctx.model,
        "judge_calls": usage.requests,
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "cost_usd": usage.cost_usd,
        "environment": trace.environment,
        "created_at": now,
        "updated_at": now,
    }


def _session_row(
    ctx: RunContext, session_id: str, outcome: PairOutcome, now: Any
) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "project_id": ctx.project_id,
        "session_id": session_id,
        "eval_run_id": ctx.run_id,
        "name": outcome.metric,
        "data_type": outcome.data_type,
        "value": outcome.value,
        "source": ScoreSource.AUTOMATED,
        "status": ScoreStatus.FAILED if outcome.failed else ScoreStatus.SUCCESS,
        "reason": outcome.reason,
        "metadata": dict(outcome.metadata),
        "model": outcome.context.get("model", ctx.model),
        "judge_calls": 0,  # the signal trace scores carry the cost
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "cost_usd": 0.0,
        "created_at": now,
        "updated_at": now,
    }

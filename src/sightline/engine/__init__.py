"""Sightline's evaluation engine. It imports nothing from FastAPI routes or the web layer.

Two halves:

- **Pure** (no database, no web): ``views`` (``TraceView`` / ``SpanView``, frozen
  dataclasses built from rows; span order does not matter, the tree comes from
  parent_span_id), ``render`` (a package: ``slots`` the priority budget and the marked
  cut, ``document`` and ``fit`` the shape of a prompt part and fitting it into the budget,
  ``trace`` a trace, ``calls`` the tool-call listing), ``metrics``
  (the Metric interface, an explicit registry, one module per metric), ``judge`` (the
  ``JudgeClient`` interface, its LiteLLM implementation, the retry taxonomy, in-memory
  caches, model names and prices in ``judge.catalog``), ``limits`` (concurrency and rate
  limits), ``budget`` and ``errors``.
- **Execution** (reads and writes rows through repositories and ``db``): ``executor``
  (claim work → evaluate → upsert scores; it builds the table of target evaluators itself,
  ``executor.target_evaluators()``), ``run_execution`` (one run's lanes, writer, leases),
  ``run_outcome``, ``targets`` (the ``TargetEvaluator`` interface), ``trace.evaluator`` and
  ``session.evaluator`` (the two target types), ``judge.db_cache`` (the durable judge cache,
  SQL in ``judge.repository``), ``queue`` (the ``JobQueue`` interface, in-process queue) and
  ``worker`` (executor + queue for one process).

What a worker process must load, and nothing more: ``sightline.config.Settings``,
``sightline.db.engine.create_engine``, ``sightline.db.session.make_session_factory`` and
``sightline.engine.worker.EvalWorker``. Through them come the repositories the engine reads
(``evals.runs``, ``evals.scores``, ``evals.sessions``, ``traces``) and every target type;
no route module, ``sightline.app``, ``sightline.serving`` or ``sightline.dependencies`` is
imported, and nothing needs to be imported for its side effects
(tests/engine/runs/test_worker_process.py runs a SESSION run that way).

Using the pure half
-------------------
Judge (``sightline.engine.judge``)
    ``warm_up()``: import LiteLLM now; the server calls it in a background thread at start-up
    (nothing in the engine imports LiteLLM at module import time).
    ``Limits.from_settings(settings)`` (``sightline.engine.limits``): ONE per process; the
    concurrency semaphore, per-model request/token buckets, Retry-After pauses and
    ``peak_in_flight``. Pass ``bucket=`` to plug in a shared (e.g. Redis) ``RateBucket``.
    ``LiteLLMJudge(settings, model=run.model, limits=limits, cache=..., embedding_cache=...,
    budget=Budget(max_cost_usd=...))``: one per run; implements ``JudgeClient``
    (``complete(JudgeRequest) -> JudgeResult``, ``embed(texts) -> EmbeddingResult``).
    ``JudgeCache`` / ``EmbeddingCache``: protocols for durable caches (in-memory versions
    provided); keys are ``judge_cache_key(model, messages, schema)``.
    ``Budget`` (``sightline.engine.budget``): checked before every request; raises
    ``BudgetExhausted`` once ``spent_usd >= max_cost_usd``.

Metrics (``sightline.engine.metrics``)
    ``listed_metrics()`` / ``all_metrics()`` / ``get_metric(name)`` / ``describe(m)`` /
    ``template(m)`` (name, description, category, default_threshold, prompt_preview).
    ``TraceEvaluation(trace, judge, token_budget=..., context_window_tokens=...,
    session_traces=...)`` or ``TraceEvaluation.from_settings(trace, judge, settings,
    session_traces=...)``: make ONE per trace and pass it to every metric of that trace, so
    the rendering and the shared extractions happen once. ``session_traces`` (the session's
    traces, any order; only loop_detection reads it) is None outside session runs.
    ``await metric.evaluate(evaluation) -> MetricResult(score, reason, metadata, usage)``,
    or ``await evaluate_metrics(evaluation, metrics)`` for all of a trace's metrics at once;
    only the latter splits a shared extraction's usage evenly between the metrics that
    awaited it (``metadata.shared_extractions``; failures' ``exc.usage`` too), otherwise the
    metric that started it pays for all of it.
    ``score`` is None when the metric does not apply (``result.not_applicable``: no tool
    calls, no plan; reason ``not_applicable: ...``, ``metadata.not_applicable``): store it
    as SUCCESS with a null value and leave it out of every mean. ``metrics.tools`` reads the
    tool calls of a trace and ``metrics.repetition`` finds repeated identical ones (both
    pure, no judge).

Custom metrics (``sightline.engine.metrics.custom``)
    A project's own metrics, stored as rows (``evals/metrics``): ``build(Definition(name,
    version, kind, description, config), judge=...)`` gives the ``Metric`` (a deterministic
    ``CheckMetric``, BOOLEAN, no judge call; or an llm_judge ``JudgeMetric``, whose requests
    carry the name and version into the judge-cache key). The executor builds a run's from
    the versions the run pinned (``RunContext.custom_metrics``).

Errors (``sightline.engine.errors``): see the tree there. Store a FAILED score for any
``EngineError``; ``ContextOverflow`` deserves its own status (never a score of 0);
``RetryableJudgeError`` means every attempt was used (the run can be retried later);
``BudgetExhausted`` means stop starting work for this run.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence

from sightline.engine.errors import EngineError
from sightline.engine.judge.types import Usage
from sightline.engine.metrics import Metric, MetricResult, TraceEvaluation
from sightline.engine.metrics.context import CURRENT_METRIC


async def evaluate_metrics(
    evaluation: TraceEvaluation, metrics: Sequence[Metric]
) -> dict[str, MetricResult | Exception]:
    """Run a trace's metrics concurrently (the judge's Limits bound the real concurrency);
    each metric's failure is returned in its place instead of cancelling the others. The
    cost of a shared extraction is then split between the metrics that used it."""

    async def one(metric: Metric) -> MetricResult:
        CURRENT_METRIC.set(metric.name)  # gather runs each in its own task and context
        return await metric.evaluate(evaluation)

    outcomes = await asyncio.gather(*(one(metric) for metric in metrics), return_exceptions=True)
    results: dict[str, MetricResult | Exception] = {}
    for metric, outcome in zip(metrics, outcomes, strict=True):
        if isinstance(outcome, BaseException) and not isinstance(outcome, Exception):
            raise outcome  # cancellation and interpreter exits are not metric failures
        results[metric.name] = outcome
    order = [metric.name for metric in metrics]
    for key, users in evaluation.take_shares(order).items():
        named = {user: results[user] for user in users if user in results}
        if len(named) < len(users) or not all(map(_settleable, named.values())):
            continue  # a user outside evaluate_metrics, or a failure with no usage: as charged
        for name, result in named.items():
            charged, share, fraction = users[name]
            results[name] = _settle(result, key, charged, share, fraction)
    return results


def _settleable(result: MetricResult | Exception) -> bool:
    return isinstance(result, MetricResult) or (
        isinstance(result, EngineError) and isinstance(result.usage, Usage)
    )


def _settle(
    result: MetricResult | Exception, key: str, charged: Usage, share: Usage, fraction: str
) -> MetricResult | Exception:
    """The result with ``charged`` of the shared extraction ``key`` swapped for ``share``."""
    if isinstance(result, MetricResult):
        shared = {**result.metadata.get("shared_extractions", {}), key: fraction}
        return dataclasses.replace(
            result,
            usage=result.usage - charged + share,
            metadata={**result.metadata, "shared_extractions": shared},
        )
    if isinstance(result, EngineError) and isinstance(result.usage, Usage):
        result.usage = result.usage - charged + share
    return result

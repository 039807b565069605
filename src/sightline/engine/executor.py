"""Run an evaluation run to completion: claim work → evaluate targets → upsert scores.

Everything lives in rows, so ``execute(run_id)`` can be called any number of times, by any
number of workers, before or after a crash:

- tasks are claimed with a conditional UPDATE and a lease (renewed while the work runs), so
  two workers never run the same (target, metric) pair; a dead worker's pairs become
  claimable at once when its death can be seen (engine/holder.py), else when its lease
  expires;
- all tasks of a target are claimed together, so the trace is loaded and rendered once and
  the metrics share their extractions;
- a target's scores, its tasks' final states and the judge-cache entries it produced are
  written in the same transaction (a small batch of targets per commit); counters are
  recomputed from rows;
- a run whose row disappears (deleted while running) is abandoned quietly.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from sightline.config import Settings
from sightline.db.models import EvalRun
from sightline.db.session import SessionFactory, transaction
from sightline.engine.budget import Budget
from sightline.engine.holder import LeaseHolder
from sightline.engine.judge import InMemoryEmbeddingCache, LiteLLMJudge, warm_up
from sightline.engine.judge.db_cache import DbJudgeCache
from sightline.engine.limits import Limits, build_rate_bucket
from sightline.engine.metrics.custom import Definition, Kind, build
from sightline.engine.run_execution import (
    WHOLE_RUN,
    ExecutionSettings,
    RunExecution,
    RunGone,
    Share,
)
from sightline.engine.run_outcome import final_status
from sightline.engine.session.evaluator import SessionTargetEvaluator
from sightline.engine.targets import RunContext, TargetEvaluator
from sightline.engine.trace.evaluator import TraceTargetEvaluator
from sightline.evals.metrics import repository as metrics_repo
from sightline.evals.runs import repository
from sightline.kit.statuses import UNFINISHED_RUN_STATUSES, RunStatus, TargetType

logger = logging.getLogger("sightline.engine")


def target_evaluators() -> dict[str, TargetEvaluator]:
    """The evaluator of each target type: the one table of what a run can evaluate."""
    return {
        TargetType.TRACE: TraceTargetEvaluator(),
        TargetType.SESSION: SessionTargetEvaluator(),
    }


class Executor:
    """One per process: owns the shared limiter, judge cache, embedding cache and the
    target evaluators."""

    def __init__(
        self, settings: Settings, session_factory: SessionFactory, limits: Limits | None = None
    ) -> None:
        self.settings = settings
        self.factory = session_factory
        self.limits = limits or Limits.from_settings(
            settings.judge_settings, build_rate_bucket(settings)
        )
        self.judge_cache = DbJudgeCache(session_factory)
        self.embedding_cache = InMemoryEmbeddingCache()
        self.evaluators = target_evaluators()
        self.holder = LeaseHolder(settings.data_dir)
        self.execution = ExecutionSettings(
            lease=timedelta(seconds=settings.eval_task_lease_seconds),
            judge_concurrency=settings.judge_settings.max_concurrency,
            holder=self.holder,
        )

    async def execute(self, run_id: uuid.UUID, share: Share = WHOLE_RUN) -> None:
        async with transaction(self.factory) as db:
            run = await repository.get_run_by_id(db, run_id)
            if run is None or run.status not in UNFINISHED_RUN_STATUSES:
                return
            await repository.mark_run_running(db, run_id)
            definitions = await custom_definitions(db, run)
        evaluator = self.evaluators.get(run.target_type)
        if evaluator is None:
            await self._fail_run(run_id, f"No evaluator for target type {run.target_type}.")
            return
        await asyncio.to_thread(warm_up)  # no-op once LiteLLM is imported
        if run.use_cache:
            await self.judge_cache.refresh()
        try:
            execution = RunExecution(
                self._context(run, definitions),
                evaluator,
                self.factory,
                self.judge_cache,
                self.execution,
                share,
            )
            await execution.work()
        except RunGone:
            logger.info("run %s was deleted while running; stopped", run_id)
            return
        await self.finalize(run_id)

    def _context(self, run: EvalRun, definitions: Sequence[Definition] = ()) -> RunContext:
        budget = Budget(run.max_cost_usd, spent_usd=run.cost_usd or 0.0)

        def judge_of(model: str | None) -> LiteLLMJudge:
            return LiteLLMJudge(
                self.settings.judge_settings,
                model=model,
                limits=self.limits,
                cache=self.judge_cache if run.use_cache else None,
                embedding_cache=self.embedding_cache,
                budget=budget,  # one budget: a custom judge's own model spends the run's
            )

        judge = judge_of(run.model)
        custom = {}
        for definition in definitions:
            own = definition.config.get("model") if definition.kind == Kind.LLM_JUDGE else None
            custom[definition.name] = build(definition, judge=judge_of(own) if own else None)
        return RunContext(
            run_id=run.id,
            project_id=run.project_id,
            target_type=run.target_type,
            metric_names=tuple(run.metric_names),
            filters=dict(run.filters or {}),
            model=judge.model,
            judge=judge,
            budget=budget,
            settings=self.settings,
            session_factory=self.factory,
            custom_metrics=custom,
        )

    async def finalize(self, run_id: uuid.UUID) -> None:
        async with transaction(self.factory) as db:
            if not await repository.run_exists(db, run_id):
                return
            counters = await repository.compute_counters(db, run_id)
            await repository.store_counters(db, run_id, counters)
            if counters.unfinished_pairs:
                return  # another worker still holds some pairs; it will finalize
            status, message = await final_status(db, run_id, counters)
            await repository.finish_run(db, run_id, status, message)

    async def _fail_run(self, run_id: uuid.UUID, message: str) -> None:
        async with transaction(self.factory) as db:
            await repository.finish_run(db, run_id, RunStatus.FAILED, message)


async def custom_definitions(db: AsyncSession, run: EvalRun) -> list[Definition]:
    """The custom metrics of the run at the versions pinned when it was created (deleted
    metrics included: a run finishes with what it started with)."""
    pins = dict(run.metric_versions or {})
    rows = await metrics_repo.versions(db, run.project_id, pins)
    return [
        Definition(row.name, row.version, row.kind, row.description, dict(row.config))
        for row in rows
    ]

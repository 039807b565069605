"""Session runs (API.md §3.7), with PandaProbe's flaws fixed: batch IDs must exist,
sampling is deterministic, and retry re-runs only the failed (session, metric) pairs."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from sightline.config import Settings
from sightline.db.models import EvalRun
from sightline.engine.queue import JobQueue
from sightline.engine.session.aggregation import SESSION_METRIC_DESCRIPTIONS, SESSION_METRICS
from sightline.errors import DomainValidationError
from sightline.evals.runs import service as runs
from sightline.evals.runs.providers import check_embedding_model, check_judge_model
from sightline.evals.runs.schemas import EvalRunResponse
from sightline.evals.sessions import repository as repo
from sightline.evals.sessions.schemas import (
    SessionBatchRunCreate,
    SessionMetricInfo,
    SessionRunCreate,
)
from sightline.kit.statuses import TargetType

SESSION = TargetType.SESSION
WEIGHTS_KEY = "signal_weights"


def list_session_metrics() -> list[SessionMetricInfo]:
    return [
        SessionMetricInfo(name=name, description=SESSION_METRIC_DESCRIPTIONS[name])
        for name in sorted(SESSION_METRICS)
    ]


def check_session_metrics(metrics: Sequence[str]) -> list[str]:
    return runs.check_metric_names(metrics, SESSION_METRICS, kind="session metrics")


def _check_size(count: int, settings: Settings) -> None:
    if count > settings.max_run_targets:
        raise DomainValidationError(
            f"A run can cover at most {settings.max_run_targets} sessions; got {count}. "
            "Narrow the selection or lower sampling_rate."
        )


def _check_models(settings: Settings, model: str | None) -> str:
    """The resolved judge model; the signals need the judge and the embedding model."""
    resolved = check_judge_model(settings, model)
    check_embedding_model(settings)
    return resolved


def _with_weights(filters: dict[str, Any], weights: dict[str, float] | None) -> dict[str, Any]:
    return {**filters, WEIGHTS_KEY: dict(weights)} if weights else filters


async def create_session_run(
    db: AsyncSession,
    project_id: uuid.UUID,
    body: SessionRunCreate,
    settings: Settings,
    queue: JobQueue,
) -> EvalRun:
    metrics = check_session_metrics(body.metrics)
    model = _check_models(settings, body.model)
    filters = body.filters.stored() if body.filters else {}
    matched = await repo.list_session_ids(db, project_id, filters)
    if not matched:
        raise DomainValidationError("No sessions match the provided filters.")
    salt = runs.default_salt(project_id)
    session_ids = [sid for sid in matched if runs.in_sample(salt, sid, body.sampling_rate)]
    if not session_ids:
        raise DomainValidationError(
            f"No sessions were sampled: {len(matched)} match the filters, none fell in "
            f"the sampling_rate {body.sampling_rate}. Raise sampling_rate."
        )
    _check_size(len(session_ids), settings)
    return await runs.create_run_with_targets(
        db, project_id,
        queue=queue, target_type=SESSION, target_ids=session_ids, metric_names=metrics,
        filters=_with_weights(filters, body.signal_weights), model=model,
        sampling_rate=body.sampling_rate, sample_salt=salt, name=body.name,
        max_cost_usd=body.max_cost_usd, use_cache=body.use_cache,
    )  # fmt: skip


async def create_session_batch_run(
    db: AsyncSession,
    project_id: uuid.UUID,
    body: SessionBatchRunCreate,
    settings: Settings,
    queue: JobQueue,
) -> EvalRun:
    metrics = check_session_metrics(body.metrics)
    model = _check_models(settings, body.model)
    session_ids = list(dict.fromkeys(body.session_ids))
    _check_size(len(session_ids), settings)
    found = await repo.list_existing_session_ids(db, project_id, session_ids)
    missing = [sid for sid in session_ids if sid not in found]
    if missing:
        more = f" (and {len(missing) - 20} more)" if len(missing) > 20 else ""
        raise DomainValidationError(
            f"Sessions not found in this project: {', '.join(missing[:20])}{more}"
        )
    return await runs.create_run_with_targets(
        db, project_id,
        queue=queue, target_type=SESSION, target_ids=session_ids, metric_names=metrics,
        filters=_with_weights({"session_ids": session_ids}, body.signal_weights), model=model,
        name=body.name, max_cost_usd=body.max_cost_usd, use_cache=body.use_cache,
    )  # fmt: skip


async def get_session_run(
    db: AsyncSession, project_id: uuid.UUID, run_id: uuid.UUID
) -> EvalRunResponse:
    """Only SESSION runs: a trace run's ID is a 404 here (PandaProbe returned it)."""
    return await runs.get_run_detail(db, project_id, run_id, SESSION)


async def list_session_runs(
    db: AsyncSession, project_id: uuid.UUID, status: str | None, limit: int, offset: int
) -> tuple[list[EvalRun], int]:
    found, total = await runs.list_runs(db, project_id, SESSION, status, limit, offset)
    return list(found), total


async def delete_session_run(
    db: AsyncSession, project_id: uuid.UUID, run_id: uuid.UUID, delete_scores: bool
) -> None:
    """With delete_scores, the run's session scores and its signal trace scores go too."""
    await runs.delete_run(db, project_id, run_id, SESSION, delete_scores=delete_scores)


async def retry_session_run(
    db: AsyncSession,
    project_id: uuid.UUID,
    run_id: uuid.UUID,
    settings: Settings,
    queue: JobQueue,
) -> EvalRun:
    """A new run over exactly the failed (session, metric) pairs, not PandaProbe's product
    of sessions × metrics; signal_weights carry over. Failed signals are recomputed there,
    successful ones reused."""
    return await runs.retry_run(db, project_id, run_id, SESSION, settings=settings, queue=queue)

"""Session runs (API.md §3.7), with PandaProbe's flaws fixed: batch IDs must exist,
sampling is deterministic, and retry re-runs only the failed (session, metric) pairs.

Besides the session metrics, a session run takes the project's deterministic custom metrics
(regex, json_schema, contains, threshold, tool_called: they read the session's traces as one
whole); an llm_judge metric judges one trace, so a session run refuses it. Without a session
metric, the run needs neither the judge nor the embedding model."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from sightline.config import Settings
from sightline.db.models import CustomMetric, EvalRun
from sightline.engine.judge.catalog import resolve_model
from sightline.engine.metrics.custom import DETERMINISTIC_KINDS
from sightline.engine.queue import JobQueue
from sightline.engine.session.aggregation import SESSION_METRIC_DESCRIPTIONS, SESSION_METRICS
from sightline.errors import DomainValidationError
from sightline.evals.metrics import service as custom_metrics
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


def session_checks(metrics: Sequence[str], custom: Mapping[str, CustomMetric]) -> set[str]:
    """The custom metrics a session run may take (the deterministic ones); a 422 for an
    llm_judge one among ``metrics``."""
    checks = {n for n, row in custom.items() if row.kind in DETERMINISTIC_KINDS}
    judged = [m for m in metrics if m in custom and m not in checks]
    if judged:
        raise DomainValidationError(
            f"{', '.join(sorted(set(judged)))}: an llm_judge metric judges one trace; a "
            "session run takes the session metrics and the deterministic custom metrics "
            "(regex, json_schema, contains, threshold, tool_called)."
        )
    return checks


def check_session_metrics(
    metrics: Sequence[str], custom: Mapping[str, CustomMetric] | None = None
) -> list[str]:
    checks = session_checks(metrics, custom or {})
    return runs.check_metric_names(metrics, [*SESSION_METRICS, *checks], kind="session metrics")


def _check_size(count: int, settings: Settings) -> None:
    if count > settings.max_run_targets:
        raise DomainValidationError(
            f"A run can cover at most {settings.max_run_targets} sessions; got {count}. "
            "Narrow the selection or lower sampling_rate."
        )


def _check_models(settings: Settings, model: str | None, metrics: Sequence[str]) -> str:
    """The resolved judge model; the signals need the judge and the embedding model (custom
    checks need neither)."""
    if not any(m in SESSION_METRICS for m in metrics):
        return resolve_model(model or settings.judge_settings.model)
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
    custom = await custom_metrics.live_metrics(db, project_id)
    metrics = check_session_metrics(body.metrics, custom)
    model = _check_models(settings, body.model, metrics)
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
        metric_versions=runs.pinned_versions(metrics, custom),
    )  # fmt: skip


async def create_session_batch_run(
    db: AsyncSession,
    project_id: uuid.UUID,
    body: SessionBatchRunCreate,
    settings: Settings,
    queue: JobQueue,
) -> EvalRun:
    custom = await custom_metrics.live_metrics(db, project_id)
    metrics = check_session_metrics(body.metrics, custom)
    model = _check_models(settings, body.model, metrics)
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
        metric_versions=runs.pinned_versions(metrics, custom),
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

"""Eval runs: validation at creation, deterministic sampling, durable tasks, retry, delete.

Public API for other domains (monitors, session runs):

- ``create_trace_run(session, project_id, settings=..., queue=..., metrics=..., trace_ids=...
  | filters=..., ...)`` validates everything and returns the PENDING run; the run is enqueued
  when the caller's transaction commits.
- ``create_run_with_targets(...)``: the generic insert (any target type, already validated
  targets), used by session runs.
- ``validate_metrics``, ``check_metric_names``, ``unknown_metrics`` (the one 422 for
  unknown metric names, with the closest valid name), ``in_sample``, ``check_judge_model``
  and ``check_run_models`` (the judge and embedding models a list of built-in and custom
  metrics needs; both ``evals.runs.providers``).

A run names the project's custom metrics like built-ins; their current versions are pinned
in ``eval_run.metric_versions`` when the run is created, so a run (and its retry) always
evaluates the definition it was created with.
"""

from __future__ import annotations

import difflib
import hashlib
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from sightline.config import Settings
from sightline.db.models import CustomMetric, EvalRun
from sightline.engine.judge.catalog import resolve_model
from sightline.engine.metrics import listed_metrics
from sightline.engine.queue import JobQueue, enqueue_after_commit
from sightline.errors import DomainValidationError, NotFound
from sightline.evals.metrics import service as custom_metrics
from sightline.evals.runs import repository
from sightline.evals.runs.providers import check_run_models
from sightline.evals.runs.schemas import EvalRunFilters, EvalRunResponse
from sightline.kit.statuses import RunStatus, TargetType
from sightline.traces import repository as traces_repo

TRACE = TargetType.TRACE
NO_FAILURES = "No failed scores to retry in this run."


def run_not_found(run_id: uuid.UUID) -> NotFound:
    return NotFound(f"Eval run {run_id} not found.")


def unknown_metrics(
    unknown: Sequence[str],
    valid: Iterable[str],
    *,
    kind: str = "metrics",
    heading: str | None = None,
) -> DomainValidationError:
    """The 422 for metric names that trace runs, session runs, the run template and monitors
    do not know: each name with its closest valid one when it looks like a typo, then every
    valid name, so the caller can fix the request without another look-up. ``heading`` keeps
    each endpoint's established first words ("Unknown metrics", "Unknown session metrics",
    "Unknown metric"), which clients may match on."""
    choices = sorted(set(valid))
    named = []
    for name in unknown:
        # Valid names are lower snake case; lowering catches "Task_Completion" too.
        close = difflib.get_close_matches(name.lower(), choices, n=1)
        named.append(f"{name} (did you mean {close[0]}?)" if close else name)
    return DomainValidationError(
        f"{heading or f'Unknown {kind}'}: {', '.join(named)}. Valid {kind}: {', '.join(choices)}."
    )


def check_metric_names(
    requested: Iterable[str], valid: Iterable[str], *, kind: str = "metrics"
) -> list[str]:
    """``requested`` deduplicated in order; unknown names → one 422 naming all of them."""
    names = list(dict.fromkeys(requested))
    known = set(valid)
    unknown = [name for name in names if name not in known]
    if unknown:
        raise unknown_metrics(unknown, known, kind=kind)
    return names


def validate_metrics(requested: Iterable[str], allowed: Iterable[str]) -> list[str]:
    """Deduplicated in order; unknown names → 422 naming all of them; none → 422."""
    names = check_metric_names(requested, allowed)
    if not names:
        raise DomainValidationError("At least one metric is required.")
    return names


def in_sample(salt: str, target_id: str, rate: float) -> bool:
    """Deterministic: the same (salt, target) is always in or out, whoever asks and when."""
    if rate >= 1.0:
        return True
    digest = hashlib.sha256(f"{salt}{target_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < rate


def default_salt(project_id: uuid.UUID) -> str:
    # Per project, so re-runs and runs of other metrics over the same filter see one subset.
    return str(project_id)


def resolve_default_model(settings: Settings) -> str:
    return resolve_model(settings.judge_settings.model)


def pinned_versions(names: Iterable[str], custom: Mapping[str, CustomMetric]) -> dict[str, int]:
    return {name: custom[name].version for name in names if name in custom}


def _check_run_size(settings: Settings, count: int, what: str) -> None:
    if count > settings.max_run_targets:
        raise DomainValidationError(
            f"A run can cover at most {settings.max_run_targets} {what}; got {count}. "
            "Narrow the selection or lower sampling_rate."
        )


async def create_trace_run(
    db: AsyncSession,
    project_id: uuid.UUID,
    *,
    settings: Settings,
    queue: JobQueue,
    metrics: Sequence[str],
    trace_ids: Sequence[uuid.UUID] | None = None,
    filters: Mapping[str, Any] | None = None,
    sampling_rate: float = 1.0,
    sample_salt: str | None = None,
    model: str | None = None,
    name: str | None = None,
    monitor_id: uuid.UUID | None = None,
    max_cost_usd: float | None = None,
    use_cache: bool = True,
) -> EvalRun:
    """A TRACE run over explicit ``trace_ids`` (batch) or the traces ``filters`` select.
    Validates like the HTTP API does, so monitors get the same 422s."""
    if not 0.0 < sampling_rate <= 1.0:
        raise DomainValidationError("sampling_rate must be greater than 0 and at most 1.")
    custom = await custom_metrics.live_metrics(db, project_id)
    names = validate_metrics(metrics, [*(m.name for m in listed_metrics()), *custom])
    resolved_model = check_run_models(settings, model, names, custom)
    salt = default_salt(project_id) if sample_salt is None else sample_salt
    if trace_ids is not None:
        targets = list(dict.fromkeys(trace_ids))
        _check_run_size(settings, len(targets), "traces")
        found = await traces_repo.existing_trace_ids(db, project_id, targets)
        missing = [str(t) for t in targets if t not in found]
        if missing:
            more = f" (and {len(missing) - 20} more)" if len(missing) > 20 else ""
            shown = ", ".join(missing[:20]) + more
            raise DomainValidationError(f"Traces not found in this project: {shown}")
        stored_filters: dict[str, Any] = {"trace_ids": [str(t) for t in targets]}
        sampling_rate = 1.0
    else:
        stored_filters = EvalRunFilters.model_validate(dict(filters or {})).stored()
        matched = await traces_repo.match_trace_ids(db, project_id, stored_filters)
        if not matched:
            raise DomainValidationError("No traces match the provided filters.")
        targets = [t for t in matched if in_sample(salt, str(t), sampling_rate)]
        if not targets:
            raise DomainValidationError(
                f"No traces were sampled: {len(matched)} match the filters, none fell in "
                f"the sampling_rate {sampling_rate}. Raise sampling_rate."
            )
        _check_run_size(settings, len(targets), "traces")
    return await create_run_with_targets(
        db,
        project_id,
        queue=queue,
        target_type=TRACE,
        target_ids=[str(t) for t in targets],
        metric_names=names,
        metric_versions=pinned_versions(names, custom),
        filters=stored_filters,
        sampling_rate=sampling_rate,
        sample_salt=salt,
        model=resolved_model,
        name=name,
        monitor_id=monitor_id,
        max_cost_usd=max_cost_usd,
        use_cache=use_cache,
    )


async def create_run_with_targets(
    db: AsyncSession,
    project_id: uuid.UUID,
    *,
    queue: JobQueue,
    target_type: str,
    target_ids: Sequence[str],
    metric_names: Sequence[str],
    filters: Mapping[str, Any],
    model: str,
    sampling_rate: float = 1.0,
    sample_salt: str = "",
    name: str | None = None,
    monitor_id: uuid.UUID | None = None,
    max_cost_usd: float | None = None,
    use_cache: bool = True,
    pairs: Sequence[tuple[str, str]] | None = None,
    metric_versions: Mapping[str, int] | None = None,
) -> EvalRun:
    """Insert a PENDING run and one task per (target, metric) — or exactly ``pairs`` — and
    enqueue it after the caller's commit. Targets and metrics must already be validated;
    ``metric_versions`` pins the version of each custom metric among them."""
    run = EvalRun(
        id=uuid.uuid4(),
        project_id=project_id,
        name=name,
        target_type=target_type,
        metric_names=list(metric_names),
        metric_versions=dict(metric_versions) if metric_versions else None,
        filters=dict(filters),
        sampling_rate=sampling_rate,
        sample_salt=sample_salt,
        model=model,
        monitor_id=monitor_id,
        status=RunStatus.PENDING,
        use_cache=use_cache,
        max_cost_usd=max_cost_usd,
        total_targets=len(dict.fromkeys(target_ids)),
        evaluated_count=0,
        failed_count=0,
        judge_calls=0,
        prompt_tokens=0,
        completion_tokens=0,
        cost_usd=0.0,
    )
    await repository.add_run(db, run)
    if pairs is None:
        pairs = [(target, metric) for target in target_ids for metric in metric_names]
    await repository.add_tasks(db, run.id, project_id, pairs)
    enqueue_after_commit(db, queue, run.id)
    return run


async def get_run(
    db: AsyncSession, project_id: uuid.UUID, run_id: uuid.UUID, target_type: str | None
) -> EvalRun:
    """The project's run of that target type (None: of either, as the dashboard asks)."""
    run = await repository.get_run(db, project_id, run_id, target_type)
    if run is None:
        raise run_not_found(run_id)
    return run


async def get_run_detail(
    db: AsyncSession, project_id: uuid.UUID, run_id: uuid.UUID, target_type: str | None
) -> EvalRunResponse:
    """A run as its own GET answers it: with the workers that hold its tasks now."""
    run = await get_run(db, project_id, run_id, target_type)
    response = EvalRunResponse.model_validate(run)
    response.active_workers = await repository.count_active_holders(db, run_id)
    return response


async def list_runs(
    db: AsyncSession,
    project_id: uuid.UUID,
    target_type: str,
    status: str | None,
    limit: int,
    offset: int,
) -> tuple[Sequence[EvalRun], int]:
    return await repository.list_runs(db, project_id, target_type, status, limit, offset)


async def delete_run(
    db: AsyncSession,
    project_id: uuid.UUID,
    run_id: uuid.UUID,
    target_type: str,
    *,
    delete_scores: bool,
) -> None:
    """A running run's executor notices the missing row and stops without writing."""
    run = await get_run(db, project_id, run_id, target_type)
    await repository.delete_run(db, run.id, with_scores=delete_scores)


async def retry_run(
    db: AsyncSession,
    project_id: uuid.UUID,
    run_id: uuid.UUID,
    target_type: str,
    *,
    settings: Settings,
    queue: JobQueue,
) -> EvalRun:
    """A new run over exactly the original's FAILED (target, metric) pairs."""
    original = await get_run(db, project_id, run_id, target_type)
    pairs = await repository.failed_pairs(db, original.id)
    if target_type == TRACE and pairs:
        candidates = list(dict.fromkeys(uuid.UUID(t) for t, _ in pairs))
        existing = await traces_repo.existing_trace_ids(db, project_id, candidates)
        alive = {str(t) for t in existing}
        pairs = [(t, m) for t, m in pairs if t in alive]
    if not pairs:
        raise DomainValidationError(NO_FAILURES)
    metric_names = sorted({m for _, m in pairs})
    # The retry evaluates what the original did: the same versions of its custom metrics.
    pins = {n: v for n, v in (original.metric_versions or {}).items() if n in metric_names}
    pinned = await custom_metrics.pinned_metrics(db, project_id, pins)
    model = check_run_models(settings, original.model, metric_names, pinned, embeddings=False)
    targets = list(dict.fromkeys(t for t, _ in pairs))
    key = "trace_ids" if target_type == TRACE else "session_ids"
    filters: dict[str, Any] = {"retry_of": str(original.id), key: targets}
    for carried in ("signal_weights",):
        if carried in (original.filters or {}):
            filters[carried] = original.filters[carried]
    return await create_run_with_targets(
        db,
        project_id,
        queue=queue,
        target_type=target_type,
        target_ids=targets,
        metric_names=metric_names,
        metric_versions=pins,
        filters=filters,
        model=model,
        sample_salt=original.sample_salt,
        name=f"Retry: {original.name or original.id}"[:255],
        monitor_id=original.monitor_id,
        max_cost_usd=original.max_cost_usd,
        use_cache=original.use_cache,
        pairs=pairs,
    )

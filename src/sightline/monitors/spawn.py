"""Turning a monitor into a run: resolve its targets, skip what need not be judged again,
and store the run with exactly the (target, metric) pairs to evaluate.

Decision order: filters match nothing → skip; ``only_if_changed`` and no trace ingested since
the previous run → skip; deterministic sample; ``only_unscored`` drops pairs that already have
a SUCCESS score from the same judge model → skip if none are left. A skip is recorded on the
monitor (``last_skip_reason``) by the scheduler, never a failed run.

A custom metric of the monitor is resolved at each spawn: the run pins its current version,
and ``only_unscored`` counts only scores of that version (from the metric's judge model; a
deterministic check's from any), so editing a metric has its traces scored again. A custom
metric deleted since the monitor was made skips the spawn, naming it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from sightline.config import Settings
from sightline.db.models import CustomMetric, EvalMonitor, EvalRun
from sightline.engine.judge.catalog import resolve_model
from sightline.engine.metrics import listed_metrics
from sightline.engine.metrics.custom import Kind
from sightline.engine.queue import JobQueue
from sightline.engine.session.aggregation import SESSION_METRICS
from sightline.evals.metrics import service as custom_metrics
from sightline.evals.runs import service as evals
from sightline.evals.runs.providers import (
    check_embedding_model,
    check_judge_model,
    check_run_models,
)
from sightline.evals.sessions import repository as session_repo
from sightline.kit.statuses import TargetType
from sightline.monitors import repository as repo
from sightline.traces import repository as trace_repo

WEIGHTS_KEY = "signal_weights"
MAX_NAME = 255


@dataclass(frozen=True, slots=True)
class Skipped:
    reason: str


@dataclass(frozen=True, slots=True)
class SpawnContext:
    settings: Settings
    queue: JobQueue
    now: Callable[[], datetime]


def check_models(
    settings: Settings, monitor: EvalMonitor, custom: Mapping[str, CustomMetric] | None = None
) -> str:
    """The resolved judge model, or a 422 naming what to configure (at create, PATCH and
    every spawn: an unreachable judge must not produce runs that fail every pair)."""
    names = list(monitor.metric_names)
    custom = custom or {}
    if monitor.target_type == TargetType.TRACE:
        return check_run_models(settings, monitor.model, names, custom)
    if all(name in custom for name in names):  # custom checks only: no signal to compute
        return resolve_model(monitor.model or settings.judge_settings.model)
    model = check_judge_model(settings, monitor.model)
    check_embedding_model(settings)  # session signals include coherence
    return model


def _custom_wanted(
    monitor: EvalMonitor, custom: Mapping[str, CustomMetric], model: str
) -> dict[str, tuple[int, str | None]]:
    """Per custom metric: the version a score must have, and its model (None: any)."""
    wanted: dict[str, tuple[int, str | None]] = {}
    for name in monitor.metric_names:
        row = custom.get(name)
        if row is None:
            continue
        judged = row.kind == Kind.LLM_JUDGE
        own = row.config.get("model")
        wanted[name] = (row.version, (resolve_model(own) if own else model) if judged else None)
    return wanted


async def _targets(db: AsyncSession, monitor: EvalMonitor, filters: dict[str, object]) -> list[str]:
    if monitor.target_type == TargetType.TRACE:
        ids = await trace_repo.match_trace_ids(db, monitor.project_id, dict(filters))
        return [str(trace_id) for trace_id in ids]
    return await session_repo.list_session_ids(db, monitor.project_id, dict(filters))


async def _changed_since(
    db: AsyncSession, monitor: EvalMonitor, filters: dict[str, object], since: datetime
) -> bool:
    if monitor.target_type == TargetType.TRACE:
        return await repo.any_trace_ingested_since(db, monitor.project_id, dict(filters), since)
    changed = await session_repo.list_changed_session_ids(
        db, monitor.project_id, dict(filters), since
    )
    return bool(changed)


async def _unscored_pairs(
    db: AsyncSession,
    monitor: EvalMonitor,
    targets: Sequence[str],
    model: str,
    custom: Mapping[str, CustomMetric],
) -> list[tuple[str, str]]:
    metrics = list(monitor.metric_names)
    wanted = _custom_wanted(monitor, custom, model)
    builtins = [m for m in metrics if m not in wanted]
    if monitor.target_type == TargetType.TRACE:
        ids = [uuid.UUID(t) for t in targets]
        scored = await repo.list_scored_trace_pairs(db, monitor.project_id, ids, builtins, model)
        scored |= await repo.list_scored_custom_trace_pairs(db, monitor.project_id, ids, wanted)
        return [(t, m) for t in targets for m in metrics if (uuid.UUID(t), m) not in scored]
    # A session is judged again once it has grown since its last successful score.
    scored_at = await repo.list_session_scored_at(db, monitor.project_id, builtins, model)
    scored_at.update(await repo.list_custom_session_scored_at(db, monitor.project_id, wanted))
    grown = await session_repo.last_ingested_by_session(db, monitor.project_id, targets)
    return [
        (sid, metric)
        for sid in targets
        for metric in metrics
        if (at := scored_at.get((sid, metric))) is None or grown.get(sid, at) > at
    ]


async def spawn_run(
    db: AsyncSession, monitor: EvalMonitor, context: SpawnContext, *, scheduled: bool
) -> EvalRun | Skipped:
    noun = "traces" if monitor.target_type == TargetType.TRACE else "sessions"
    filters = {k: v for k, v in (monitor.filters or {}).items() if k != WEIGHTS_KEY}
    custom = await custom_metrics.live_metrics(db, monitor.project_id, monitor.metric_names)
    gone = [n for n in monitor.metric_names if n not in custom and not _builtin(monitor, n)]
    if gone:
        return Skipped(f"The monitor's metrics {', '.join(gone)} no longer exist in the project.")
    model = check_models(context.settings, monitor, custom)

    targets = await _targets(db, monitor, filters)
    if not targets:
        return Skipped(f"No {noun} match the monitor's filters.")
    if scheduled and monitor.only_if_changed:
        since = await repo.last_spawned_at(db, monitor.id)
        if since is not None and not await _changed_since(db, monitor, filters, since):
            return Skipped(f"No {noun} were ingested since the last run ({since.isoformat()}).")
    targets = [t for t in targets if evals.in_sample(str(monitor.id), t, monitor.sampling_rate)]
    if not targets:
        return Skipped(f"The {monitor.sampling_rate:g} sample of the matching {noun} is empty.")
    if monitor.only_unscored:
        pairs = await _unscored_pairs(db, monitor, targets, model, custom)
        if not pairs:
            return Skipped(
                f"Every matching {noun[:-1]} already has a successful score for "
                f"{', '.join(monitor.metric_names)} from {model}."
            )
    else:
        pairs = [(t, m) for t in targets for m in monitor.metric_names]
    pairs = _cap(pairs, context.settings.max_run_targets)
    versions = evals.pinned_versions(monitor.metric_names, custom)
    return await _create_run(db, monitor, context, model, pairs, versions)


def _builtin(monitor: EvalMonitor, name: str) -> bool:
    if monitor.target_type == TargetType.SESSION:
        return name in SESSION_METRICS
    return name in {m.name for m in listed_metrics()}


def _cap(pairs: list[tuple[str, str]], max_targets: int) -> list[tuple[str, str]]:
    """At most ``max_targets`` targets per run, oldest first; with only_unscored the rest
    are picked up by the next ticks."""
    kept: dict[str, None] = {}
    capped = []
    for target, metric in pairs:
        if target not in kept and len(kept) >= max_targets:
            continue
        kept[target] = None
        capped.append((target, metric))
    return capped


async def _create_run(
    db: AsyncSession,
    monitor: EvalMonitor,
    context: SpawnContext,
    model: str,
    pairs: list[tuple[str, str]],
    versions: dict[str, int],
) -> EvalRun:
    run = await evals.create_run_with_targets(
        db, monitor.project_id,
        queue=context.queue, target_type=monitor.target_type,
        target_ids=[target for target, _ in pairs], metric_names=list(monitor.metric_names),
        filters=dict(monitor.filters or {}), model=model, sampling_rate=monitor.sampling_rate,
        sample_salt=str(monitor.id), name=f"[Monitor] {monitor.name}"[:MAX_NAME],
        monitor_id=monitor.id, max_cost_usd=monitor.max_cost_usd, pairs=pairs,
        metric_versions=versions,
    )  # fmt: skip
    now = context.now()
    monitor.last_run_at = now
    monitor.last_run_id = run.id
    monitor.last_skip_reason = None
    monitor.last_skip_at = None
    monitor.updated_at = now
    await db.flush()
    return run

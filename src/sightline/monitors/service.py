"""Monitor CRUD, pause/resume and the manual trigger (API.md §3.10), with validation that
answers 422 where PandaProbe stored bad filters, NULLs or empty metric lists (§6 items 25–26)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from sightline.config import Settings
from sightline.db.models import CustomMetric, EvalMonitor, EvalRun
from sightline.engine.metrics import listed_metrics
from sightline.engine.session.aggregation import SESSION_METRICS
from sightline.errors import Conflict, DomainValidationError, NotFound
from sightline.evals.metrics import service as custom_metrics
from sightline.evals.runs import service as evals
from sightline.evals.runs.providers import check_judge_model
from sightline.evals.runs.schemas import EvalRunFilters
from sightline.evals.sessions.schemas import SessionEvalRunFilters, parse_signal_weights
from sightline.evals.sessions.service import session_checks
from sightline.kit.statuses import MonitorStatus, TargetType
from sightline.monitors import repository as repo
from sightline.monitors.cadence import next_after, normalize_cadence
from sightline.monitors.schemas import MonitorCreate, MonitorUpdate
from sightline.monitors.spawn import Skipped, SpawnContext, check_models, spawn_run

TARGET_TYPES = (TargetType.TRACE, TargetType.SESSION)
WEIGHTS_KEY = "signal_weights"
# PATCH `null` on these restores the default; on the others it is a 422.
RESETTABLE: dict[str, Any] = {
    "sampling_rate": 1.0,
    "model": None,
    "only_if_changed": True,
    "only_unscored": True,
    "max_cost_usd": None,
}
NOT_NULLABLE = ("name", "metrics", "cadence", "target_type")


def _check_target_type(target_type: str) -> str:
    if target_type not in TARGET_TYPES:
        raise DomainValidationError("target_type must be 'TRACE' or 'SESSION'.")
    return target_type


def _check_metrics(
    target_type: str, metrics: Sequence[str], custom: Mapping[str, CustomMetric] | None = None
) -> list[str]:
    """Built-in names of the target type, or the project's custom metrics (a SESSION
    monitor takes the deterministic ones, as session runs do)."""
    custom = custom or {}
    if target_type == TargetType.TRACE:
        known = {m.name for m in listed_metrics()} | set(custom)
    else:
        known = set(SESSION_METRICS) | session_checks(metrics, custom)
    unknown = [m for m in metrics if m not in known]
    if unknown:
        kind = "session metrics" if target_type == TargetType.SESSION else "metrics"
        raise evals.unknown_metrics(unknown, known, kind=kind)
    return list(metrics)


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        field = ".".join(str(p) for p in item["loc"]) or "filters"
        parts.append(f"{field}: {item['msg']}")
    return "; ".join(parts)


def check_filters(target_type: str, filters: dict[str, Any]) -> dict[str, Any]:
    """Validated filters in stored form (ISO dates, nulls dropped), without signal_weights."""
    schema: type[EvalRunFilters] | type[SessionEvalRunFilters] = (
        EvalRunFilters if target_type == TargetType.TRACE else SessionEvalRunFilters
    )
    try:
        parsed: BaseModel = schema.model_validate(filters)
    except ValidationError as exc:
        raise DomainValidationError(f"Invalid filters: {_describe(exc)}") from None
    return parsed.model_dump(mode="json", exclude_none=True)


def _check_weights(target_type: str, weights: dict[str, float] | None) -> None:
    if weights and target_type != TargetType.SESSION:
        raise DomainValidationError("signal_weights is only valid for SESSION monitors.")


def _store_filters(
    target_type: str, filters: dict[str, Any], weights: dict[str, float] | None
) -> dict[str, Any]:
    """Filters as stored: the validated keys plus signal_weights, which live inside filters
    as in PandaProbe."""
    _check_weights(target_type, weights)
    stored = check_filters(target_type, filters)
    if weights:
        stored[WEIGHTS_KEY] = dict(weights)
    return stored


def _pop_weights(filters: dict[str, Any]) -> dict[str, float] | None:
    """Weights sent inside filters (a GET response sent back as it is)."""
    inner = filters.pop(WEIGHTS_KEY, None)
    if inner is None:
        return None
    try:
        return parse_signal_weights(inner)
    except (ValidationError, ValueError) as exc:
        raise DomainValidationError(f"Invalid filters: signal_weights: {exc}") from None


async def create_monitor(
    db: AsyncSession,
    project_id: uuid.UUID,
    body: MonitorCreate,
    settings: Settings,
    now: datetime,
) -> EvalMonitor:
    target_type = _check_target_type(body.target_type)
    _check_weights(target_type, body.signal_weights)
    custom = await custom_metrics.live_metrics(db, project_id, body.metrics)
    metrics = _check_metrics(target_type, body.metrics, custom)
    cadence = normalize_cadence(body.cadence)
    filters = dict(body.filters)
    inner = _pop_weights(filters)
    weights = body.signal_weights if body.signal_weights is not None else inner
    monitor = EvalMonitor(
        project_id=project_id,
        name=body.name,
        target_type=target_type,
        metric_names=metrics,
        filters=_store_filters(target_type, filters, weights),
        sampling_rate=body.sampling_rate,
        model=body.model,
        cadence=cadence,
        only_if_changed=body.only_if_changed,
        only_unscored=body.only_unscored,
        max_cost_usd=body.max_cost_usd,
        status=MonitorStatus.ACTIVE,
        next_run_at=next_after(cadence, now),
        created_at=now,
        updated_at=now,
    )
    check_models(settings, monitor, custom)
    await repo.add_monitor(db, monitor)
    return monitor


async def get_monitor(
    db: AsyncSession, project_id: uuid.UUID, monitor_id: uuid.UUID
) -> EvalMonitor:
    monitor = await repo.get_monitor(db, project_id, monitor_id)
    if monitor is None:
        raise NotFound(f"Eval monitor {monitor_id} not found.")
    return monitor


async def list_monitors(
    db: AsyncSession, project_id: uuid.UUID, status: str | None, limit: int, offset: int
) -> tuple[list[EvalMonitor], int]:
    return await repo.list_monitors(db, project_id, status, limit, offset)


async def update_monitor(
    db: AsyncSession,
    project_id: uuid.UUID,
    monitor_id: uuid.UUID,
    body: MonitorUpdate,
    settings: Settings,
    now: datetime,
) -> EvalMonitor:
    monitor = await get_monitor(db, project_id, monitor_id)
    sent = body.model_fields_set
    for field in NOT_NULLABLE:
        if field in sent and getattr(body, field) is None:
            raise DomainValidationError(f"{field} cannot be null.")
    if "target_type" in sent and body.target_type != monitor.target_type:
        raise DomainValidationError("target_type cannot be changed.")
    if "name" in sent and body.name is not None:
        monitor.name = body.name
    custom = await custom_metrics.live_metrics(db, project_id, monitor.metric_names)
    if "metrics" in sent and body.metrics is not None:
        custom = await custom_metrics.live_metrics(db, project_id, body.metrics)
        monitor.metric_names = _check_metrics(monitor.target_type, body.metrics, custom)
    _apply_filters(monitor, body, sent)
    for field, default in RESETTABLE.items():
        if field in sent:
            value = getattr(body, field)
            setattr(monitor, field, default if value is None else value)
    if "cadence" in sent and body.cadence is not None:
        monitor.cadence = normalize_cadence(body.cadence)
        if monitor.status == MonitorStatus.ACTIVE:
            monitor.next_run_at = next_after(monitor.cadence, now)
    if sent & {"model", "metrics"}:
        check_models(settings, monitor, custom)
    monitor.updated_at = now
    await db.flush()
    return monitor


def _apply_filters(monitor: EvalMonitor, body: MonitorUpdate, sent: set[str]) -> None:
    if "filters" not in sent and WEIGHTS_KEY not in sent:
        return
    current = dict(monitor.filters or {})
    stored_weights = current.pop(WEIGHTS_KEY, None)
    filters = dict(body.filters or {}) if "filters" in sent else current
    inner = _pop_weights(filters)
    if WEIGHTS_KEY in sent:
        weights = body.signal_weights or None  # null or {} removes the weights
    elif inner is not None:
        weights = inner
    else:
        weights = stored_weights  # new filters keep the existing weights
    monitor.filters = _store_filters(monitor.target_type, filters, weights)


async def delete_monitor(db: AsyncSession, project_id: uuid.UUID, monitor_id: uuid.UUID) -> None:
    await repo.delete_monitor(db, await get_monitor(db, project_id, monitor_id))


async def pause_monitor(
    db: AsyncSession, project_id: uuid.UUID, monitor_id: uuid.UUID, now: datetime
) -> EvalMonitor:
    monitor = await get_monitor(db, project_id, monitor_id)
    if monitor.status != MonitorStatus.PAUSED:
        monitor.status = MonitorStatus.PAUSED
        monitor.next_run_at = None
        monitor.updated_at = now
        await db.flush()
    return monitor


async def resume_monitor(
    db: AsyncSession, project_id: uuid.UUID, monitor_id: uuid.UUID, now: datetime
) -> EvalMonitor:
    monitor = await get_monitor(db, project_id, monitor_id)
    if monitor.status != MonitorStatus.ACTIVE:
        monitor.status = MonitorStatus.ACTIVE
        monitor.next_run_at = next_after(monitor.cadence, now)
        monitor.updated_at = now
        await db.flush()
    return monitor


async def trigger_monitor(
    db: AsyncSession,
    project_id: uuid.UUID,
    monitor_id: uuid.UUID,
    context: SpawnContext,
) -> EvalRun:
    """Run now, ignoring the cadence and only_if_changed (only_unscored still applies).
    A paused monitor is refused with 409: pausing means "spend nothing"."""
    monitor = await get_monitor(db, project_id, monitor_id)
    if monitor.status == MonitorStatus.PAUSED:
        raise Conflict(f"Eval monitor {monitor_id} is paused; resume it before triggering a run.")
    outcome = await spawn_run(db, monitor, context, scheduled=False)
    if isinstance(outcome, Skipped):
        raise DomainValidationError(outcome.reason)
    return outcome


async def list_monitor_runs(
    db: AsyncSession, project_id: uuid.UUID, monitor_id: uuid.UUID, limit: int, offset: int
) -> tuple[list[EvalRun], int]:
    await get_monitor(db, project_id, monitor_id)
    return await repo.list_monitor_runs(db, monitor_id, limit, offset)


PREVIEW_RUNS = 3


def upcoming_runs(cadence: str, now: datetime, count: int = PREVIEW_RUNS) -> list[datetime]:
    """The next ``count`` due times of a cadence counted from ``now`` (what create, resume and
    a cadence change schedule); an invalid cadence is the API's 422."""
    normalized = normalize_cadence(cadence)
    times: list[datetime] = []
    at = now
    for _ in range(count):
        at = next_after(normalized, at)
        times.append(at)
    return times


def field_errors(
    settings: Settings,
    target_type: str,
    metrics: Sequence[str],
    filters: dict[str, Any],
    cadence: str,
    model: str | None,
    custom: Mapping[str, CustomMetric] | None = None,
) -> dict[str, str]:
    """Every field's problem at once, each with the message the API answers for it (the API
    stops at the first; a form shows them all beside their fields). Filter problems are
    keyed as the API names fields: ``filters -> <key>``."""
    errors: dict[str, str] = {}

    def collect(field: str, check: Callable[[], object]) -> None:
        try:
            check()
        except DomainValidationError as exc:
            errors.setdefault(field, exc.detail)

    collect("target_type", lambda: _check_target_type(target_type))
    if "target_type" not in errors:
        collect("metrics", lambda: _check_metrics(target_type, metrics, custom))
        for key, value in filters.items():
            collect(f"filters -> {key}", partial(check_filters, target_type, {key: value}))
    collect("cadence", lambda: normalize_cadence(cadence))
    collect("model", lambda: check_judge_model(settings, model))
    return errors

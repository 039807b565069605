"""Monitors: the list (/ui/monitors), create and edit, a monitor's page with pause, resume,
trigger now, delete and its recent runs; the cadence preview fragment."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from sightline.config import Settings
from sightline.db.models import EvalMonitor
from sightline.db.types import utcnow
from sightline.dependencies import DbDep, QueueDep, SettingsDep
from sightline.engine.metrics import listed_metrics
from sightline.engine.metrics.custom.config import Kind
from sightline.errors import DomainValidationError, SightlineError
from sightline.evals.metrics import service as custom_metrics
from sightline.evals.runs import service as runs
from sightline.evals.sessions import service as session_evals
from sightline.kit.pagination import Page
from sightline.kit.statuses import MonitorStatus
from sightline.monitors import service
from sightline.monitors.spawn import SpawnContext
from sightline.web.auth.dependencies import CsrfDep, ViewerDep
from sightline.web.monitors.forms import (
    CADENCE_CHOICES,
    FILTERS,
    MonitorForm,
    filter_field,
    parse_create,
    parse_update,
)
from sightline.web.rendering import render, ui_base

router = APIRouter()
PAGE_SIZE = 50
RECENT_RUNS = 20


async def _metric_choices(db: DbDep, project_id: uuid.UUID) -> dict[str, list[tuple[str, str]]]:
    """The built-ins, then the project's own metrics (a session monitor takes only the
    checks: an llm_judge metric judges one trace)."""
    custom = (await custom_metrics.live_metrics(db, project_id)).values()
    trace = [(m.name, m.description) for m in sorted(listed_metrics(), key=lambda m: m.name)]
    trace += [(row.name, row.description) for row in custom]
    session = [(m.name, m.description) for m in session_evals.list_session_metrics()]
    session += [(row.name, row.description) for row in custom if row.kind != Kind.LLM_JUDGE]
    return {"TRACE": trace, "SESSION": session}


def _preview(cadence: str) -> tuple[list[Any], str | None]:
    try:
        return service.upcoming_runs(cadence, utcnow()), None
    except DomainValidationError as exc:
        return [], exc.detail


def _form_page(
    request: Request,
    choices: dict[str, list[tuple[str, str]]],
    settings: Settings,
    form: MonitorForm,
    errors: dict[str, str],
    monitor: EvalMonitor | None = None,
) -> Response:
    upcoming, cadence_error = _preview(form.cadence)
    return render(
        request,
        "monitors/form.html",
        {
            "nav": "monitors",
            "form": form,
            "errors": errors,
            "monitor": monitor,
            "metric_choices": choices,
            "filters": FILTERS,
            "filter_field": filter_field,
            "cadences": CADENCE_CHOICES,
            "upcoming": upcoming,
            "cadence_error": cadence_error,
            "default_model": runs.resolve_default_model(settings),
        },
        status_code=422 if errors else 200,
    )


def _web_errors(form: MonitorForm, errors: dict[str, str]) -> dict[str, str]:
    return {form.form_key(key): message for key, message in errors.items()}


@router.get("/monitors")
async def monitor_list(
    request: Request,
    viewer: ViewerDep,
    db: DbDep,
    status_filter: Annotated[str, Query(alias="status", max_length=20)] = "",
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    status = next((s for s in MonitorStatus if s.value == status_filter), None)
    rows, total = await service.list_monitors(db, viewer.project_id, status, PAGE_SIZE, offset)
    return render(
        request,
        "monitors/list.html",
        {
            "nav": "monitors",
            "page": Page(items=rows, total=total, limit=PAGE_SIZE, offset=offset),
            "status": status.value if status else "",
            "params": {"status": status.value if status else None},
        },
    )


@router.get("/monitors/new")
async def new_monitor(
    request: Request, viewer: ViewerDep, db: DbDep, settings: SettingsDep
) -> Response:
    return _form_page(
        request, await _metric_choices(db, viewer.project_id), settings, MonitorForm(), {}
    )


@router.get("/monitors/cadence-preview")
async def cadence_preview(
    request: Request,
    viewer: ViewerDep,
    cadence_kind: Annotated[str, Query(max_length=20)] = "daily",
    cron: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """The next three run times of the cadence being typed (htmx swaps it into the form)."""
    form = MonitorForm(cadence_kind=cadence_kind, cron=cron.strip())
    upcoming, error = _preview(form.cadence)
    return render(request, "monitors/_preview.html", {"upcoming": upcoming, "cadence_error": error})


async def _form_errors(
    db: DbDep, project_id: uuid.UUID, settings: Settings, form: MonitorForm
) -> dict[str, str]:
    """Every field's problem at once, with the API's messages, keyed by form field."""
    checks = service.field_errors(
        settings,
        form.target_type,
        form.metrics,
        form.filter_values(),
        form.cadence,
        form.model or None,
        await custom_metrics.live_metrics(db, project_id, form.metrics),
    )
    return _web_errors(form, checks)


@router.post("/monitors")
async def create_monitor(
    request: Request, _csrf: CsrfDep, viewer: ViewerDep, db: DbDep, settings: SettingsDep
) -> Response:
    form = MonitorForm.from_form(await request.form())
    body, errors = parse_create(form)
    errors = {**await _form_errors(db, viewer.project_id, settings, form), **errors}
    if body is None or errors:
        return _form_page(
            request, await _metric_choices(db, viewer.project_id), settings, form, errors
        )
    try:
        monitor = await service.create_monitor(db, viewer.project_id, body, settings, utcnow())
    except DomainValidationError as exc:
        return _form_page(
            request, await _metric_choices(db, viewer.project_id), settings, form, {"": exc.detail}
        )
    return RedirectResponse(f"{ui_base(request)}/monitors/{monitor.id}", status_code=303)


async def _detail_page(
    request: Request,
    db: DbDep,
    viewer: ViewerDep,
    settings: Settings,
    monitor_id: uuid.UUID,
    *,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    monitor = await service.get_monitor(db, viewer.project_id, monitor_id)
    recent, total = await service.list_monitor_runs(
        db, viewer.project_id, monitor_id, RECENT_RUNS, 0
    )
    upcoming, _ = _preview(monitor.cadence)
    return render(
        request,
        "monitors/detail.html",
        {
            "nav": "monitors",
            "monitor": monitor,
            "runs": recent,
            "runs_total": total,
            "upcoming": upcoming if monitor.status == MonitorStatus.ACTIVE else [],
            "default_model": runs.resolve_default_model(settings),
            "notice": notice,
            "error": error,
        },
        status_code=status_code,
    )


@router.get("/monitors/{monitor_id}")
async def monitor_detail(
    request: Request,
    viewer: ViewerDep,
    db: DbDep,
    settings: SettingsDep,
    monitor_id: uuid.UUID,
    notice: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    message = {
        "paused": "Paused: it will not run until resumed.",
        "resumed": "Resumed: it runs again on its cadence.",
        "saved": "Saved.",
        "triggered": "A run was started; it is at the top of the recent runs.",
    }.get(notice or "")
    return await _detail_page(request, db, viewer, settings, monitor_id, notice=message)


@router.get("/monitors/{monitor_id}/edit")
async def edit_monitor(
    request: Request, viewer: ViewerDep, db: DbDep, settings: SettingsDep, monitor_id: uuid.UUID
) -> Response:
    monitor = await service.get_monitor(db, viewer.project_id, monitor_id)
    return _form_page(
        request,
        await _metric_choices(db, viewer.project_id),
        settings,
        MonitorForm.from_monitor(monitor),
        {},
        monitor,
    )


@router.post("/monitors/{monitor_id}")
async def update_monitor(
    request: Request,
    _csrf: CsrfDep,
    viewer: ViewerDep,
    db: DbDep,
    settings: SettingsDep,
    monitor_id: uuid.UUID,
) -> Response:
    monitor = await service.get_monitor(db, viewer.project_id, monitor_id)
    form = MonitorForm.from_form(await request.form(), monitor.target_type)
    body, errors = parse_update(form)
    errors = {**await _form_errors(db, viewer.project_id, settings, form), **errors}
    if body is None or errors:
        return _form_page(
            request, await _metric_choices(db, viewer.project_id), settings, form, errors, monitor
        )
    try:
        await service.update_monitor(db, viewer.project_id, monitor_id, body, settings, utcnow())
    except DomainValidationError as exc:
        return _form_page(
            request,
            await _metric_choices(db, viewer.project_id),
            settings,
            form,
            {"": exc.detail},
            monitor,
        )
    return _back(request, monitor_id, "saved")


def _back(request: Request, monitor_id: uuid.UUID, notice: str) -> Response:
    return RedirectResponse(
        f"{ui_base(request)}/monitors/{monitor_id}?notice={notice}", status_code=303
    )


@router.post("/monitors/{monitor_id}/pause")
async def pause_monitor(
    request: Request, _csrf: CsrfDep, viewer: ViewerDep, db: DbDep, monitor_id: uuid.UUID
) -> Response:
    await service.pause_monitor(db, viewer.project_id, monitor_id, utcnow())
    return _back(request, monitor_id, "paused")


@router.post("/monitors/{monitor_id}/resume")
async def resume_monitor(
    request: Request, _csrf: CsrfDep, viewer: ViewerDep, db: DbDep, monitor_id: uuid.UUID
) -> Response:
    await service.resume_monitor(db, viewer.project_id, monitor_id, utcnow())
    return _back(request, monitor_id, "resumed")


@router.post("/monitors/{monitor_id}/trigger")
async def trigger_monitor(
    request: Request,
    _csrf: CsrfDep,
    viewer: ViewerDep,
    db: DbDep,
    settings: SettingsDep,
    queue: QueueDep,
    monitor_id: uuid.UUID,
) -> Response:
    """Start a run now; a refusal (paused, nothing to evaluate) is shown on the monitor's
    page with the API's message and status."""
    context = SpawnContext(settings, queue, utcnow)
    try:
        await service.trigger_monitor(db, viewer.project_id, monitor_id, context)
    except SightlineError as exc:
        if exc.status_code == 404:
            raise
        return await _detail_page(
            request,
            db,
            viewer,
            settings,
            monitor_id,
            error=exc.detail,
            status_code=exc.status_code,
        )
    return _back(request, monitor_id, "triggered")


@router.post("/monitors/{monitor_id}/delete")
async def delete_monitor(
    request: Request, _csrf: CsrfDep, viewer: ViewerDep, db: DbDep, monitor_id: uuid.UUID
) -> Response:
    await service.delete_monitor(db, viewer.project_id, monitor_id)
    return RedirectResponse(f"{ui_base(request)}/monitors", status_code=303)

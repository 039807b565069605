"""Runs: the list, the new-run form (from the trace list) with its cost estimate, a run's
page with its live part (polled by htmx while the run is unfinished), retry and delete."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import RedirectResponse, Response

from sightline.db.types import utcnow
from sightline.dependencies import DbDep, QueueDep, SettingsDep
from sightline.errors import DomainValidationError
from sightline.evals.runs import catalog
from sightline.evals.runs import estimate as estimates
from sightline.evals.runs import service as runs
from sightline.evals.runs.schemas import EvalRunResponse, MetricInfo
from sightline.evals.scores import service as scores
from sightline.evals.scores.analytics import service as analytics
from sightline.evals.scores.analytics.schemas import ScoreDistributionBucket, ScoreSummary
from sightline.evals.scores.repository import ScoreFilter
from sightline.kit.pagination import MAX_OFFSET
from sightline.kit.statuses import RunStatus, TargetType
from sightline.ratelimit import Bucket, RateLimiter
from sightline.web.auth.dependencies import CsrfDep, Viewer, ViewerDep
from sightline.web.rendering import render, ui_base
from sightline.web.runs.forms import RunForm, field_of, parse_run_form

router = APIRouter()
RUNS_PER_PAGE = 50
SCORES_PER_PAGE = 100
DISTRIBUTION_BUCKETS = 10
POLL_SECONDS = 1
UNFINISHED = {RunStatus.PENDING, RunStatus.RUNNING}

OffsetQuery = Annotated[int, Query(ge=0, le=MAX_OFFSET)]


@router.get("/runs")
async def run_list(
    request: Request,
    viewer: ViewerDep,
    db: DbDep,
    status: Annotated[RunStatus | None, Query()] = None,
    target: Annotated[TargetType, Query()] = TargetType.TRACE,
    offset: OffsetQuery = 0,
) -> Response:
    found, total = await runs.list_runs(
        db, viewer.project_id, target, status, RUNS_PER_PAGE, offset
    )
    page = {
        "items": [EvalRunResponse.model_validate(r) for r in found],
        "total": total,
        "limit": RUNS_PER_PAGE,
        "offset": offset,
    }
    params = {"status": status.value if status else None, "target": target.value}
    return render(
        request,
        "runs/list.html",
        {
            "nav": "runs",
            "page": page,
            "params": params,
            "status": status,
            "statuses": list(RunStatus),
            "target": target,
        },
    )


# -- a new run ----------------------------------------------------------------------------


async def _estimate(
    db: DbDep, viewer: Viewer, settings: SettingsDep, form: RunForm
) -> tuple[estimates.RunEstimate | None, str | None]:
    if form.errors:
        return None, None
    # The selected traces, or every trace matching the filters at the sampling rate.
    chosen: dict[str, Any] = (
        {"trace_ids": form.trace_ids}
        if form.mode == "ids"
        else {"filters": form.selection.run_filters(), "sampling_rate": form.sampling_rate}
    )
    try:
        found = await estimates.estimate_trace_run(
            db,
            viewer.project_id,
            settings,
            metrics=form.metrics,
            model=form.model or None,
            **chosen,
        )
    except DomainValidationError as exc:
        return None, exc.detail
    return found, None


def _form_page(
    request: Request,
    metrics: list[MetricInfo],
    form: RunForm,
    settings: SettingsDep,
    estimate: estimates.RunEstimate | None,
    estimate_error: str | None,
    *,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "runs/new.html",
        {
            "nav": "traces",
            "form": form,
            "metrics": metrics,
            "default_model": runs.resolve_default_model(settings),
            "estimate": estimate,
            "estimate_error": estimate_error,
            "completion_tokens": estimates.COMPLETION_TOKENS_PER_CALL,
            "sample_traces": estimates.SAMPLE_TRACES,
        },
        status_code=status_code,
    )


@router.get("/runs/new")
async def new_run(
    request: Request, viewer: ViewerDep, db: DbDep, settings: SettingsDep
) -> Response:
    form = parse_run_form(request.query_params, submitted=False)
    estimate, error = await _estimate(db, viewer, settings, form)
    metrics = await catalog.list_trace_metrics(db, viewer.project_id)
    return _form_page(request, metrics, form, settings, estimate, error)


@router.get("/runs/new/estimate")
async def new_run_estimate(
    request: Request, viewer: ViewerDep, db: DbDep, settings: SettingsDep
) -> Response:
    """The estimate alone, for htmx to swap in when the form changes."""
    form = parse_run_form(request.query_params, submitted=True)
    estimate, error = await _estimate(db, viewer, settings, form)
    return render(
        request,
        "runs/_estimate.html",
        {
            "form": form,
            "estimate": estimate,
            "estimate_error": error or next(iter(form.errors.values()), None),
            "completion_tokens": estimates.COMPLETION_TOKENS_PER_CALL,
            "sample_traces": estimates.SAMPLE_TRACES,
        },
    )


@router.post("/runs")
async def create_run(
    request: Request,
    _csrf: CsrfDep,
    viewer: ViewerDep,
    db: DbDep,
    settings: SettingsDep,
    queue: QueueDep,
) -> Response:
    """The same service as POST /evaluations/trace-runs[/batch], within the same rate."""
    form = parse_run_form(await request.form(), submitted=True)
    if not form.errors:
        limiter: RateLimiter = request.app.state.rate_limiter
        await limiter.admit(Bucket.RUNS, viewer.scope)
        options: dict[str, Any] = {
            "settings": settings,
            "queue": queue,
            "metrics": form.metrics,
            "model": form.model or None,
            "name": form.name or None,
        }
        try:
            if form.mode == "ids":
                run = await runs.create_trace_run(
                    db, viewer.project_id, trace_ids=form.trace_ids, **options
                )
            else:
                run = await runs.create_trace_run(
                    db,
                    viewer.project_id,
                    filters=form.selection.run_filters(),
                    sampling_rate=form.sampling_rate,
                    **options,
                )
        except DomainValidationError as exc:
            form.errors[field_of(exc.detail)] = exc.detail
        else:
            return RedirectResponse(f"{ui_base(request)}/runs/{run.id}", status_code=303)
    estimate, error = await _estimate(db, viewer, settings, dataclasses.replace(form, errors={}))
    metrics = await catalog.list_trace_metrics(db, viewer.project_id)
    return _form_page(request, metrics, form, settings, estimate, error, status_code=422)


# -- a run --------------------------------------------------------------------------------


async def _live(db: DbDep, viewer: Viewer, run_id: uuid.UUID, offset: int) -> dict[str, Any]:
    run = await runs.get_run_detail(db, viewer.project_id, run_id, None)  # trace or session
    if run.target_type == TargetType.SESSION:
        summary, distributions, found, total = await _session_results(db, viewer, run_id, offset)
    else:
        summary, distributions, found, total = await _trace_results(db, viewer, run_id, offset)
    return {
        "run": run,
        "sessions": run.target_type == TargetType.SESSION,
        "summary": summary,
        "distributions": distributions,
        "scores": found,
        "scores_page": {"total": total, "limit": SCORES_PER_PAGE, "offset": offset},
        "seconds_left": estimates.seconds_left(
            run.status, run.started_at, run.evaluated_count, run.total_targets, utcnow()
        ),
        "live": run.status in UNFINISHED,
        "poll_seconds": POLL_SECONDS,
        "buckets": DISTRIBUTION_BUCKETS,
    }


Results = tuple[Sequence[ScoreSummary], dict[str, list[int]], Sequence[Any], int]


def _histogram(buckets: Sequence[ScoreDistributionBucket]) -> list[int]:
    counts = {b.bucket: b.count for b in buckets}
    return [counts.get(i, 0) for i in range(1, DISTRIBUTION_BUCKETS + 1)]


async def _trace_results(db: DbDep, viewer: Viewer, run_id: uuid.UUID, offset: int) -> Results:
    where = ScoreFilter(eval_run_id=run_id)
    summary = await analytics.trace_summary(db, viewer.project_id, where)
    distributions = {
        row.metric_name: _histogram(
            await analytics.trace_distribution(
                db,
                viewer.project_id,
                ScoreFilter(eval_run_id=run_id, name=row.metric_name),
                DISTRIBUTION_BUCKETS,
            )
        )
        for row in summary
    }
    found, total = await scores.list_scores(db, viewer.project_id, where, SCORES_PER_PAGE, offset)
    return summary, distributions, found, total


async def _session_results(db: DbDep, viewer: Viewer, run_id: uuid.UUID, offset: int) -> Results:
    project = viewer.project_id
    summary = await analytics.session_summary(db, project, None, None, eval_run_id=run_id)
    distributions = {
        row.metric_name: _histogram(
            await analytics.session_distribution(
                db, project, row.metric_name, None, None, DISTRIBUTION_BUCKETS, eval_run_id=run_id
            )
        )
        for row in summary
    }
    found, total = await scores.list_session_scores(
        db, project, limit=SCORES_PER_PAGE, offset=offset, eval_run_id=run_id
    )
    return summary, distributions, found, total


@router.get("/runs/{run_id}")
async def run_detail(
    request: Request, viewer: ViewerDep, db: DbDep, run_id: uuid.UUID, offset: OffsetQuery = 0
) -> Response:
    return render(
        request, "runs/detail.html", {"nav": "runs", **await _live(db, viewer, run_id, offset)}
    )


@router.get("/runs/{run_id}/live")
async def run_live(
    request: Request, viewer: ViewerDep, db: DbDep, run_id: uuid.UUID, offset: OffsetQuery = 0
) -> Response:
    """The part of the run page that changes while it runs (htmx polls it)."""
    return render(request, "runs/_live.html", await _live(db, viewer, run_id, offset))


@router.post("/runs/{run_id}/retry")
async def retry_run(
    request: Request,
    _csrf: CsrfDep,
    viewer: ViewerDep,
    db: DbDep,
    settings: SettingsDep,
    queue: QueueDep,
    run_id: uuid.UUID,
) -> Response:
    limiter: RateLimiter = request.app.state.rate_limiter
    await limiter.admit(Bucket.RUNS, viewer.scope)
    run = await runs.get_run(db, viewer.project_id, run_id, None)
    retry = await runs.retry_run(
        db, viewer.project_id, run_id, run.target_type, settings=settings, queue=queue
    )
    return RedirectResponse(f"{ui_base(request)}/runs/{retry.id}", status_code=303)


@router.post("/runs/{run_id}/delete")
async def delete_run(
    request: Request,
    _csrf: CsrfDep,
    viewer: ViewerDep,
    db: DbDep,
    run_id: uuid.UUID,
    delete_scores: Annotated[bool, Form()] = False,
    confirm: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    if confirm != "yes":
        raise DomainValidationError("Tick the confirmation box to delete the run.")
    run = await runs.get_run(db, viewer.project_id, run_id, None)
    target = run.target_type
    await runs.delete_run(db, viewer.project_id, run_id, target, delete_scores=delete_scores)
    return RedirectResponse(f"{ui_base(request)}/runs?target={target}", status_code=303)

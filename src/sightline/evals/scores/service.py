"""Scores: trace scores from people and SDKs (create, list, export, latest per name,
annotate, delete), the scores of a run, and session scores (list, delete)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from sightline.db.models import SessionScore, TraceScore
from sightline.db.session import SessionFactory
from sightline.db.types import utcnow
from sightline.errors import DomainValidationError, NotFound
from sightline.evals.runs import repository as runs_repo
from sightline.evals.runs.service import run_not_found
from sightline.evals.scores import repository as repo
from sightline.evals.scores.schemas import (
    TraceScoreCreate,
    TraceScoreResponse,
    TraceScoreUpdate,
    check_value,
)
from sightline.kit.export import ExportFormat, csv_records, csv_rows, jsonl
from sightline.kit.statuses import ScoreSource, ScoreStatus, TargetType
from sightline.traces import repository as traces_repo


def _score_not_found(score_id: uuid.UUID) -> NotFound:
    return NotFound(f"Trace score {score_id} not found.")


async def create_score(
    db: AsyncSession, project_id: uuid.UUID, body: TraceScoreCreate
) -> TraceScore:
    """The trace must be in the caller's project (PandaProbe accepts foreign traces, §6.2)."""
    found = await traces_repo.existing_trace_ids(db, project_id, [body.trace_id])
    if body.trace_id not in found:
        raise NotFound(f"Trace {body.trace_id} not found.")
    now = utcnow()
    score = TraceScore(
        id=uuid.uuid4(),
        project_id=project_id,
        trace_id=body.trace_id,
        name=body.name,
        data_type=body.data_type,
        value=body.value,
        source=body.source,
        status=ScoreStatus.SUCCESS,
        reason=body.reason,
        metadata_=body.metadata,
        eval_run_id=None,
        judge_calls=0,
        prompt_tokens=0,
        completion_tokens=0,
        cost_usd=0.0,
        created_at=now,
        updated_at=now,
    )
    await repo.add_score(db, score)
    return score


async def update_score(
    db: AsyncSession, project_id: uuid.UUID, score_id: uuid.UUID, body: TraceScoreUpdate
) -> TraceScore:
    """A human annotation: only the fields in the body change; a new value is checked
    against the score's data type and makes the score SUCCESS; `reason: null` clears it."""
    score = await repo.get_score(db, project_id, score_id)
    if score is None:
        raise _score_not_found(score_id)
    given = body.model_fields_set
    if "value" in given:
        if body.value is None:
            raise DomainValidationError("value cannot be null; delete the score instead.")
        try:
            score.value = check_value(body.value, score.data_type)
        except ValueError as exc:
            raise DomainValidationError(str(exc)) from None
        score.status = ScoreStatus.SUCCESS
    if "reason" in given:
        score.reason = body.reason
    if "metadata" in given:
        score.metadata_ = body.metadata or {}
    score.source = ScoreSource.ANNOTATION
    score.updated_at = utcnow()
    await db.flush()
    return score


async def latest_scores_by_trace(
    db: AsyncSession, project_id: uuid.UUID, trace_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[TraceScore]]:
    """The newest score per name of each trace (the dashboard's score badges)."""
    found: dict[uuid.UUID, list[TraceScore]] = {t: [] for t in trace_ids}
    for score in await repo.latest_scores_for_traces(db, project_id, trace_ids):
        found[score.trace_id].append(score)
    return found


async def delete_score(db: AsyncSession, project_id: uuid.UUID, score_id: uuid.UUID) -> None:
    score = await repo.get_score(db, project_id, score_id)
    if score is None:
        raise _score_not_found(score_id)
    await repo.delete_score(db, score)


async def list_scores(
    db: AsyncSession,
    project_id: uuid.UUID,
    where: repo.ScoreFilter,
    limit: int,
    offset: int,
) -> tuple[list[TraceScore], int]:
    return await repo.list_scores(db, project_id, where, limit, offset)


# Export pages: scores are small rows, so a page is well under a megabyte.
EXPORT_PAGE_ROWS = 500
CSV_COLUMNS = tuple(TraceScoreResponse.model_fields)  # metadata as JSON text


async def export_scores(
    factory: SessionFactory, project_id: uuid.UUID, where: repo.ScoreFilter, fmt: ExportFormat
) -> AsyncIterator[bytes]:
    """GET /evaluations/trace-scores/export: the list's scores, oldest first, as JSONL
    (TraceScoreResponse rows) or CSV. The pages are read while the response streams, when
    no request transaction is open any more, so each is read in a session of its own
    (reads only, nothing to commit), closed before the page is sent."""
    # A CSV's header goes with the first page (see kit/export.py), alone if nothing matched.
    header = csv_rows([CSV_COLUMNS]) if fmt is ExportFormat.csv else b""
    after: tuple[datetime, uuid.UUID] | None = None
    while True:
        async with factory() as db:
            rows = await repo.score_page(db, project_id, where, after, EXPORT_PAGE_ROWS)
            scores = [TraceScoreResponse.model_validate(r) for r in rows]
        if scores:
            body = jsonl(scores) if fmt is ExportFormat.jsonl else csv_records(scores, CSV_COLUMNS)
            yield header + body
            header = b""
        if len(scores) < EXPORT_PAGE_ROWS:
            break
        after = (rows[-1].created_at, rows[-1].id)
    if header:
        yield header


async def latest_scores(
    db: AsyncSession, project_id: uuid.UUID, trace_id: uuid.UUID
) -> list[TraceScore]:
    return await repo.latest_scores_per_name(db, project_id, trace_id)


async def run_scores(
    db: AsyncSession, project_id: uuid.UUID, run_id: uuid.UUID
) -> list[TraceScore]:
    """Scores of a trace run; an unknown run (or a session run) is a 404."""
    if await runs_repo.get_run(db, project_id, run_id, TargetType.TRACE) is None:
        raise run_not_found(run_id)
    return await repo.list_run_scores(db, run_id)


# -- session scores ---------------------------------------------------------------------


async def session_run_scores(
    db: AsyncSession, project_id: uuid.UUID, run_id: uuid.UUID
) -> list[SessionScore]:
    """Scores of a session run; an unknown run (or a trace run) is a 404."""
    if await runs_repo.get_run(db, project_id, run_id, TargetType.SESSION) is None:
        raise run_not_found(run_id)
    return await repo.list_all_session_scores(db, project_id, eval_run_id=run_id)


async def list_session_scores(
    db: AsyncSession, project_id: uuid.UUID, *, limit: int, offset: int, **filters: Any
) -> tuple[list[SessionScore], int]:
    return await repo.list_session_scores(db, project_id, limit=limit, offset=offset, **filters)


async def scores_of_session(
    db: AsyncSession, project_id: uuid.UUID, session_id: str
) -> list[SessionScore]:
    return await repo.list_all_session_scores(db, project_id, session_id=session_id)


async def delete_session_score(
    db: AsyncSession, project_id: uuid.UUID, score_id: uuid.UUID
) -> None:
    score = await repo.get_session_score(db, project_id, score_id)
    if score is None:
        raise NotFound(f"Session score {score_id} not found.")
    await repo.delete_session_score(db, score)

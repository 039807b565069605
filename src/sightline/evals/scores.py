"""Trace scores from people and SDKs: create, list, latest per name, annotate, delete."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from sightline.db.models import TraceScore
from sightline.db.types import utcnow
from sightline.errors import DomainValidationError, NotFound
from sightline.evals import repository, score_repository, target_repository
from sightline.evals.schemas import TraceScoreCreate, TraceScoreUpdate, check_value
from sightline.evals.service import run_not_found


def _score_not_found(score_id: uuid.UUID) -> NotFound:
    return NotFound(f"Trace score {score_id} not found.")


async def create_score(
    session: AsyncSession, project_id: uuid.UUID, body: TraceScoreCreate
) -> TraceScore:
    """The trace must be in the caller's project (PandaProbe accepts foreign traces, §6.2)."""
    found = await target_repository.existing_trace_ids(session, project_id, [body.trace_id])
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
        status="SUCCESS",
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
    await score_repository.add_score(session, score)
    return score


async def update_score(
    session: AsyncSession, project_id: uuid.UUID, score_id: uuid.UUID, body: TraceScoreUpdate
) -> TraceScore:
    """A human annotation: only the fields in the body change; a new value is checked
    against the score's data type and makes the score SUCCESS; `reason: null` clears it."""
    score = await score_repository.get_score(session, project_id, score_id)
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
        score.status = "SUCCESS"
    if "reason" in given:
        score.reason = body.reason
    if "metadata" in given:
        score.metadata_ = body.metadata or {}
    score.source = "ANNOTATION"
    score.updated_at = utcnow()
    await session.flush()
    return score


async def delete_score(session: AsyncSession, project_id: uuid.UUID, score_id: uuid.UUID) -> None:
    score = await score_repository.get_score(session, project_id, score_id)
    if score is None:
        raise _score_not_found(score_id)
    await score_repository.delete_score(session, score)


async def list_scores(
    session: AsyncSession,
    project_id: uuid.UUID,
    where: score_repository.ScoreFilter,
    limit: int,
    offset: int,
) -> tuple[list[TraceScore], int]:
    return await score_repository.list_scores(session, project_id, where, limit, offset)


async def latest_scores(
    session: AsyncSession, project_id: uuid.UUID, trace_id: uuid.UUID
) -> list[TraceScore]:
    return await score_repository.latest_scores_per_name(session, project_id, trace_id)


async def run_scores(
    session: AsyncSession, project_id: uuid.UUID, run_id: uuid.UUID, target_type: str
) -> list[TraceScore]:
    """Scores of a run; an unknown run (or one of the other target type) is a 404."""
    if await repository.get_run(session, project_id, run_id, target_type) is None:
        raise run_not_found(run_id)
    return await score_repository.list_run_scores(session, run_id)

"""Annotation queues (issue 15): create, list, get with progress; the reviewer's next item
(204 when nothing is left for them), annotate, skip."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from sightline.dependencies import DbDep, ScopeDep
from sightline.evals.annotations import service
from sightline.evals.annotations.schemas import (
    AnnotationCreate,
    AnnotationQueueCreate,
    AnnotationQueueResponse,
    AnnotationResult,
    NextItemResponse,
    QueueItemResponse,
)
from sightline.evals.scores.schemas import TraceScoreResponse
from sightline.kit.pagination import Limit, Offset, Page

router = APIRouter(prefix="/evaluations/annotation-queues", tags=["annotation queues"])

LeaseSeconds = Annotated[
    int,
    Query(
        ge=1,
        le=service.MAX_LEASE_SECONDS,
        description="How long the item is held for the caller before another reviewer may "
        "be handed it.",
    ),
]
NOTHING_LEFT: dict[int | str, dict[str, Any]] = {
    204: {"description": "Nothing left for the caller: every item is annotated, skipped, or "
          "held by another reviewer."}
}  # fmt: skip


def _queue(view: service.QueueView) -> AnnotationQueueResponse:
    queue = view.queue
    return AnnotationQueueResponse(
        id=queue.id,
        project_id=queue.project_id,
        name=queue.name,
        metrics=service.metrics_of(queue),
        filters=queue.filters,
        sample_size=queue.sample_size,
        created_by=queue.created_by,
        created_at=queue.created_at,
        progress=view.progress,
    )


@router.post("", status_code=201, response_model=AnnotationQueueResponse)
async def create_queue(
    body: AnnotationQueueCreate, scope: ScopeDep, db: DbDep
) -> AnnotationQueueResponse:
    creator = await service.reviewer_of(db, scope)
    return _queue(await service.create_queue(db, scope.project_id, body, creator=creator))


@router.get("", response_model=Page[AnnotationQueueResponse])
async def list_queues(
    scope: ScopeDep, db: DbDep, limit: Limit = 50, offset: Offset = 0
) -> Page[AnnotationQueueResponse]:
    views, total = await service.list_queues(db, scope.project_id, limit, offset)
    return Page(items=[_queue(v) for v in views], total=total, limit=limit, offset=offset)


@router.get("/{queue_id}", response_model=AnnotationQueueResponse)
async def get_queue(queue_id: uuid.UUID, scope: ScopeDep, db: DbDep) -> AnnotationQueueResponse:
    return _queue(await service.get_queue(db, scope.project_id, queue_id))


@router.get("/{queue_id}/next", response_model=NextItemResponse, responses=NOTHING_LEFT)
async def next_item(
    queue_id: uuid.UUID,
    scope: ScopeDep,
    db: DbDep,
    lease_seconds: LeaseSeconds = service.DEFAULT_LEASE_SECONDS,
) -> NextItemResponse | Response:
    reviewer = await service.reviewer_of(db, scope)
    handed = await service.next_item(db, scope.project_id, queue_id, reviewer, lease_seconds)
    if handed is None:
        return Response(status_code=204)
    item, metrics = handed
    return NextItemResponse(**QueueItemResponse.model_validate(item).model_dump(), metrics=metrics)


@router.post(
    "/{queue_id}/items/{item_id}/annotations", status_code=201, response_model=AnnotationResult
)
async def annotate_item(
    queue_id: uuid.UUID, item_id: uuid.UUID, body: AnnotationCreate, scope: ScopeDep, db: DbDep
) -> AnnotationResult:
    reviewer = await service.reviewer_of(db, scope)
    item, scores = await service.annotate(db, scope.project_id, queue_id, item_id, body, reviewer)
    return AnnotationResult(
        item=QueueItemResponse.model_validate(item),
        scores=[TraceScoreResponse.model_validate(s) for s in scores],
    )


@router.post("/{queue_id}/items/{item_id}/skip", response_model=QueueItemResponse)
async def skip_item(
    queue_id: uuid.UUID, item_id: uuid.UUID, scope: ScopeDep, db: DbDep
) -> QueueItemResponse:
    reviewer = await service.reviewer_of(db, scope)
    item = await service.skip(db, scope.project_id, queue_id, item_id, reviewer)
    return QueueItemResponse.model_validate(item)

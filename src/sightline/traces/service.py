"""Trace and span use cases. Every function is scoped to the caller's project: a trace of
another project is reported as not found (or, for writes of its ID, as a conflict)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from sightline.db.types import utcnow
from sightline.errors import DomainValidationError, NotFound
from sightline.identity.schemas import Scope
from sightline.kit.pagination import Page
from sightline.traces import filters as f
from sightline.traces import repository as repo
from sightline.traces.ingest import repository as ingest_repo
from sightline.traces.ingest import service as ingest
from sightline.traces.rows import (
    fields_of,
    latency_ms,
    span_read,
    trace_list_item,
    trace_read,
    union_tags,
    with_client_cost,
    with_span_derived,
)
from sightline.traces.schemas import (
    Deleted,
    SpanCreate,
    SpanIds,
    SpanRead,
    SpanUpdate,
    TraceListItem,
    TraceRead,
    TraceTagsUpdate,
    TraceUpdate,
    Updated,
    not_before_start,
)
from sightline.traces.validation import MAX_TAGS

# PATCH: an explicit null is ignored for these and clears every other field.
_TRACE_NULL_IGNORED = {"name", "status", "tags", "metadata"}
_SPAN_NULL_IGNORED = {"name", "kind", "status", "metadata"}


def _trace_not_found(trace_id: uuid.UUID) -> NotFound:
    return NotFound(f"Trace {trace_id} not found.")


async def _own_trace(db: AsyncSession, scope: Scope, trace_id: uuid.UUID) -> Any:
    row = await repo.get_trace(db, scope.project_id, trace_id)
    if row is None:
        raise _trace_not_found(trace_id)
    return row


async def get_trace(db: AsyncSession, scope: Scope, trace_id: uuid.UUID) -> TraceRead:
    row = await _own_trace(db, scope, trace_id)
    spans = await repo.list_spans(db, [trace_id])
    return trace_read(row, spans[trace_id])


async def list_traces(
    db: AsyncSession,
    scope: Scope,
    filters: f.TraceFilters,
    sort_by: f.TraceSortBy,
    order: f.SortOrder,
    page: f.Page,
    count_limit: int | None = None,
) -> Page[TraceListItem]:
    """``count_limit``: see repository.list_traces (the API counts exactly)."""
    rows, total = await repo.list_traces(
        db, scope.project_id, filters, sort_by, order, page, count_limit
    )
    return Page(
        items=[trace_list_item(r) for r in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


def _patched(row: Any, changes: dict[str, Any], null_ignored: set[str]) -> dict[str, Any]:
    patched = dict(row)
    for name, value in changes.items():
        if value is None and name in null_ignored:
            continue
        if name == "metadata":
            value = {**(patched["metadata"] or {}), **value}
        patched[name] = value
    return patched


def _check_duration(patched: dict[str, Any]) -> None:
    try:
        not_before_start(patched["ended_at"], patched["started_at"])
    except ValueError as exc:
        raise DomainValidationError(f"ended_at: {exc}") from None


async def patch_trace(
    db: AsyncSession, scope: Scope, trace_id: uuid.UUID, update: TraceUpdate
) -> TraceRead:
    row = await _own_trace(db, scope, trace_id)
    changes = fields_of(update, update.model_fields_set)
    patched = _patched(row, changes, _TRACE_NULL_IGNORED)
    _check_duration(patched)
    patched["tags"] = union_tags([], patched["tags"] or [])
    patched["latency_ms"] = latency_ms(patched["started_at"], patched["ended_at"])
    if update.tags is not None:
        await repo.remove_tags(db, [trace_id], list(set(row["tags"]) - set(patched["tags"])))
        await ingest_repo.run_sync(
            db,
            ingest_repo.add_tags,
            scope.project_id,
            [(trace_id, t) for t in patched["tags"]],
        )
    now = utcnow()
    await ingest_repo.run_sync(db, ingest.refresh_traces, [patched], now)
    return await get_trace(db, scope, trace_id)


async def delete_trace(db: AsyncSession, scope: Scope, trace_id: uuid.UUID) -> None:
    if await repo.delete_traces(db, scope.project_id, [trace_id]) == 0:
        raise _trace_not_found(trace_id)


async def delete_traces(db: AsyncSession, scope: Scope, trace_ids: list[uuid.UUID]) -> Deleted:
    return Deleted(deleted=await repo.delete_traces(db, scope.project_id, trace_ids))


async def update_tags(db: AsyncSession, scope: Scope, body: TraceTagsUpdate) -> Updated:
    """Removes run first, then adds, so a tag in both lists ends up present."""
    if not body.add_tags and not body.remove_tags:
        return Updated(updated=0)
    rows = await repo.list_traces_by_id(db, scope.project_id, list(set(body.trace_ids)))
    updated = []
    for row in rows:
        kept = [t for t in row["tags"] or [] if t not in set(body.remove_tags)]
        tags = union_tags(kept, body.add_tags)
        if len(tags) > MAX_TAGS:
            raise DomainValidationError(
                f"tags: trace {row['trace_id']} would have more than {MAX_TAGS} tags."
            )
        updated.append({"trace_id": row["trace_id"], "tags": tags, "ingested_at": utcnow()})
    ids = [r["trace_id"] for r in rows]
    await repo.remove_tags(db, ids, body.remove_tags)
    await ingest_repo.run_sync(
        db,
        ingest_repo.add_tags,
        scope.project_id,
        [(t, tag) for t in ids for tag in body.add_tags],
    )
    await ingest_repo.run_sync(db, ingest_repo.update_traces, updated)
    return Updated(updated=len(rows))


async def add_spans(
    db: AsyncSession, scope: Scope, trace_id: uuid.UUID, spans: list[SpanCreate]
) -> SpanIds:
    row = await _own_trace(db, scope, trace_id)
    try:
        await ingest_repo.run_sync(db, ingest.upsert_spans, scope.project_id, row, spans, utcnow())
    except ingest.TraceRejected as exc:
        raise ingest.http_error(exc) from None
    return SpanIds(span_ids=[s.span_id for s in spans])


async def patch_span(
    db: AsyncSession,
    scope: Scope,
    trace_id: uuid.UUID,
    span_id: uuid.UUID,
    update: SpanUpdate,
) -> SpanRead:
    trace = await _own_trace(db, scope, trace_id)
    row = await repo.get_span(db, trace_id, span_id)
    if row is None:
        raise NotFound(f"Span {span_id} not found on trace {trace_id}.")
    changes = fields_of(update, update.model_fields_set)
    patched = _patched(row, changes, _SPAN_NULL_IGNORED)
    _check_duration(patched)
    if "cost" in changes:
        # An explicit null removes the client's cost: the span is then priced like one
        # ingested without a cost (with_span_derived re-derives it from model and tokens).
        with_client_cost(patched, changes["cost"])
    patched = with_span_derived(patched)
    await ingest_repo.run_sync(db, ingest_repo.update_spans, [patched])
    await ingest_repo.run_sync(db, ingest.refresh_traces, [trace], utcnow())
    return span_read(patched)

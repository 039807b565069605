"""Session use cases: list, detail, delete and analytics, all derived from traces."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from sightline.errors import NotFound
from sightline.identity.schemas import Scope
from sightline.kit.pagination import Page
from sightline.traces import filters as f
from sightline.traces import repository as repo
from sightline.traces.analytics.service import bucket_start, mean
from sightline.traces.rows import trace_read, union_tags
from sightline.traces.sessions import repository as sessions_repo
from sightline.traces.sessions.schemas import SessionBucket, SessionDetail, SessionSummary


def _not_found(session_id: str) -> NotFound:
    return NotFound(f"Session '{session_id}' not found.")


def _members_by_session(
    members: Iterable[Sequence[Any]],
) -> dict[str, tuple[str | None, list[str]]]:
    users: dict[str, str | None] = {}
    tags: dict[str, list[str]] = defaultdict(list)
    for session_id, user_id, trace_tags in members:
        if users.get(session_id) is None:
            users[session_id] = user_id
        tags[session_id] = union_tags(tags[session_id], trace_tags or [])
    return {sid: (users.get(sid), tags[sid]) for sid in tags}


def _summary(row: Mapping[Any, Any], user_id: str | None, tags: list[str]) -> dict[str, Any]:
    return {
        "session_id": row["session_id"],
        "trace_count": row["trace_count"],
        "first_trace_at": row["first_trace_at"],
        "last_trace_at": row["last_trace_at"],
        "total_latency_ms": row["total_latency_ms"],
        "has_error": bool(row["has_error"]),
        "user_id": user_id,
        "tags": tags,
        "total_span_count": int(row["total_span_count"]),
        "total_tokens": int(row["total_tokens"]),
        "total_cost": float(row["total_cost"]),
    }


async def list_sessions(
    db: AsyncSession,
    scope: Scope,
    filters: f.SessionFilters,
    sort_by: f.SessionSortBy,
    order: f.SortOrder,
    page: f.Page,
) -> Page[SessionSummary]:
    conditions = sessions_repo.session_conditions(scope.project_id, filters)
    rows, total = await sessions_repo.list_sessions(
        db, conditions, filters.has_error, sort_by, order, page
    )
    members = _members_by_session(
        await sessions_repo.list_members(db, conditions, [r["session_id"] for r in rows])
    )
    items = [SessionSummary(**_summary(r, *members.get(r["session_id"], (None, [])))) for r in rows]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


async def get_session(
    db: AsyncSession, scope: Scope, session_id: str, page: f.Page
) -> SessionDetail:
    row = await sessions_repo.get_summary(db, scope.project_id, session_id)
    if row is None:
        raise _not_found(session_id)
    conditions = sessions_repo.session_conditions(scope.project_id, f.SessionFilters())
    members = _members_by_session(await sessions_repo.list_members(db, conditions, [session_id]))
    traces = await sessions_repo.list_session_traces(db, scope.project_id, session_id, page)
    spans = await repo.list_spans(db, [t["trace_id"] for t in traces])
    return SessionDetail(
        **_summary(row, *members.get(session_id, (None, []))),
        traces=[trace_read(t, spans[t["trace_id"]]) for t in traces],
    )


async def delete_session(db: AsyncSession, scope: Scope, session_id: str) -> int:
    deleted = await sessions_repo.delete_session(db, scope.project_id, session_id)
    if deleted == 0:
        raise _not_found(session_id)
    return deleted


async def session_analytics(
    db: AsyncSession, scope: Scope, window: f.Window
) -> list[SessionBucket]:
    """Sessions built from the window's traces, bucketed by their first trace's start;
    a session's duration is the sum of its trace latencies."""
    rows = await sessions_repo.sessions_in_window(
        db, scope.project_id, window.started_after, window.started_before
    )
    buckets: dict[Any, list[tuple[int, float | None]]] = defaultdict(list)
    for first_at, count, latency in rows:
        buckets[bucket_start(first_at, window.granularity)].append((count, latency))
    return [
        SessionBucket(
            bucket=start.isoformat(),
            session_count=len(members),
            avg_traces_per_session=mean([c for c, _ in members]),
            avg_session_duration_ms=mean([lat for _, lat in members if lat is not None]),
        )
        for start, members in sorted(buckets.items())
    ]

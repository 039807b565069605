"""All SQL of session runs and session scores."""

from __future__ import annotations

import typing
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, Table, case, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from sightline.db.models import SessionScore, Span, Trace, TraceScore, TraceTag

SESSION = "SESSION"


# -- sessions (derived from traces) ------------------------------------------------------
def _as_datetime(value: Any) -> datetime:
    """Stored filters hold ISO strings; validated request filters hold datetimes."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def _trace_conditions(project_id: uuid.UUID, filters: dict[str, Any]) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [
        Trace.project_id == project_id,
        Trace.session_id.is_not(None),
    ]
    if filters.get("date_from") is not None:
        conditions.append(Trace.started_at >= _as_datetime(filters["date_from"]))
    if filters.get("date_to") is not None:
        conditions.append(Trace.started_at < _as_datetime(filters["date_to"]))
    if filters.get("user_id") is not None:
        conditions.append(Trace.user_id == filters["user_id"])
    if filters.get("tags"):
        tagged = select(TraceTag.trace_id).where(
            TraceTag.project_id == project_id, TraceTag.tag.in_(filters["tags"])
        )
        conditions.append(Trace.trace_id.in_(tagged))
    return conditions


def _matching_sessions(project_id: uuid.UUID, filters: dict[str, Any]) -> Select[Any]:
    """Session IDs with at least one matching trace; has_error and min_trace_count are
    judged over the matching traces (API.md §3.7)."""
    errors = func.sum(case((Trace.status == "ERROR", 1), else_=0))
    query = (
        select(Trace.session_id)
        .where(*_trace_conditions(project_id, filters))
        .group_by(Trace.session_id)
    )
    if filters.get("min_trace_count") is not None:
        query = query.having(func.count() >= filters["min_trace_count"])
    if filters.get("has_error") is True:
        query = query.having(errors > 0)
    elif filters.get("has_error") is False:
        query = query.having(errors == 0)
    return query


async def list_session_ids(
    session: AsyncSession, project_id: uuid.UUID, filters: dict[str, Any]
) -> list[str]:
    query = _matching_sessions(project_id, filters).order_by(Trace.session_id)
    return [row for row in (await session.scalars(query)).all() if row is not None]


async def list_existing_session_ids(
    session: AsyncSession, project_id: uuid.UUID, session_ids: Sequence[str]
) -> set[str]:
    query = (
        select(Trace.session_id)
        .where(Trace.project_id == project_id, Trace.session_id.in_(list(session_ids)))
        .distinct()
    )
    return {row for row in (await session.scalars(query)).all() if row is not None}


async def list_changed_session_ids(
    session: AsyncSession, project_id: uuid.UUID, filters: dict[str, Any], since: datetime
) -> list[str]:
    """Sessions in scope that received a trace (ingested) after ``since``."""
    scoped = _matching_sessions(project_id, filters).subquery()
    query = (
        select(Trace.session_id)
        .where(
            Trace.project_id == project_id,
            Trace.ingested_at > since,
            Trace.session_id.in_(select(scoped.c.session_id)),
        )
        .distinct()
    )
    return [row for row in (await session.scalars(query)).all() if row is not None]


async def list_session_traces(
    session: AsyncSession, project_id: uuid.UUID, session_id: str
) -> tuple[list[Trace], dict[uuid.UUID, list[Span]]]:
    """A session's traces in order (started_at, then id) and their spans."""
    traces = list(
        (
            await session.scalars(
                select(Trace)
                .where(Trace.project_id == project_id, Trace.session_id == session_id)
                .order_by(Trace.started_at, Trace.trace_id)
            )
        ).all()
    )
    spans: dict[uuid.UUID, list[Span]] = {t.trace_id: [] for t in traces}
    if traces:
        rows = await session.scalars(
            select(Span)
            .where(Span.trace_id.in_(list(spans)))
            .order_by(Span.started_at, Span.span_id)
        )
        for span in rows.all():
            spans[span.trace_id].append(span)
    return traces, spans


async def last_ingested_by_session(
    session: AsyncSession, project_id: uuid.UUID, session_ids: Sequence[str]
) -> dict[str, datetime]:
    query = (
        select(Trace.session_id, func.max(Trace.ingested_at))
        .where(Trace.project_id == project_id, Trace.session_id.in_(list(session_ids)))
        .group_by(Trace.session_id)
    )
    return {sid: at for sid, at in (await session.execute(query)).all() if sid is not None}


# -- scores --------------------------------------------------------------------------------


async def list_reusable_signals(
    session: AsyncSession,
    project_id: uuid.UUID,
    trace_ids: Sequence[uuid.UUID],
    names: Sequence[str],
    model: str,
) -> dict[tuple[uuid.UUID, str], TraceScore]:
    """The newest score per (trace, signal) that may stand in for a fresh computation:
    AUTOMATED, SUCCESS, NUMERIC, same judge model, in this project (API.md §6 item 13)."""
    if not trace_ids:
        return {}
    rows = await session.scalars(
        select(TraceScore)
        .where(
            TraceScore.project_id == project_id,
            TraceScore.trace_id.in_(list(trace_ids)),
            TraceScore.name.in_(list(names)),
            TraceScore.source == "AUTOMATED",
            TraceScore.status == "SUCCESS",
            TraceScore.data_type == "NUMERIC",
            TraceScore.model == model,
            TraceScore.value.is_not(None),
        )
        .order_by(TraceScore.created_at)
    )
    newest: dict[tuple[uuid.UUID, str], TraceScore] = {}
    for score in rows.all():
        newest[(score.trace_id, score.name)] = score  # ascending: the last one wins
    return newest


def _score_page_query(project_id: uuid.UUID, **filters: Any) -> Select[tuple[SessionScore]]:
    query = select(SessionScore).where(SessionScore.project_id == project_id)
    for column in ("session_id", "name", "source", "status", "eval_run_id"):
        if filters.get(column) is not None:
            query = query.where(getattr(SessionScore, column) == filters[column])
    if filters.get("date_from") is not None:
        query = query.where(SessionScore.created_at >= filters["date_from"])
    if filters.get("date_to") is not None:
        query = query.where(SessionScore.created_at < filters["date_to"])
    return query


async def list_scores(
    session: AsyncSession, project_id: uuid.UUID, *, limit: int, offset: int, **filters: Any
) -> tuple[list[SessionScore], int]:
    query = _score_page_query(project_id, **filters)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    page = await session.scalars(
        query.order_by(SessionScore.created_at.desc(), SessionScore.id).limit(limit).offset(offset)
    )
    return list(page.all()), int(total or 0)


async def list_all_scores(
    session: AsyncSession, project_id: uuid.UUID, **filters: Any
) -> list[SessionScore]:
    query = _score_page_query(project_id, **filters)
    rows = await session.scalars(query.order_by(SessionScore.created_at.desc(), SessionScore.id))
    return list(rows.all())


async def get_score(
    session: AsyncSession, project_id: uuid.UUID, score_id: uuid.UUID
) -> SessionScore | None:
    score: SessionScore | None = await session.scalar(
        select(SessionScore).where(
            SessionScore.project_id == project_id, SessionScore.id == score_id
        )
    )
    return score


_SESSION_SCORE = typing.cast(Table, SessionScore.__table__)
_UPSERT_UPDATED = ("value", "status", "reason", "metadata", "model", "updated_at")


async def upsert_session_scores(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """One automated score per (run, session, metric): a repeat replaces, never duplicates."""
    if not rows:
        return
    bind = session.bind
    assert bind is not None
    dialect_insert = postgresql.insert if bind.dialect.name == "postgresql" else sqlite.insert
    # The table, not the entity: the column is named metadata, the attribute metadata_.
    stmt = dialect_insert(_SESSION_SCORE).values(list(rows))
    stmt = stmt.on_conflict_do_update(
        index_elements=["eval_run_id", "session_id", "name"],
        set_={name: stmt.excluded[name] for name in _UPSERT_UPDATED},
    )
    await session.execute(stmt)


async def list_score_rows(
    session: AsyncSession,
    project_id: uuid.UUID,
    *,
    name: str | None = None,
    session_id: str | None = None,
    date_from: datetime | None = None,
    date_to: datetime | None = None,
) -> list[SessionScore]:
    """Scores for analytics, oldest first; the maths is done in Python so that both
    databases give identical answers (medians, buckets)."""
    query = _score_page_query(
        project_id, name=name, session_id=session_id, date_from=date_from, date_to=date_to
    )
    rows = await session.scalars(query.order_by(SessionScore.created_at, SessionScore.id))
    return list(rows.all())

"""The export's one statement: a keyset page of traces under the list's filters.

Pages are ordered by (started_at, trace_id), a unique key, and each page starts strictly
after the last row of the previous one, so no trace repeats or is skipped between pages,
whatever is ingested meanwhile (only a trace re-posted mid-export with another start time
moves across the cursor, as it would in any snapshot-per-page read). OFFSET pages would
re-read every earlier row on each page and shift when traces arrive. started_at leads the
key because every trace index is (project_id, [filter column,] started_at): the page is a
range scan of the index the filter would use anyway. trace_id is not in those indexes, so
it only breaks ties; the `started_at >=` bound keeps the range usable by the index, and
the OR skips the tied rows already sent.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from sightline.traces.filters import TraceFilters
from sightline.traces.repository import T, trace_conditions, trace_table

Cursor = tuple[datetime, uuid.UUID]


async def trace_page(
    db: AsyncSession,
    project_id: uuid.UUID,
    filters: TraceFilters,
    after: Cursor | None,
    limit: int,
) -> list[RowMapping]:
    conditions = trace_conditions(project_id, filters)
    if after is not None:
        started_at, trace_id = after
        conditions.append(T.started_at >= started_at)
        conditions.append(or_(T.started_at > started_at, T.trace_id > trace_id))
    stmt = select(trace_table).where(*conditions).order_by(T.started_at, T.trace_id).limit(limit)
    return list((await db.execute(stmt)).mappings())


def cursor_of(row: RowMapping) -> Cursor:
    return row["started_at"], row["trace_id"]

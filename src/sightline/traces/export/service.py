"""GET /traces/export: the traces matching the list's filters, as JSONL or CSV.

The pages are read while the response streams, after the route has returned (a request's
DbDep transaction is closed by then), so each page is read in a session of its own, opened
and closed around the page's queries (reads only: nothing to commit) and never held while
the client is slow to take the bytes. Consecutive pages are separate snapshots: a trace
deleted mid-export may be missing, one ingested mid-export may appear; the keyset order
(repository.py) keeps any from being sent twice.

Rows:
- JSONL: the GET /traces/{trace_id} shape (TraceRead), spans included unless
  `include_spans=false`, so a row parses like the detail endpoint's answer and an export is
  a complete copy of the project's traces. Without spans a row is a fraction of the size
  (agent traces carry most of their payload in spans); the `spans` key is then absent
  rather than an empty list, which would read as "no spans".
- CSV: one row per trace, the list's columns (TraceListItem) then input, output and
  metadata as JSON text. Spans do not fit one row per trace, so `include_spans=true` with
  CSV is refused instead of silently ignored.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlalchemy.engine import RowMapping

from sightline.db.session import SessionFactory
from sightline.errors import DomainValidationError
from sightline.kit.export import ExportFormat, csv_rows, json_text, jsonl
from sightline.traces import repository as traces_repo
from sightline.traces.export import repository as repo
from sightline.traces.filters import TraceFilters
from sightline.traces.rows import trace_list_item, trace_read
from sightline.traces.schemas import TraceListItem

# Traces per page: large enough that per-query overhead is small. With spans a trace is
# ~10 rows and most of the payload (agent traces), so its pages are smaller: 500 traces with
# their spans held ~40 MB at once in bench/export.py, 100 about a fifth of that, no slower.
PAGE_ROWS = 500
PAGE_ROWS_WITH_SPANS = 100

LIST_FIELDS = tuple(TraceListItem.model_fields)
JSON_FIELDS = ("input", "output", "metadata")
CSV_COLUMNS = (*LIST_FIELDS, *JSON_FIELDS)

Spans = dict[uuid.UUID, list[RowMapping]]


def export_traces(
    factory: SessionFactory,
    project_id: uuid.UUID,
    filters: TraceFilters,
    fmt: ExportFormat,
    include_spans: bool | None,
) -> AsyncIterator[bytes]:
    """The file's bytes, a page at a time. Checked before anything is streamed, so a bad
    combination is a 422 and not a truncated file."""
    if fmt is ExportFormat.csv:
        if include_spans:
            raise DomainValidationError(
                "include_spans: CSV has one row per trace and no spans; "
                "use format=jsonl to export spans."
            )
        return _csv(factory, project_id, filters)
    return _jsonl(factory, project_id, filters, with_spans=include_spans is not False)


async def _pages(
    factory: SessionFactory, project_id: uuid.UUID, filters: TraceFilters, with_spans: bool
) -> AsyncIterator[tuple[list[RowMapping], Spans]]:
    size = PAGE_ROWS_WITH_SPANS if with_spans else PAGE_ROWS
    after: repo.Cursor | None = None
    while True:
        async with factory() as db:
            rows = await repo.trace_page(db, project_id, filters, after, size)
            spans: Spans = {}
            if with_spans and rows:
                spans = await traces_repo.list_spans(db, [r["trace_id"] for r in rows])
        if not rows:
            return
        yield rows, spans
        if len(rows) < size:
            return
        after = repo.cursor_of(rows[-1])


async def _jsonl(
    factory: SessionFactory, project_id: uuid.UUID, filters: TraceFilters, *, with_spans: bool
) -> AsyncIterator[bytes]:
    exclude = None if with_spans else {"spans"}
    async for rows, spans in _pages(factory, project_id, filters, with_spans):
        yield jsonl((trace_read(r, spans.get(r["trace_id"], ())) for r in rows), exclude=exclude)


def _csv_row(row: RowMapping) -> Sequence[Any]:
    item = trace_list_item(row).model_dump(mode="json")
    json_values = (row["input"], row["output"], row["metadata"] or {})  # as in TraceRead
    return [*(item[name] for name in LIST_FIELDS), *(json_text(v) for v in json_values)]


async def _csv(
    factory: SessionFactory, project_id: uuid.UUID, filters: TraceFilters
) -> AsyncIterator[bytes]:
    header = csv_rows([CSV_COLUMNS])  # sent with the first page (see kit/export.py)
    async for rows, _ in _pages(factory, project_id, filters, with_spans=False):
        yield header + csv_rows(_csv_row(r) for r in rows)
        header = b""
    if header:  # no trace matched: the header alone
        yield header

"""File exports shared by every domain: the formats, how a chunk of rows is encoded, and
the streaming response.

A domain's export service reads its rows a keyset page at a time and yields the encoded
bytes of each page (a CSV's header goes with the first page); nothing here holds more than
one page, so an export's memory does not grow with the number of rows. JSONL rows are the
API's response models as the endpoints serialise them; CSV cells are the same JSON values
flattened (objects and arrays as JSON text, null as an empty cell), so both formats carry
the same values.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from pydantic_core import to_json


class ExportFormat(StrEnum):
    jsonl = "jsonl"
    csv = "csv"


# `format` is the public name; the Python parameter is not called that (a builtin).
FormatQuery = Annotated[ExportFormat, Query(alias="format")]

MEDIA_TYPES = {ExportFormat.jsonl: "application/x-ndjson", ExportFormat.csv: "text/csv"}

# For the OpenAPI page: the 200 is a file, not JSON.
EXPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A file: one JSON object per line, or CSV with a header row.",
        "content": {media: {} for media in MEDIA_TYPES.values()},
    }
}


def jsonl(models: Iterable[BaseModel], *, exclude: set[str] | None = None) -> bytes:
    return b"".join(m.model_dump_json(exclude=exclude).encode() + b"\n" for m in models)


def json_text(value: Any) -> str | None:
    """A JSON column's cell: the value as JSON text, so a string stays distinguishable from
    a number ("5" from 5); null stays an empty cell. pydantic-core's encoder, as for JSONL
    rows: it also writes integers beyond 64 bits, which stored JSON may hold."""
    return None if value is None else to_json(value).decode()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):  # before int: bool is an int
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return to_json(value).decode()
    return str(value)


def csv_rows(rows: Iterable[Sequence[Any]]) -> bytes:
    """Rows of JSON values (as `model_dump(mode="json")` gives them) as CSV lines."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180
    writer.writerows([_cell(v) for v in row] for row in rows)
    return buffer.getvalue().encode()


def csv_records(models: Iterable[BaseModel], columns: Sequence[str]) -> bytes:
    dumped = (m.model_dump(mode="json") for m in models)
    return csv_rows([d[c] for c in columns] for d in dumped)


async def _chain(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield first
    async for chunk in rest:
        yield chunk


async def export_response(
    body: AsyncIterator[bytes], fmt: ExportFormat, stem: str
) -> StreamingResponse:
    """An attachment named `<stem>-<UTC time>.<format>`. The first page is read before the
    response starts: once the 200 and its headers are sent, an error can only cut the file
    short, so a failure of the first query (the likeliest place, e.g. the database being
    down) still answers with a status and the error envelope."""
    first = await anext(body, b"")
    filename = f"{stem}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.{fmt.value}"
    return StreamingResponse(
        _chain(first, body),
        media_type=MEDIA_TYPES[fmt],
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            # Each export is a snapshot of live data; a cached copy would be stale.
            "Cache-Control": "no-store",
        },
    )

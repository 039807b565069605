"""The SQLite bulk insert stores exactly what SQLAlchemy's own bind processors store."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import create_engine

from sightline.db.engine import json_dumps
from sightline.db.sqlite_bulk import converter
from sightline.traces.repository import span_table, tag_table, trace_table

SAMPLES: list[Any] = [
    None,
    uuid.UUID("12345678-1234-5678-1234-567812345678"),
    datetime(2026, 1, 2, 3, 4, 5),
    datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
    datetime(999, 12, 31, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-5))),
    {"messages": [{"role": "user", "content": "hi \u00e9"}], "n": 2**70},
    ["a", "b"],
    "text",
    12,
    0.5,
]


@pytest.mark.parametrize("table", [trace_table, span_table, tag_table], ids=lambda t: t.name)
def test_converters_match_sqlalchemy(table: Any) -> None:
    dialect = create_engine("sqlite://", json_serializer=json_dumps).dialect
    for column in table.c:
        ours = converter(column, dialect)
        theirs = column.type.dialect_impl(dialect).bind_processor(dialect)
        checked = 0
        for value in SAMPLES:
            try:
                expected = value if theirs is None else theirs(value)
            except (AttributeError, TypeError, ValueError):
                continue  # not a value of this column's type
            checked += 1
            got = value if ours is None else ours(value)
            assert got == expected, (column.name, value)
        assert checked >= 2, column.name

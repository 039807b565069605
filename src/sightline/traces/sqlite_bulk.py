"""Bulk `INSERT OR IGNORE ... RETURNING` for SQLite, without SQLAlchemy's per-row work.

It sends the statement SQLAlchemy itself sends for an executemany with RETURNING (one
multi-row VALUES per chunk), but converts the values in one tight loop: SQLAlchemy's
per-row parameter handling and its generic bind processors cost more than SQLite's insert.
The converters store exactly what the column types' bind processors store on SQLite (a
test in tests/traces compares them); a column of any other type uses its own processor.
"""

from __future__ import annotations

import functools
import itertools
import operator
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, Table
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection, Dialect

from sightline.db.engine import json_dumps
from sightline.db.types import UTCDateTime

Convert = Callable[[Any], Any]
Params = tuple[Any, ...]

# Bind processors do not depend on the connection's dialect options (JSON is ours).
_SQLITE: Dialect = sqlite.dialect()  # type: ignore[no-untyped-call]

# SQLITE_MAX_VARIABLE_NUMBER since SQLite 3.32 (RETURNING needs 3.35).
MAX_PARAMS = 32766


def _utc_datetime(value: datetime | None) -> str | None:
    """UTCDateTime then SQLite's DATETIME: naive UTC as `YYYY-MM-DD HH:MM:SS.ffffff`."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.isoformat(" ", "microseconds")
    return value.astimezone(UTC).isoformat(" ", "microseconds")[:-6]  # without +00:00


def converter(column: Column[Any], dialect: Dialect) -> Convert | None:
    kind = column.type
    if isinstance(kind, UTCDateTime):
        return _utc_datetime
    if isinstance(kind, JSON) and not kind.none_as_null:
        return json_dumps  # None is stored as JSON null, as SQLAlchemy does
    processor: Convert | None = kind.dialect_impl(dialect).bind_processor(dialect)
    return processor


@functools.cache
def _encoder(table: Table) -> tuple[list[str], Callable[[Mapping[str, Any]], Params]]:
    """Column names and a function turning a full row into SQLite parameters in their order."""
    names = [column.name for column in table.c]
    values_of = operator.itemgetter(*names)
    converted = [
        (position, convert)
        for position, column in enumerate(table.c)
        if (convert := converter(column, _SQLITE)) is not None
    ]

    def encode(row: Mapping[str, Any]) -> Params:
        values = list(values_of(row))
        for position, convert in converted:
            values[position] = convert(values[position])
        return tuple(values)

    return names, encode


def encode(table: Table, row: Mapping[str, Any]) -> Params:
    return _encoder(table)[1](row)


def encode_all(table: Table, rows: Sequence[Mapping[str, Any]]) -> list[Params]:
    encode_row = _encoder(table)[1]
    return [encode_row(row) for row in rows]


def insert_or_ignore(
    conn: Connection,
    table: Table,
    key: str,
    rows: Sequence[Mapping[str, Any]],
    params: Sequence[Params] | None = None,
) -> set[Any]:
    """Inserts the rows (each has every column) whose key is new; returns their keys.
    `params` are the same rows already encoded, when the caller had time to do it earlier."""
    names, _ = _encoder(table)
    encoded = encode_all(table, rows) if params is None else params
    dialect = conn.dialect
    to_key = table.c[key].type.dialect_impl(dialect).result_processor(dialect, None)
    quote = dialect.identifier_preparer.quote
    columns = ", ".join(quote(name) for name in names)
    placeholders = f"({', '.join('?' * len(names))})"
    per_statement = MAX_PARAMS // len(names)
    inserted: set[Any] = set()
    for start in range(0, len(encoded), per_statement):
        chunk = encoded[start : start + per_statement]
        sql = (
            f"INSERT OR IGNORE INTO {quote(table.name)} ({columns}) VALUES "
            f"{', '.join([placeholders] * len(chunk))} RETURNING {quote(key)}"
        )
        flat = tuple(itertools.chain.from_iterable(chunk))
        found = conn.exec_driver_sql(sql, flat).scalars().all()
        if len(found) == len(chunk):  # all new, the common case: no need to read the keys
            inserted.update(row[key] for row in rows[start : start + per_statement])
        else:
            inserted.update(found if to_key is None else map(to_key, found))
    return inserted

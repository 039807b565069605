"""Bulk `INSERT OR IGNORE` for SQLite, without SQLAlchemy's per-row work.

It sends one multi-row VALUES statement per chunk (as SQLAlchemy's own executemany with
RETURNING does), but converts the values in one tight loop: SQLAlchemy's per-row parameter
handling and its generic bind processors cost more than SQLite's insert. The converters
store exactly what the column types' bind processors store on SQLite (a test in
tests/traces compares them); a column of any other type uses its own processor.

No RETURNING and no executemany: the sqlite3 module releases the GIL around every step
and takes it back afterwards, and RETURNING steps once per row, as executemany does. In the
server the event loop holds the GIL most of the time, so each of those hand-backs waits for
it: a 400-trace group paid for thousands of them. Instead, the keys that already exist are
read first (indexed `IN` queries of up to 32,766 keys, which also warm the pages the insert
touches), and the insert's row count confirms that nothing appeared in between.
"""

from __future__ import annotations

import functools
import itertools
import operator
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, Table, Uuid
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
    if value.tzinfo is not UTC:  # validated timestamps are UTC already
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:-6]  # without +00:00


def _uuid_hex(value: uuid.UUID | None) -> str | None:
    """Uuid on SQLite (CHAR(32)): the hex digits."""
    return None if value is None else value.hex


def converter(column: Column[Any], dialect: Dialect) -> Convert | None:
    kind = column.type
    if isinstance(kind, UTCDateTime):
        return _utc_datetime
    if isinstance(kind, JSON) and not kind.none_as_null:
        return json_dumps  # None is stored as JSON null, as SQLAlchemy does
    if isinstance(kind, Uuid) and kind.as_uuid and not kind.native_uuid:
        return _uuid_hex
    processor: Convert | None = kind.dialect_impl(dialect).bind_processor(dialect)
    return processor


@functools.cache
def _encoder(table: Table) -> tuple[list[str], Callable[[Mapping[str, Any]], Params]]:
    """Column names and a function turning a full row into SQLite parameters in their order."""
    names = [column.name for column in table.c]
    values_of = operator.itemgetter(*names)
    # (position, converter, what it makes of None): None is common (optional span fields)
    # and a test costs less than a call.
    converted = [
        (position, convert, convert(None))
        for position, column in enumerate(table.c)
        if (convert := converter(column, _SQLITE)) is not None
    ]

    def encode(row: Mapping[str, Any]) -> Params:
        values = list(values_of(row))
        for position, convert, none in converted:
            value = values[position]
            values[position] = none if value is None else convert(value)
        return tuple(values)

    return names, encode


def encode(table: Table, row: Mapping[str, Any]) -> Params:
    return _encoder(table)[1](row)


def encode_all(table: Table, rows: Sequence[Mapping[str, Any]]) -> list[Params]:
    encode_row = _encoder(table)[1]
    return [encode_row(row) for row in rows]


class RowsAppeared(Exception):
    """Another connection inserted some of the keys between the read and the insert (only
    possible outside the trace writer, whose transactions begin IMMEDIATE)."""


def _statement(table: Table, names: Sequence[str], rows: int, dialect: Dialect) -> str:
    quote = dialect.identifier_preparer.quote
    placeholders = f"({', '.join('?' * len(names))})"
    columns = ", ".join(quote(name) for name in names)
    values = ", ".join([placeholders] * rows)
    return f"INSERT OR IGNORE INTO {quote(table.name)} ({columns}) VALUES {values}"


def insert_all(conn: Connection, table: Table, rows: Sequence[Params]) -> int:
    """Inserts encoded rows (every column, in table order), skipping existing keys;
    returns how many were inserted."""
    names, _ = _encoder(table)
    per_statement = MAX_PARAMS // len(names)
    inserted = 0
    for start in range(0, len(rows), per_statement):
        chunk = rows[start : start + per_statement]
        sql = _statement(table, names, len(chunk), conn.dialect)
        inserted += conn.exec_driver_sql(sql, tuple(itertools.chain.from_iterable(chunk))).rowcount
    return inserted


def _existing_keys(conn: Connection, table: Table, key: str, keys: Sequence[Any]) -> set[Any]:
    quote = conn.dialect.identifier_preparer.quote
    found: set[Any] = set()
    for start in range(0, len(keys), MAX_PARAMS):
        chunk = tuple(keys[start : start + MAX_PARAMS])
        sql = (
            f"SELECT {quote(key)} FROM {quote(table.name)} "
            f"WHERE {quote(key)} IN ({', '.join('?' * len(chunk))})"
        )
        found.update(conn.exec_driver_sql(sql, chunk).scalars())
    return found


def insert_or_ignore(
    conn: Connection,
    table: Table,
    key: str,
    rows: Sequence[Mapping[str, Any]],
    params: Sequence[Params] | None = None,
) -> set[Any]:
    """Inserts the rows (each has every column) whose key is new; returns their keys.
    `params` are the same rows already encoded, when the caller had time to do it earlier.
    Raises RowsAppeared when a key was inserted by someone else meanwhile."""
    names, _ = _encoder(table)
    encoded = encode_all(table, rows) if params is None else params
    position = names.index(key)
    existing = _existing_keys(conn, table, key, [values[position] for values in encoded])
    new = [
        (row, values)
        for row, values in zip(rows, encoded, strict=True)
        if values[position] not in existing
    ]
    if insert_all(conn, table, [values for _, values in new]) != len(new):
        raise RowsAppeared
    return {row[key] for row, _ in new}

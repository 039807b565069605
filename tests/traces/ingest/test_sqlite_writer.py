"""The SQLite trace writer's transactions and bulk insert, on a real migrated database file.

A concurrent insert between the bulk insert's read of existing keys and its INSERT is made
to happen for real: SQLite's statement trace hook runs a second connection's insert at the
moment the first connection begins its write transaction.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, event, text

from sightline.config import Settings
from sightline.db import migrate, sqlite_bulk
from sightline.db.engine import create_sqlite_writer_engine
from sightline.traces.ingest import service as ingest
from sightline.traces.repository import trace_table
from sightline.traces.schemas import TraceCreate
from tests.conftest import in_thread

PROJECT = uuid.UUID("00000000-0000-0000-0000-0000000000aa")
NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = Settings(data_dir=tmp_path, environment="test")
    in_thread(lambda: migrate.upgrade(settings.resolved_database_url))  # runs its own loop
    with sqlite3.connect(tmp_path / "sightline.db") as db:
        org = uuid.uuid4().hex
        db.execute("INSERT INTO organization VALUES (?, 'org', '2026-01-01 00:00:00')", (org,))
        db.execute(
            "INSERT INTO project VALUES (?, ?, 'p', '2026-01-01 00:00:00')", (PROJECT.hex, org)
        )
    return settings


@pytest.fixture
def plain_engine(settings: Settings) -> Iterator[Engine]:
    """The sqlite3 module's default transactions, as the request sessions have them."""
    url = settings.resolved_database_url.replace("+aiosqlite", "")
    engine = create_engine(url, connect_args={"timeout": 0})
    yield engine
    engine.dispose()


def _trace(name: str, trace_id: uuid.UUID | None = None) -> ingest.NewTrace:
    trace = TraceCreate.model_validate(
        {
            "trace_id": str(trace_id or uuid.uuid4()),
            "name": name,
            "started_at": "2026-01-01T00:00:00Z",
            "spans": [{"name": "step", "started_at": "2026-01-01T00:00:01Z"}],
        }
    )
    return ingest.new_trace(trace, PROJECT, NOW, sqlite=True)


def _names(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT trace_id, name FROM trace")).all()
    return {trace_id: name for trace_id, name in rows}


def _insert_from_another_connection_at_begin(engine: Engine, trace: ingest.NewTrace) -> list[bool]:
    """Inserts `trace` through a second connection when the first one next BEGINs; the
    returned list holds True once that happened."""
    fired: list[bool] = []

    def on_statement(sql: str) -> None:
        if sql.startswith("BEGIN") and not fired:
            fired.append(True)
            with sqlite3.connect(engine.url.database or "") as other:
                columns = ", ".join("?" * len(trace_table.c))
                other.execute(
                    f"INSERT INTO trace VALUES ({columns})",
                    sqlite_bulk.encode(trace_table, trace.row),
                )

    @event.listens_for(engine, "connect")
    def trace_statements(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.set_trace_callback(on_statement)

    return fired


def test_writer_transactions_take_the_write_lock_at_begin(settings: Settings) -> None:
    engine = create_sqlite_writer_engine(settings)
    try:
        with engine.connect() as conn, conn.begin():
            other = sqlite3.connect(settings.data_dir / "sightline.db", timeout=0)
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
            other.close()
    finally:
        engine.dispose()


def test_insert_or_ignore_returns_only_the_new_keys(settings: Settings) -> None:
    engine = create_sqlite_writer_engine(settings)
    first, second, third = _trace("first"), _trace("second"), _trace("third")
    renamed = _trace("renamed", first.trace.trace_id)
    try:
        with engine.connect() as conn, conn.begin():
            added = sqlite_bulk.insert_or_ignore(
                conn, trace_table, "trace_id", [first.row, second.row]
            )
            assert added == {first.trace.trace_id, second.trace.trace_id}
        with engine.connect() as conn, conn.begin():
            added = sqlite_bulk.insert_or_ignore(
                conn, trace_table, "trace_id", [renamed.row, third.row]
            )
            assert added == {third.trace.trace_id}
        names = _names(engine)
        assert names[first.trace.trace_id.hex] == "first"  # ignored, not overwritten
        assert len(names) == 3
    finally:
        engine.dispose()


def test_a_key_inserted_meanwhile_is_reported(plain_engine: Engine) -> None:
    raced, fresh = _trace("raced"), _trace("fresh")
    fired = _insert_from_another_connection_at_begin(plain_engine, raced)
    with (
        plain_engine.connect() as conn,
        conn.begin(),
        pytest.raises(sqlite_bulk.RowsAppeared),
    ):
        sqlite_bulk.insert_or_ignore(conn, trace_table, "trace_id", [raced.row, fresh.row])
    assert fired == [True]


def test_ingestion_retries_a_raced_trace_as_a_merge(plain_engine: Engine) -> None:
    """The other connection stored the trace first: ours merges into it on the retry."""
    ours = _trace("ours")
    theirs = _trace("theirs", ours.trace.trace_id)
    fired = _insert_from_another_connection_at_begin(plain_engine, theirs)
    with plain_engine.connect() as conn, conn.begin():
        ingest.upsert_traces(conn, PROJECT, [ours], NOW)
    assert fired == [True]
    assert _names(plain_engine) == {ours.trace.trace_id.hex: "ours"}
    with plain_engine.connect() as conn:
        spans = conn.execute(text("SELECT count(*) FROM span")).scalar_one()
    assert spans == 1

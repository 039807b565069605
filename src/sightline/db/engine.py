"""Engine construction: SQLite pragmas or a PostgreSQL pool, in one place."""

from __future__ import annotations

import json
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from sightline.config import Settings


def _sqlite_pragmas(dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_conn.cursor()
    # WAL lets readers proceed while one writer commits; busy_timeout makes writers queue
    # instead of failing with "database is locked"; NORMAL sync is safe under WAL.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


def json_dumps(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # integers beyond 64 bits, which the json module still handles
        return json.dumps(value)


def json_loads(value: Any) -> Any:
    # SQLite gives a column declared JSON numeric affinity: a payload that is a bare number
    # (an `output` of 0) is stored as that number and read back as int or float, not as
    # text. SQLite converts only when it is lossless, so the number is the value written.
    if isinstance(value, int | float):
        return value
    return orjson.loads(value)


def create_engine(settings: Settings) -> AsyncEngine:
    url = settings.resolved_database_url
    # orjson: JSON columns are most of what ingestion and trace reads spend time on.
    kwargs: dict[str, Any] = {"json_serializer": json_dumps, "json_deserializer": json_loads}
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": 30}
    else:
        kwargs.update(
            pool_size=settings.db_pool_size, max_overflow=settings.db_pool_size, pool_pre_ping=True
        )
    engine = create_async_engine(url, **kwargs)
    if url.startswith("sqlite"):
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def create_sqlite_writer_engine(settings: Settings) -> Engine:
    """A synchronous engine on the same SQLite file, for a writer that runs whole
    transactions in one thread: through aiosqlite every statement, fetch and commit is a
    round trip to its thread, which costs more than SQLite's own work on small writes."""
    url = settings.resolved_database_url.replace("sqlite+aiosqlite", "sqlite+pysqlite", 1)
    engine = create_sync_engine(
        url,
        json_serializer=json_dumps,
        json_deserializer=json_loads,
        # Made, used and closed by the writer's thread; the flag only spares a check.
        connect_args={"timeout": 30, "check_same_thread": False},
        pool_size=1,
        max_overflow=0,
    )
    event.listen(engine, "connect", _sqlite_pragmas)
    event.listen(engine, "connect", _no_implicit_begin)
    event.listen(engine, "begin", _begin_immediate)
    return engine


def _no_implicit_begin(dbapi_conn: Any, _record: ConnectionPoolEntry) -> None:
    dbapi_conn.isolation_level = None  # the sqlite3 module would BEGIN before the first DML


def _begin_immediate(conn: Connection) -> None:
    """The writer reads keys and then writes in one transaction: taking the write lock at
    BEGIN keeps anyone else from writing in between. This is the recipe of SQLAlchemy's
    pysqlite docs: the sqlite3 module's implicit BEGIN is off and SQLAlchemy begins."""
    conn.exec_driver_sql("BEGIN IMMEDIATE")

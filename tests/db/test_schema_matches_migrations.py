"""The ORM models and the Alembic migrations describe the same schema, on both databases.

A database built with `alembic upgrade head` (the `database_url` fixture) is compared with
`Base.metadata` by Alembic's autogenerate: a table, column, column type, nullability, server
default, index, unique constraint or foreign key (with its ON DELETE) that one side has and
the other lacks fails the test, which lists every difference. An empty diff also means that
`alembic revision --autogenerate` would currently write an empty migration.

Type comparison is only as fine as the database keeps types: SQLite stores JSON and
timestamps without the JSONB / time zone distinction, so those are checked on PostgreSQL.
"""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Connection, ForeignKeyConstraint, Index, MetaData, Table, pool
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.schema import Constraint

from sightline.db.models import Base

VERSION_TABLE = "alembic_version"


def _include_name(name: str | None, type_: str, _parent_names: Any) -> bool:
    """Alembic's own bookkeeping table is not part of the models."""
    return not (type_ == "table" and name == VERSION_TABLE)


def schema_diff(connection: Connection, metadata: MetaData) -> list[Any]:
    """Alembic's autogenerate diff between the live database and `metadata`."""
    context = MigrationContext.configure(
        connection,
        opts={
            "compare_type": True,
            # Neither the models nor the migrations declare server defaults (defaults are
            # Python-side), so this only fails if one side gains one: no false positives.
            "compare_server_default": True,
            "include_name": _include_name,
            "version_table": VERSION_TABLE,
        },
    )
    diff: list[Any] = compare_metadata(context, metadata)
    return diff


def _describe(item: Any) -> str:
    if isinstance(item, Table):
        return f"table {item.name}"
    if isinstance(item, Column):
        return f"column {item.table.name}.{item.name} {item.type!r} nullable={item.nullable}"
    if isinstance(item, Index):
        table = item.table.name if item.table is not None else "?"
        columns = ", ".join(str(e) for e in item.expressions)
        return f"index {table}.{item.name} ({columns}) unique={bool(item.unique)}"
    if isinstance(item, ForeignKeyConstraint):
        targets = ", ".join(e.target_fullname for e in item.elements)
        return (
            f"foreign key {item.table.name}.{item.name} ({', '.join(item.column_keys)}) "
            f"-> {targets} ondelete={item.ondelete}"
        )
    if isinstance(item, Constraint):
        columns = ", ".join(c.name for c in getattr(item, "columns", []))
        return f"{type(item).__name__} {item.table.name}.{item.name} ({columns})"
    return repr(item)


def format_change(change: tuple[Any, ...]) -> str:
    """`add_*`: only the models have it; `remove_*`: only the migrated database has it;
    `modify_*`: both have it but the database says `old` and the models say `new`."""
    kind = change[0]
    if kind.startswith("modify_"):
        _, _schema, table, column, _existing, old, new = change
        return f"{kind} {table}.{column}: migrations {old!r}, models {new!r}"
    if kind in ("add_column", "remove_column"):
        return f"{kind} {_describe(change[3])}"
    return f"{kind} {_describe(change[1])}"


def format_diff(diff: list[Any]) -> str:
    """One line per difference; Alembic groups the `modify_*` changes of a column in a list."""
    changes = [c for entry in diff for c in (entry if isinstance(entry, list) else [entry])]
    return "\n".join(f"  {format_change(c)}" for c in changes)


async def diff_against(database_url: str, metadata: MetaData) -> list[Any]:
    engine = create_async_engine(database_url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(schema_diff, metadata)
    finally:
        await engine.dispose()


async def test_models_match_migrations(database_url: str) -> None:
    diff = await diff_against(database_url, Base.metadata)
    assert not diff, (
        "The ORM models and the migrated schema differ; write a migration or fix the model "
        "(add_* = only in the models, remove_* = only in the migrations):\n" + format_diff(diff)
    )

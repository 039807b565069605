"""Settings that a user writes by hand are read the way they mean them."""

from __future__ import annotations

from pathlib import Path

import pytest

from sightline.config import Settings


@pytest.mark.parametrize(
    ("given", "resolved"),
    [
        ("postgresql://u@h:5432/db", "postgresql+asyncpg://u@h:5432/db"),
        ("postgres://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("sqlite:////tmp/x.db", "sqlite+aiosqlite:////tmp/x.db"),
        ("sqlite+aiosqlite:////tmp/x.db", "sqlite+aiosqlite:////tmp/x.db"),
    ],
)
def test_a_database_url_without_a_driver_gets_the_async_one(given: str, resolved: str) -> None:
    assert Settings(database_url=given).resolved_database_url == resolved


def test_without_a_url_the_database_is_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.resolved_database_url == f"sqlite+aiosqlite:///{tmp_path / 'sightline.db'}"
    assert settings.is_sqlite

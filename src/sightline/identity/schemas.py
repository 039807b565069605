from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

PROJECT_NAME_RULE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9 _.'\-]{0,253}[A-Za-z0-9])?$")


@dataclass(frozen=True, slots=True)
class Scope:
    """Who is calling: every data-plane query is filtered by these two IDs."""

    org_id: uuid.UUID
    project_id: uuid.UUID
    key_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class CreatedKey:
    id: uuid.UUID
    org_id: uuid.UUID
    name: str
    raw_key: str
    key_prefix: str

"""Query-parameter types shared by list and analytics endpoints (pagination: pagination.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from sightline.kit.types import CleanStr, Timestamp

DateQuery = Annotated[Timestamp | None, Query()]
TextQuery = Annotated[CleanStr | None, Query(max_length=255)]
MetricNameQuery = Annotated[CleanStr, Query(min_length=1, max_length=255)]

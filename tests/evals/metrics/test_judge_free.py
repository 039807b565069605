"""A judge-free run (deterministic checks only) loads its traces in bulk as plain rows:
the view it builds is the one the ORM path builds, and a trace deleted after the run was
created is a target_missing pair, as in any run."""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI

from sightline.engine.trace.evaluator import to_trace_view
from sightline.engine.trace.rows import SPAN_FIELDS, TRACE_FIELDS, rows_view
from sightline.traces import repository as traces_repo
from tests.conftest import Tenant
from tests.evals.metrics.helpers import define, post_trace, run_scores, say


def test_the_row_order_is_the_repository_s() -> None:
    assert SPAN_FIELDS == traces_repo.VIEW_SPAN_FIELDS
    assert TRACE_FIELDS == traces_repo.VIEW_TRACE_FIELDS


async def test_row_views_equal_orm_views(
    et: Tenant, eval_app: FastAPI, eval_client: httpx.AsyncClient
) -> None:
    ids = [
        uuid.UUID(await post_trace(eval_client, output=say("Hi."), tools=("a", "b"), error_spans=1))
        for _ in range(3)
    ]
    trace = (await eval_client.get(f"/traces/{ids[0]}")).json()
    project_id = uuid.UUID(trace["project_id"])
    async with eval_app.state.session_factory() as db:
        orm = await traces_repo.load_traces(db, project_id, ids)
        rows = await traces_repo.load_trace_rows(db, project_id, ids)
    assert set(orm) == set(rows) == set(ids)
    for trace_id in ids:
        assert rows_view(*rows[trace_id]) == to_trace_view(*orm[trace_id])


async def test_many_traces_in_one_judge_free_run(
    et: Tenant, eval_client: httpx.AsyncClient
) -> None:
    await define(eval_client, "short", "threshold", {"measure": "span_count", "max": 3})
    ids = [await post_trace(eval_client, tools=("a",) * (n % 3)) for n in range(150)]
    run, scores = await run_scores(eval_client, ids, ["short"])
    assert run["status"] == "COMPLETED" and run["evaluated_count"] == 150
    for n, trace_id in enumerate(ids):  # 2 spans plus n % 3 tools: 4 spans fail
        assert scores[(trace_id, "short")]["value"] == ("false" if n % 3 == 2 else "true")

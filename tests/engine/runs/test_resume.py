"""A server start resumes unfinished runs; pairs a dead worker held are reclaimed once its
lease expires, and are scored exactly once."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from sightline.db.models import EvalTask
from sightline.db.session import transaction
from sightline.db.types import utcnow
from sightline.evals.runs import service
from tests.conftest import Tenant, make_settings, running_app
from tests.evals.conftest import judge_overrides
from tests.evals.factories import create_traces, wait_for_run
from tests.fakes.openai_server import FakeJudgeServer


class _Parked:
    """A queue that keeps messages (as if the process died before delivering them)."""

    def __init__(self) -> None:
        self.run_ids: list[uuid.UUID] = []

    def enqueue(self, run_id: uuid.UUID) -> None:
        self.run_ids.append(run_id)

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass


async def test_start_up_resumes_a_crashed_run(
    et: Tenant,
    eval_client: httpx.AsyncClient,
    eval_app: FastAPI,
    judge: FakeJudgeServer,
    database_url: str,
    tmp_path: Path,
) -> None:
    trace_ids = await create_traces(eval_client, 4)
    parked = _Parked()
    async with transaction(eval_app.state.session_factory) as session:
        project = await _project_id(eval_client)
        run = await service.create_trace_run(
            session,
            project,
            settings=eval_app.state.settings,
            queue=parked,
            metrics=["task_completion", "confidence"],
            trace_ids=[uuid.UUID(t) for t in trace_ids],
        )
    assert parked.run_ids == [run.id]
    now = utcnow()
    async with transaction(eval_app.state.session_factory) as session:
        # A dead worker held the first trace (lease expired) and the second (still leased).
        for target, lease in ((trace_ids[0], -60), (trace_ids[1], 2)):
            await session.execute(
                update(EvalTask)
                .where(EvalTask.run_id == run.id, EvalTask.target_id == target)
                .values(status="RUNNING", lease_expires_at=now + timedelta(seconds=lease))
            )

    settings = make_settings(database_url, tmp_path, **judge_overrides(judge))
    async with running_app(settings) as restarted:
        transport = httpx.ASGITransport(app=restarted)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://t", headers=et.headers()
        ) as client:
            finished = await wait_for_run(client, str(run.id))
            scores = (await client.get(f"/evaluations/trace-runs/{run.id}/scores")).json()
    assert finished["status"] == "COMPLETED" and finished["evaluated_count"] == 4
    assert sorted((s["trace_id"], s["name"]) for s in scores) == sorted(
        (t, m) for t in trace_ids for m in ("task_completion", "confidence")
    )


async def _project_id(client: httpx.AsyncClient) -> uuid.UUID:
    listing = (await client.get("/traces", params={"limit": 1})).json()
    trace = (await client.get(f"/traces/{listing['items'][0]['trace_id']}")).json()
    return uuid.UUID(trace["project_id"])

"""A process that never imports the web layer runs a SESSION evaluation run.

The engine once registered its SESSION evaluator only as a side effect of importing the web
route modules; the executor now builds its own table of evaluators. Here the run is stored
through the service layer with a queue nobody consumes (so the test app's own worker never
sees it), and a bare `python -c` process that imports only what a worker needs (Settings,
the engine, the session factory, EvalWorker) resumes it on start-up and finishes it.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from sightline.db.session import transaction
from sightline.evals.sessions.schemas import SessionBatchRunCreate
from sightline.evals.sessions.service import create_session_batch_run
from tests.conftest import Tenant
from tests.evals.conftest import JUDGE_MODEL, judge_overrides
from tests.evals.sessions.helpers import post_session
from tests.fakes.openai_server import FakeJudgeServer
from tests.support.server import REPO_SRC

pytestmark = pytest.mark.slow

METRICS = ["agent_reliability", "agent_consistency"]
WORKER_TIMEOUT_SECONDS = 60.0

# Runs in a fresh interpreter: `python -c WORKER_SCRIPT '<json config>'`.
WORKER_SCRIPT = r"""
import asyncio
import json
import sys
import time
import uuid

fastapi_imported_by = []


class WhoImportsFastAPI:
    # Records the chain of sightline modules that was importing when fastapi was first loaded.
    def find_spec(self, name, path=None, target=None):
        if name == "fastapi" and not fastapi_imported_by:
            frame = sys._getframe(1)
            while frame is not None:
                module = frame.f_globals.get("__name__", "")
                if module.startswith("sightline"):
                    fastapi_imported_by.append(f"{module}:{frame.f_lineno}")
                frame = frame.f_back
            fastapi_imported_by.reverse()
        return None


sys.meta_path.insert(0, WhoImportsFastAPI())

from sightline.config import Settings
from sightline.db.engine import create_engine
from sightline.db.session import make_session_factory
from sightline.engine.worker import EvalWorker
from sightline.evals.runs.repository import get_run_by_id

TERMINAL = ("COMPLETED", "FAILED")
WEB_MODULES = {
    "sightline.app", "sightline.serving", "sightline.dependencies",
    "sightline.traces.dependencies", "sightline.middleware", "sightline.health",
}


async def main(config):
    settings = Settings(**config["settings"])
    run_id = uuid.UUID(config["run_id"])
    engine = create_engine(settings)
    factory = make_session_factory(engine)
    worker = EvalWorker(settings, factory)
    status = None
    await worker.start()  # resumes every unfinished run, ours included
    try:
        deadline = time.monotonic() + config["timeout"]
        while status not in TERMINAL:
            if time.monotonic() > deadline:
                raise SystemExit(f"run {run_id} not finished in {config['timeout']}s: {status}")
            await asyncio.sleep(0.1)
            async with factory() as db:
                run = await get_run_by_id(db, run_id)
            status = None if run is None else str(run.status)
    finally:
        await worker.stop()
        await engine.dispose()
    return status


status = asyncio.run(main(json.loads(sys.argv[1])))
loaded = sorted(name for name in sys.modules if name.split(".")[0] == "sightline")
assert not any(n.startswith("sightline.evals") and n.endswith("routes") for n in loaded), loaded
web = [n for n in loaded if n.endswith(".routes") or n in WEB_MODULES]
assert not web, f"the worker imported web modules: {web}"
print(json.dumps({
    "status": status,
    "sightline_modules": loaded,
    "fastapi_imported": "fastapi" in sys.modules,
    "fastapi_imported_by": fastapi_imported_by,
}))
"""


class RecordingQueue:
    """A JobQueue that only records what was enqueued: no consumer in this process."""

    def __init__(self) -> None:
        self.enqueued: list[uuid.UUID] = []

    def enqueue(self, run_id: uuid.UUID) -> None:
        self.enqueued.append(run_id)

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass


def worker_settings(database_url: str, data_dir: Path, judge: FakeJudgeServer) -> dict[str, Any]:
    """The settings of tests.conftest.make_settings with the fake judge, as JSON values."""
    return {
        "database_url": database_url,
        "data_dir": str(data_dir),
        "auth_cache_seconds": 0,
        "run_scheduler": False,
        "environment": "test",
        "log_level": "warning",
        **judge_overrides(judge),
    }


async def run_worker_process(config: dict[str, Any]) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGHTLINE_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_SRC), env.get("PYTHONPATH")]))
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", WORKER_SCRIPT, json.dumps(config),
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        out, err = await asyncio.wait_for(process.communicate(), WORKER_TIMEOUT_SECONDS + 30)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def project_id_of(client: httpx.AsyncClient, trace_id: str) -> uuid.UUID:
    response = await client.get(f"/traces/{trace_id}")
    assert response.status_code == 200, response.text
    return uuid.UUID(response.json()["project_id"])


async def test_a_process_without_the_web_layer_runs_a_session_run(
    et: Tenant,
    eval_app: FastAPI,
    eval_client: httpx.AsyncClient,
    judge: FakeJudgeServer,
    database_url: str,
    tmp_path: Path,
) -> None:
    session_id, trace_ids = await post_session(eval_client, 3)
    project = await project_id_of(eval_client, trace_ids[0])

    queue = RecordingQueue()
    body = SessionBatchRunCreate(session_ids=[session_id], metrics=METRICS)
    async with transaction(eval_app.state.session_factory) as db:
        run = await create_session_batch_run(db, project, body, eval_app.state.settings, queue)
    assert queue.enqueued == [run.id]  # only here: the app's own worker never hears of it
    pending = (await eval_client.get(f"/evaluations/session-runs/{run.id}")).json()
    assert pending["status"] == "PENDING" and pending["target_type"] == "SESSION", pending
    # Counted, not reset: reset() would also drop the scripted answers of `et`, and answers
    # judged with the default ones land in the shared judge cache that later tests read.
    calls_before = len(judge.chat_requests())

    config = {
        "settings": worker_settings(database_url, tmp_path, judge),
        "run_id": str(run.id),
        "timeout": WORKER_TIMEOUT_SECONDS,
    }
    code, out, err = await run_worker_process(config)
    assert code == 0, f"worker process exited with {code}\nstdout:\n{out}\nstderr:\n{err}"
    report = json.loads(out.strip().splitlines()[-1])
    print(json.dumps(report, indent=2))  # shown with -s: what a bare worker imports
    assert report["status"] == "COMPLETED", report
    assert "sightline.engine.session.evaluator" in report["sightline_modules"]
    assert len(judge.chat_requests()) > calls_before, "the worker process never called the judge"

    finished = (await eval_client.get(f"/evaluations/session-runs/{run.id}")).json()
    assert finished["status"] == "COMPLETED", finished
    assert finished["evaluated_count"] == 1 and finished["failed_count"] == 0, finished
    response = await eval_client.get(f"/evaluations/session-runs/{run.id}/scores")
    assert response.status_code == 200, response.text
    scores = response.json()
    assert sorted((s["session_id"], s["name"]) for s in scores) == sorted(
        (session_id, metric) for metric in METRICS
    )
    for score in scores:
        assert score["status"] == "SUCCESS", score
        assert score["model"] == JUDGE_MODEL, score

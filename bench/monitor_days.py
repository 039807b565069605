"""Judge calls made by a daily monitor over three simulated days of traffic, with
``only_unscored`` on and off.

    .venv/bin/python bench/monitor_days.py [--traces-per-day 20] [--days 3]

Runs Sightline in-process (embedded SQLite in a temp dir) with the fake OpenAI-compatible
judge over HTTP, and drives the scheduler with a simulated clock: each day new traces arrive,
then the monitor's daily tick starts a run. Two monitors with the same traffic pattern, one
per project, differ only in ``only_unscored``. Sightline's durable judge cache also answers
re-asked questions for free, so "off" is reported both as the calls actually sent and as the
calls a cache-less evaluator (PandaProbe) would send.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import logging
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.evals.factories import agent_trace
from tests.fakes.openai_server import FakeJudgeServer

from sightline.app import create_app
from sightline.config import Settings
from sightline.db.session import transaction
from sightline.identity import service as identity
from sightline.monitors.scheduler import Scheduler

METRICS = ["task_completion", "confidence"]


async def _wait(client: httpx.AsyncClient, run_id: str) -> dict[str, Any]:
    while True:
        run: dict[str, Any] = (await client.get(f"/evaluations/trace-runs/{run_id}")).json()
        if run["status"] in ("COMPLETED", "FAILED"):
            return run
        await asyncio.sleep(0.05)


async def _scenario(
    app: Any, judge: FakeJudgeServer, only_unscored: bool, per_day: int, days: int
) -> dict[str, Any]:
    async with transaction(app.state.session_factory) as session:
        org = await identity.create_org(session, f"bench-{only_unscored}")
        key = await identity.create_key(session, org, "bench")
    headers = {"X-API-Key": key.raw_key, "X-Project-Name": f"unscored-{only_unscored}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://bench", headers=headers
    ) as client:
        monitor = (
            await client.post(
                "/evaluations/monitors",
                json={
                    "name": "daily",
                    "target_type": "TRACE",
                    "metrics": METRICS,
                    "cadence": "daily",
                    "only_unscored": only_unscored,
                },
            )  # fmt: skip
        ).json()
        now = datetime.fromisoformat(monitor["next_run_at"])
        scheduler = Scheduler(
            app.state.session_factory, app.state.settings, app.state.eval_queue, now=lambda: now
        )
        before = len(judge.chat_requests())
        pairs = cached = 0
        cost = 0.0
        for _ in range(days):
            for _ in range(per_day):  # the day's new traffic
                assert (await client.post("/traces", json=agent_trace())).status_code == 202
            report = await scheduler.tick()
            for _, run_id in report.fired:
                run = await _wait(client, str(run_id))
                scores = (await client.get(f"/evaluations/trace-runs/{run_id}/scores")).json()
                pairs += len(scores)
                cached += sum(s["metadata"].get("judge", {}).get("cached", 0) for s in scores)
                cost += run["cost_usd"]
            now += timedelta(days=1)
        return {
            "calls": len(judge.chat_requests()) - before,
            "cached": cached,
            "pairs": pairs,
            "cost": cost,
        }


def _task_answer(body: dict[str, Any]) -> dict[str, str]:
    # A real judge's extraction differs per trace; the fake's default would be the same text
    # for every trace, making the second-stage prompts identical (and cached).
    digest = hashlib.sha256(json.dumps(body["messages"]).encode()).hexdigest()[:12]
    return {"task": f"resolve order query {digest}", "outcome": f"answered {digest}"}


async def main(per_day: int, days: int) -> None:
    logging.disable(logging.WARNING)
    with FakeJudgeServer() as judge, tempfile.TemporaryDirectory() as tmp:
        judge.answers["TaskAnswer"] = _task_answer
        settings = Settings(
            data_dir=Path(tmp), run_scheduler=False, judge_model="openai/gpt-4o-mini",
            judge_api_base=judge.url, judge_api_key="sk-bench", embedding_api_base=judge.url,
            embedding_api_key="sk-bench", environment="bench", init_org="bench",
            init_api_key="sk_sl_" + "be" * 32,
        )  # fmt: skip
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            on = await _scenario(app, judge, True, per_day, days)
            off = await _scenario(app, judge, False, per_day, days)
    print(
        f"daily monitor, {days} simulated days, {per_day} new traces/day, "
        f"metrics {' + '.join(METRICS)}"
    )
    print(
        f"only_unscored=on : {on['calls']} judge calls, {on['pairs']} (trace, metric) pairs "
        f"scored, ${on['cost']:.4f}"
    )
    print(
        f"only_unscored=off: {off['calls']} judge calls sent + {off['cached']} answered by the "
        f"judge cache = {off['calls'] + off['cached']} without a cache, {off['pairs']} pairs "
        f"scored, ${off['cost']:.4f}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces-per-day", type=int, default=20)
    parser.add_argument("--days", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.traces_per_day, args.days))

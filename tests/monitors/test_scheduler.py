"""The scheduler with an injectable clock: cadences over simulated days, no drift, catch-up,
pause/resume, concurrent schedulers, only_unscored and only_if_changed."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from sightline.db.engine import create_engine
from sightline.db.session import make_session_factory
from sightline.db.types import utcnow
from sightline.monitors.scheduler import TickReport
from tests.conftest import Tenant
from tests.evals.factories import agent_trace, create_traces, wait_for_run
from tests.evals.sessions.helpers import post_session
from tests.fakes.openai_server import FakeJudgeServer
from tests.monitors.clock import Clock, pause_other_monitors, scheduler_for
from tests.monitors.test_monitor_api import BASE, create


def claims(reports: list[TickReport], monitor_id: str) -> int:
    wanted = uuid.UUID(monitor_id)
    return sum(
        sum(1 for m, _ in r.fired if m == wanted) + sum(1 for m, _ in r.skipped if m == wanted)
        for r in reports
    )


async def get(client: httpx.AsyncClient, monitor_id: str) -> dict[str, Any]:
    return dict((await client.get(f"{BASE}/{monitor_id}")).json())


def ts(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def test_cadences_over_three_simulated_days_never_drift(
    et: Tenant, eval_app: FastAPI, eval_client: httpx.AsyncClient
) -> None:
    await pause_other_monitors(eval_app)
    daily = await create(eval_client, name="daily")
    cron = await create(eval_client, name="cron", cadence="cron:0 */8 * * *")
    created = ts(daily["next_run_at"]) - timedelta(days=1)
    clock = Clock(created)
    scheduler = scheduler_for(eval_app, clock)
    reports = []
    for _ in range(3 * 24 * 2):  # a tick every 30 minutes for three days
        clock.advance(minutes=30)
        reports.append(await scheduler.tick())
    assert claims(reports, daily["id"]) == 3
    assert claims(reports, cron["id"]) == 9
    after_daily = await get(eval_client, daily["id"])
    # due times stay on the creation grid although each tick noticed them up to 30 min late
    assert ts(after_daily["next_run_at"]) == created + timedelta(days=4)
    assert after_daily["last_skip_reason"] == "No traces match the monitor's filters."
    after_cron = ts((await get(eval_client, cron["id"]))["next_run_at"])
    assert after_cron.hour % 8 == 0 and (after_cron.minute, after_cron.second) == (0, 0)
    assert clock() < after_cron <= clock() + timedelta(hours=8)


async def test_missed_ticks_fire_once(
    et: Tenant, eval_app: FastAPI, eval_client: httpx.AsyncClient
) -> None:
    await pause_other_monitors(eval_app)
    monitor = await create(eval_client, cadence="every_6h")
    due = ts(monitor["next_run_at"])
    clock = Clock(due + timedelta(days=2, hours=1))  # the scheduler was down for 8 due times
    scheduler = scheduler_for(eval_app, clock)
    reports = [await scheduler.tick(), await scheduler.tick()]
    assert claims(reports, monitor["id"]) == 1
    assert ts((await get(eval_client, monitor["id"]))["next_run_at"]) == due + timedelta(
        days=2, hours=6
    )


async def test_paused_monitors_never_fire_until_resumed(
    et: Tenant, eval_app: FastAPI, eval_client: httpx.AsyncClient
) -> None:
    await pause_other_monitors(eval_app)
    monitor = await create(eval_client)
    await eval_client.post(f"{BASE}/{monitor['id']}/pause")
    clock = Clock(utcnow() + timedelta(days=3))
    scheduler = scheduler_for(eval_app, clock)
    assert claims([await scheduler.tick()], monitor["id"]) == 0
    resumed = (await eval_client.post(f"{BASE}/{monitor['id']}/resume")).json()
    clock.set(ts(resumed["next_run_at"]) - timedelta(seconds=1))
    assert claims([await scheduler.tick()], monitor["id"]) == 0
    clock.advance(seconds=1)
    assert claims([await scheduler.tick()], monitor["id"]) == 1


async def test_two_schedulers_fire_each_due_monitor_exactly_once(
    et: Tenant, eval_app: FastAPI, eval_client: httpx.AsyncClient, judge: FakeJudgeServer
) -> None:
    await pause_other_monitors(eval_app)
    await create_traces(eval_client, 1)
    # only_unscored off: a fast run of one monitor must not make another one skip
    monitors = [
        await create(eval_client, name=f"m{n}", cadence="every_6h", only_unscored=False)
        for n in range(6)
    ]
    clock = Clock(max(ts(m["next_run_at"]) for m in monitors))
    # a second "process": its own engine and connection pool on the same database
    other_engine = create_engine(eval_app.state.settings)
    try:
        first = scheduler_for(eval_app, clock)
        second = scheduler_for(eval_app, clock, make_session_factory(other_engine))
        reports: list[TickReport] = []
        for _ in range(3):
            reports.extend(await asyncio.gather(first.tick(), second.tick()))
    finally:
        await other_engine.dispose()
    for monitor in monitors:
        assert claims(reports, monitor["id"]) == 1
        runs = (await eval_client.get(f"{BASE}/{monitor['id']}/runs")).json()
        assert runs["total"] == 1
        await wait_for_run(eval_client, runs["items"][0]["id"])
    assert sum(len(r.fired) for r in reports) == 6


async def fire_once(eval_app: FastAPI, clock: Clock) -> TickReport:
    return await scheduler_for(eval_app, clock).tick()


async def test_only_unscored_judges_only_new_traces(
    et: Tenant, eval_app: FastAPI, eval_client: httpx.AsyncClient, judge: FakeJudgeServer
) -> None:
    await pause_other_monitors(eval_app)
    await create_traces(eval_client, 3)
    monitor = await create(eval_client)
    clock = Clock(ts(monitor["next_run_at"]))
    first = await fire_once(eval_app, clock)
    ((_, run_id),) = first.fired
    run = await wait_for_run(eval_client, str(run_id))
    assert run["total_targets"] == 3 and len(judge.chat_requests()) == 3

    await create_traces(eval_client, 2)
    clock.advance(days=1)
    second = await fire_once(eval_app, clock)
    ((_, run_id),) = second.fired
    run = await wait_for_run(eval_client, str(run_id))
    assert run["total_targets"] == 2 and run["judge_calls"] == 2
    assert len(judge.chat_requests()) == 5  # only the two new traces were judged

    clock.advance(days=1)
    third = await fire_once(eval_app, clock)
    assert third.fired == [] and third.skipped[0][1].startswith("No traces were ingested")


async def test_only_if_changed_skips_until_something_arrives(
    et: Tenant, eval_app: FastAPI, eval_client: httpx.AsyncClient, judge: FakeJudgeServer
) -> None:
    await pause_other_monitors(eval_app)
    await create_traces(eval_client, 2)
    monitor = await create(eval_client, only_unscored=False)
    clock = Clock(ts(monitor["next_run_at"]))
    ((_, run_id),) = (await fire_once(eval_app, clock)).fired  # the first run never skips
    await wait_for_run(eval_client, str(run_id))

    clock.advance(days=1)
    skipped = await fire_once(eval_app, clock)
    assert skipped.fired == []
    after = await get(eval_client, monitor["id"])
    assert after["last_skip_reason"].startswith("No traces were ingested since the last run (")
    assert ts(after["last_skip_at"]) == clock()
    assert after["last_run_id"] == str(run_id)

    # a late trace (started a year ago) is noticed: ingestion time counts, not started_at
    late = agent_trace(started_at=datetime.now(UTC) - timedelta(days=365))
    assert (await eval_client.post("/traces", json=late)).status_code == 202
    clock.advance(days=1)
    ((_, rerun_id),) = (await fire_once(eval_app, clock)).fired
    rerun = await wait_for_run(eval_client, str(rerun_id))
    assert rerun["total_targets"] == 3  # only_unscored is off: everything matching
    refreshed = await get(eval_client, monitor["id"])
    assert refreshed["last_skip_reason"] is None and refreshed["last_run_id"] == str(rerun_id)


async def test_session_monitor_reevaluates_grown_sessions(
    et: Tenant, eval_app: FastAPI, eval_client: httpx.AsyncClient, judge: FakeJudgeServer
) -> None:
    await pause_other_monitors(eval_app)
    sid, _ = await post_session(eval_client, 2)
    quiet, _ = await post_session(eval_client, 1)
    monitor = await create(
        eval_client, target_type="SESSION", metrics=["agent_reliability"],
        signal_weights={"coherence": 0.5},
    )  # fmt: skip
    clock = Clock(ts(monitor["next_run_at"]))
    ((_, run_id),) = (await fire_once(eval_app, clock)).fired
    run = await wait_for_run(eval_client, str(run_id), kind="session")
    assert run["total_targets"] == 2 and run["filters"] == {"signal_weights": {"coherence": 0.5}}
    # Counted, not reset: reset() also drops `et`'s scripted answers, and prompts built on the
    # default answers can be in the shared judge cache already (other tests judge them too).
    calls_before = len(judge.chat_requests())

    await post_session(eval_client, 1, session_id=sid, start=datetime.now(UTC))
    clock.advance(days=1)
    ((_, run_id),) = (await fire_once(eval_app, clock)).fired
    run = await wait_for_run(eval_client, str(run_id), kind="session")
    assert run["total_targets"] == 1  # the grown session only, not the quiet one
    # only the new turn's signals were judged (task, tool and confidence prompts)
    assert len(judge.chat_requests()) - calls_before == 3
    scores = (await eval_client.get(f"/evaluations/session-runs/{run_id}/scores")).json()
    assert [s["session_id"] for s in scores] == [sid]
    assert scores[0]["metadata"]["total_traces_in_session"] == 3
    assert quiet


async def test_filters_matching_nothing_record_a_skip_reason(
    et: Tenant, eval_app: FastAPI, eval_client: httpx.AsyncClient
) -> None:
    await pause_other_monitors(eval_app)
    monitor = await create(eval_client, filters={"user_id": "nobody"})
    clock = Clock(ts(monitor["next_run_at"]) + timedelta(minutes=3))
    report = await fire_once(eval_app, clock)
    assert report.skipped == [(uuid.UUID(monitor["id"]), "No traces match the monitor's filters.")]
    after = await get(eval_client, monitor["id"])
    assert after["last_skip_reason"] == "No traces match the monitor's filters."
    assert after["last_run_at"] is None and after["status"] == "ACTIVE"
    assert ts(after["next_run_at"]) == ts(monitor["next_run_at"]) + timedelta(days=1)
    assert (await eval_client.get(f"{BASE}/{monitor['id']}/runs")).json()["total"] == 0

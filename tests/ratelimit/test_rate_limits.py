"""Per-key rate limits over HTTP (in-process buckets): a key over its ingestion or its
run-creation rate gets 429 with Retry-After and nothing is stored, while other keys, in the
same project or another, and the key's other bucket go on."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from sightline.db.models import Organization
from sightline.db.session import transaction
from sightline.identity import service as identity
from sightline.ratelimit import InProcessBuckets, RateLimiter, rates
from tests.conftest import Tenant, make_settings, new_tenant, running_app
from tests.evals.conftest import judge_overrides, task_from_prompt
from tests.evals.factories import agent_trace, wait_for_run
from tests.fakes.openai_server import FakeJudgeServer

# A token every 5 s: nothing refills while a test runs, so counts are exact.
PER_SECOND, INGEST_BURST, RUNS_BURST = 0.2, 3, 2
INGEST_REFUSED = (
    "Rate limit exceeded: ingestion is limited to 0.2 requests per second per API key "
    "(bursts of 3). Retry after 5 s."
)
RUNS_REFUSED = (
    "Rate limit exceeded: run creation is limited to 0.2 requests per second per API key "
    "(bursts of 2). Retry after 5 s."
)


@pytest.fixture(scope="module")
def judge() -> Iterator[FakeJudgeServer]:
    with FakeJudgeServer() as server:
        server.answers["TaskAnswer"] = task_from_prompt
        yield server


@pytest.fixture(scope="module")
async def limited_app(
    database_url: str, data_dir: Path, judge: FakeJudgeServer
) -> AsyncIterator[FastAPI]:
    settings = make_settings(
        database_url,
        data_dir,
        rate_limit_ingest_per_second=PER_SECOND,
        rate_limit_ingest_burst=INGEST_BURST,
        rate_limit_runs_per_second=PER_SECOND,
        rate_limit_runs_burst=RUNS_BURST,
        **judge_overrides(judge),
    )
    async with running_app(settings) as application:
        yield application


@pytest.fixture
async def http(limited_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=limited_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sightline.test") as c:
        yield c


async def _tenant(app: FastAPI, http: httpx.AsyncClient) -> Tenant:
    return await new_tenant(app, http)


async def _second_key(app: FastAPI, tenant: Tenant) -> dict[str, str]:
    async with transaction(app.state.session_factory) as db:
        org = await db.get(Organization, tenant.org_id)
        assert org is not None
        created = await identity.create_key(db, org, "second")
    return {"X-API-Key": created.raw_key, "X-Project-Name": tenant.project}


async def _post_trace(http: httpx.AsyncClient, headers: dict[str, str]) -> httpx.Response:
    return await http.post("/traces", json=agent_trace(), headers=headers)


async def _spend_ingestion(http: httpx.AsyncClient, headers: dict[str, str]) -> list[str]:
    ids = []
    for _ in range(INGEST_BURST):
        body = agent_trace()
        response = await http.post("/traces", json=body, headers=headers)
        assert response.status_code == 202, response.text
        ids.append(body["trace_id"])
    return ids


async def test_a_key_over_its_ingestion_rate_gets_429_and_nothing_is_stored(
    limited_app: FastAPI, http: httpx.AsyncClient
) -> None:
    tenant = await _tenant(limited_app, http)
    headers = tenant.headers()
    accepted = await _spend_ingestion(http, headers)

    refused_trace = agent_trace()
    refused = await http.post("/traces", json=refused_trace, headers=headers)
    assert refused.status_code == 429
    assert refused.json() == {"detail": INGEST_REFUSED}
    assert refused.headers["Retry-After"] == "5"
    # Every trace and span write shares the bucket, in every project of the key.
    writes = [
        http.post("/traces/batch", json={"traces": [agent_trace()]}, headers=headers),
        http.post("/traces", json=agent_trace(), headers=tenant.headers("proj-other")),
        http.post(f"/traces/{accepted[0]}/spans", json=[], headers=headers),
        http.patch(f"/traces/{accepted[0]}", json={"name": "renamed"}, headers=headers),
        http.post(
            "/traces/batch/tags", json={"trace_ids": accepted, "tags": ["x"]}, headers=headers
        ),
        http.delete(f"/traces/{accepted[0]}", headers=headers),
    ]
    for write in writes:
        response = await write
        assert response.status_code == 429, response.text
        assert int(response.headers["Retry-After"]) >= 1

    # Nothing of the refused requests was stored or changed; reads are not limited.
    assert (
        await http.get(f"/traces/{refused_trace['trace_id']}", headers=headers)
    ).status_code == 404
    listed = (await http.get("/traces", headers=headers)).json()
    assert listed["total"] == INGEST_BURST
    assert {t["name"] for t in listed["items"]} == {"support-agent"}
    assert all(t["tags"] == [] for t in listed["items"])
    other = (await http.get("/traces", headers=tenant.headers("proj-other"))).json()
    assert other["total"] == 0


async def test_other_keys_are_unaffected_in_the_same_and_another_project(
    limited_app: FastAPI, http: httpx.AsyncClient
) -> None:
    flooder = await _tenant(limited_app, http)
    await _spend_ingestion(http, flooder.headers())
    assert (await _post_trace(http, flooder.headers())).status_code == 429

    same_project = await _second_key(limited_app, flooder)  # same org, same project
    another_org = (await _tenant(limited_app, http)).headers(flooder.project)
    for headers in (same_project, another_org):
        assert (await _post_trace(http, headers)).status_code == 202
    assert (await http.get("/traces", headers=same_project)).json()["total"] == INGEST_BURST + 1


async def test_credentials_come_first_then_the_limit_before_the_body(
    limited_app: FastAPI, http: httpx.AsyncClient
) -> None:
    missing = await http.post("/traces", json=agent_trace())
    assert missing.status_code == 401
    tenant = await _tenant(limited_app, http)
    await _spend_ingestion(http, tenant.headers())
    # A refused key's body is not even validated.
    invalid = await http.post("/traces", json={"name": ""}, headers=tenant.headers())
    assert invalid.status_code == 429
    assert invalid.json() == {"detail": INGEST_REFUSED}


async def test_run_creation_has_its_own_bucket(
    limited_app: FastAPI, http: httpx.AsyncClient
) -> None:
    tenant = await _tenant(limited_app, http)
    headers = tenant.headers()
    [trace_id] = (await _spend_ingestion(http, headers))[:1]
    batch = {"trace_ids": [trace_id], "metrics": ["task_completion"]}
    created = []
    for _ in range(RUNS_BURST):
        response = await http.post("/evaluations/trace-runs/batch", json=batch, headers=headers)
        assert response.status_code == 202, response.text
        created.append(response.json()["id"])

    refused = [
        await http.post("/evaluations/trace-runs/batch", json=batch, headers=headers),
        await http.post("/evaluations/trace-runs", json={"metrics": ["x"]}, headers=headers),
        await http.post(f"/evaluations/trace-runs/{created[0]}/retry", headers=headers),
        await http.post("/evaluations/session-runs", json={"metrics": ["x"]}, headers=headers),
        await http.post("/evaluations/session-runs/batch", json={}, headers=headers),
        await http.post(f"/evaluations/session-runs/{uuid.uuid4()}/retry", headers=headers),
        await http.post(f"/evaluations/monitors/{uuid.uuid4()}/trigger", headers=headers),
    ]
    for response in refused:
        assert response.status_code == 429, response.text
        assert response.json() == {"detail": RUNS_REFUSED}
        assert response.headers["Retry-After"] == "5"
    runs = (await http.get("/evaluations/trace-runs", headers=headers)).json()
    assert runs["total"] == RUNS_BURST
    http.headers.update(headers)  # wait_for_run reads with the client's headers
    for run_id in created:
        await wait_for_run(http, run_id)

    # The other way round: a key out of ingestion still creates runs.
    second = await _second_key(limited_app, tenant)
    await _spend_ingestion(http, second)
    assert (await _post_trace(http, second)).status_code == 429
    response = await http.post("/evaluations/trace-runs/batch", json=batch, headers=second)
    assert response.status_code == 202, response.text
    http.headers.update(second)
    await wait_for_run(http, response.json()["id"])
    # And the first key's traces bucket was not touched by its runs.
    assert (await _post_trace(http, headers)).status_code == 429


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_the_bucket_refills(limited_app: FastAPI, http: httpx.AsyncClient) -> None:
    """On a clock of the bucket's own, so the test waits for nothing."""
    clock = _Clock()
    settings = limited_app.state.settings
    own = RateLimiter(InProcessBuckets(clock=clock), rates(settings))
    original, limited_app.state.rate_limiter = limited_app.state.rate_limiter, own
    try:
        tenant = await _tenant(limited_app, http)
        await _spend_ingestion(http, tenant.headers())
        assert (await _post_trace(http, tenant.headers())).status_code == 429
        clock.now += 4.9
        early = await _post_trace(http, tenant.headers())
        assert early.status_code == 429 and early.headers["Retry-After"] == "1"
        clock.now += 0.1
        assert (await _post_trace(http, tenant.headers())).status_code == 202
        assert (await _post_trace(http, tenant.headers())).status_code == 429
        clock.now += 3600  # a long pause refills up to the burst, no further
        for _ in range(INGEST_BURST):
            assert (await _post_trace(http, tenant.headers())).status_code == 202
        assert (await _post_trace(http, tenant.headers())).status_code == 429
    finally:
        limited_app.state.rate_limiter = original

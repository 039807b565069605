"""Rules that the shared kit now applies to every evaluation endpoint alike: one bound on
`offset` (it was unbounded on two lists, and 2^63 answered 500), and the storable-text rule
on every filter string (a NUL in `filters.name` matched every trace on SQLite and answered
500 on PostgreSQL)."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import Tenant
from tests.evals.factories import create_traces
from tests.monitors.test_monitor_api import BASE as MONITORS
from tests.monitors.test_monitor_api import monitor_body


@pytest.mark.parametrize(
    "path",
    [
        "/evaluations/trace-runs",
        "/evaluations/trace-scores",
        "/evaluations/session-runs",
        "/evaluations/session-scores",
        "/evaluations/monitors",
    ],
)
async def test_every_list_refuses_a_huge_offset(
    et: Tenant, eval_client: httpx.AsyncClient, path: str
) -> None:
    response = await eval_client.get(path, params={"offset": 2**63})
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["field"] == "query -> offset"
    assert (await eval_client.get(path, params={"offset": 10**9})).status_code == 200


# JSON escapes, as a client sends them (a lone surrogate cannot even be encoded as UTF-8).
@pytest.mark.parametrize("escaped", ["\\u0000", "support\\u0000", "\\ud800"])
async def test_a_trace_run_filter_with_unstorable_text_is_refused(
    et: Tenant, eval_client: httpx.AsyncClient, escaped: str
) -> None:
    await create_traces(eval_client, 2)
    body = '{"metrics": ["task_completion"], "filters": {"name": "' + escaped + '"}}'
    response = await eval_client.post(
        "/evaluations/trace-runs", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["field"] == "filters -> name"
    assert (await eval_client.get("/evaluations/trace-runs")).json()["total"] == 0


async def test_a_monitor_filter_with_a_nul_is_refused(
    et: Tenant, eval_client: httpx.AsyncClient
) -> None:
    body = monitor_body(filters={"name": "agent\u0000"})
    response = await eval_client.post(MONITORS, json=body)
    assert response.status_code == 422, response.text
    assert "NUL" in response.text
    assert (await eval_client.get(MONITORS)).json()["total"] == 0

"""The trace list and a trace's page over HTTP, on both databases: filters, sorting,
pagination, selection, the empty state, escaping of what agents sent, scoping."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from tests.conftest import new_tenant
from tests.web.conftest import Ui

UNTRUSTED = "<script>alert('x')</script><img src=x onerror=alert(1)>"


def _trace(name: str, minutes_ago: int = 0, **extra: Any) -> dict[str, Any]:
    start = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    root = str(uuid.uuid4())
    return {
        "trace_id": str(uuid.uuid4()),
        "name": name,
        "started_at": start.isoformat(),
        "ended_at": (start + timedelta(milliseconds=1500)).isoformat(),
        "input": {"messages": [{"role": "user", "content": "hi"}]},
        "output": {"messages": [{"role": "assistant", "content": "hello"}]},
        "spans": [
            {"span_id": root, "name": "agent", "kind": "AGENT", "started_at": start.isoformat(),
             "ended_at": (start + timedelta(milliseconds=1400)).isoformat()},
            {"span_id": str(uuid.uuid4()), "parent_span_id": root, "name": "llm", "kind": "LLM",
             "model": "gpt-4o-mini", "input": {"prompt": "p" * 5000},
             "token_usage": {"prompt_tokens": 10, "completion_tokens": 5},
             "started_at": (start + timedelta(milliseconds=100)).isoformat(),
             "ended_at": (start + timedelta(milliseconds=900)).isoformat()},
        ],
        **extra,
    }  # fmt: skip


async def _send(ui: Ui, *traces: dict[str, Any]) -> None:
    for body in traces:
        sent = await ui.api.post("/traces", json=body, headers=ui.tenant.headers())
        assert sent.status_code == 202, sent.text


def _names(html: str) -> list[str]:
    return re.findall(r'<td class="truncate"><a href="/ui/traces/[0-9a-f-]{36}">([^<]*)</a>', html)


async def test_the_empty_state_teaches_the_sdk(ui: Ui) -> None:
    page = await ui.page("/ui/traces")
    assert page.status_code == 200
    assert "PANDAPROBE_ENDPOINT=http://sightline.test" in page.text
    assert f"PANDAPROBE_PROJECT_NAME='{ui.tenant.project}'" in page.text
    assert "pandaprobe.start_trace(" in page.text


async def test_the_list_filters_sorts_and_pages(ui: Ui) -> None:
    await _send(
        ui,
        _trace("alpha", 3, tags=["prod"], user_id="u-1"),
        _trace("beta", 2, status="ERROR"),
        _trace("gamma", 1, tags=["prod"], session_id="s-9"),
    )
    page = await ui.page("/ui/traces")
    assert _names(page.text) == ["gamma", "beta", "alpha"]  # newest first
    checkboxes = re.findall(r'aria-label="Select trace ([0-9a-f-]{36})"', page.text)
    assert len(checkboxes) == 3
    assert 'data-select-all="trace_id"' in page.text
    by_name = await ui.page("/ui/traces", params={"sort_by": "name", "sort_order": "asc"})
    assert _names(by_name.text) == ["alpha", "beta", "gamma"]
    assert _names((await ui.page("/ui/traces", params={"status": "ERROR"})).text) == ["beta"]
    tagged = await ui.page("/ui/traces", params={"tags": "prod", "name": ""})
    assert _names(tagged.text) == ["gamma", "alpha"]
    assert _names((await ui.page("/ui/traces", params={"user_id": "u-1"})).text) == ["alpha"]
    assert _names((await ui.page("/ui/traces", params={"session_id": "s-9"})).text) == ["gamma"]
    after = (datetime.now(UTC) - timedelta(minutes=2, seconds=30)).strftime("%Y-%m-%dT%H:%M:%S")
    recent = await ui.page("/ui/traces", params={"started_after": after})
    assert _names(recent.text) == ["gamma", "beta"]
    first = await ui.page("/ui/traces", params={"limit": "2"})
    assert _names(first.text) == ["gamma", "beta"]
    assert "1–2 of 3" in first.text
    second = await ui.page("/ui/traces", params={"limit": "2", "offset": "2"})
    assert _names(second.text) == ["alpha"]
    assert "gamma</span>" not in second.text


async def test_a_bad_filter_is_named_beside_its_field(ui: Ui) -> None:
    page = await ui.page("/ui/traces", params={"status": "NOPE", "limit": "9999"})
    assert page.status_code == 422
    assert 'id="status-error"' in page.text and 'id="limit-error"' in page.text
    assert 'id="name-error"' not in page.text


async def test_what_agents_sent_is_escaped(ui: Ui) -> None:
    body = _trace(UNTRUSTED, user_id=UNTRUSTED, tags=[UNTRUSTED[:100]], output=UNTRUSTED)
    body["spans"][0]["name"] = UNTRUSTED
    body["spans"][0]["output"] = UNTRUSTED
    body["metadata"] = {UNTRUSTED: UNTRUSTED}
    await _send(ui, body)
    for path in ("/ui/traces", f"/ui/traces/{body['trace_id']}"):
        html = (await ui.page(path)).text
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html


async def test_a_trace_page_has_its_tree_spans_and_scores(ui: Ui) -> None:
    body = _trace("detailed", session_id="conv-1")
    await _send(ui, body)
    trace_id = body["trace_id"]
    root, child = body["spans"][0]["span_id"], body["spans"][1]["span_id"]
    scored = await ui.api.post(
        "/evaluations/trace-scores",
        json={"trace_id": trace_id, "name": "helpfulness", "value": "0.9", "reason": "kind"},
        headers=ui.tenant.headers(),
    )
    assert scored.status_code == 201, scored.text
    page = await ui.page(f"/ui/traces/{trace_id}")
    assert page.status_code == 200
    levels = re.findall(r'role="treeitem" aria-level="(\d)"', page.text)
    assert levels == ["1", "2"]
    assert 'aria-expanded="true"' in page.text  # the root can fold
    assert '<svg class="waterfall"' in page.text
    assert 'href="/ui/sessions/conv-1"' in page.text
    assert "helpfulness" in page.text and "kind" in page.text
    assert "show all" not in page.text  # the root span is shown first: no long payload
    panel = await ui.page(f"/ui/traces/{trace_id}/spans/{child}")
    assert panel.status_code == 200
    assert "gpt-4o-mini" in panel.text and "prompt_tokens 10" in panel.text
    assert "show all (5,0" in panel.text  # the 5,000-character prompt is folded
    selected = await ui.page(f"/ui/traces/{trace_id}", params={"span": child})
    assert re.search(rf'aria-selected="true"[^>]*\s+data-span-id="{child}"', selected.text)
    assert (await ui.page(f"/ui/traces/{trace_id}/spans/{uuid.uuid4()}")).status_code == 404
    assert (await ui.page(f"/ui/traces/{trace_id}", params={"span": root})).status_code == 200


async def test_another_projects_and_organizations_traces_are_404(
    app: FastAPI, ui: Ui, client: httpx.AsyncClient
) -> None:
    other = await new_tenant(app, client)
    theirs = _trace("theirs")
    assert (await client.post("/traces", json=theirs, headers=other.headers())).status_code == 202
    mine_elsewhere = _trace("other-project")
    sent = await ui.api.post("/traces", json=mine_elsewhere, headers=ui.tenant.headers("side"))
    assert sent.status_code == 202
    for trace in (theirs, mine_elsewhere):
        page = await ui.page(f"/ui/traces/{trace['trace_id']}")
        assert page.status_code == 404
        span = trace["spans"][0]["span_id"]
        assert (await ui.page(f"/ui/traces/{trace['trace_id']}/spans/{span}")).status_code == 404
    assert "theirs" not in (await ui.page("/ui/traces")).text


async def test_a_large_list_counts_up_to_a_thousand(ui: Ui) -> None:
    start = datetime.now(UTC) - timedelta(days=1)
    for first in (0, 1000):
        batch = [
            {"name": "bulk", "started_at": (start + timedelta(seconds=n)).isoformat()}
            for n in range(first, min(first + 1000, 1005))
        ]
        sent = await ui.api.post(
            "/traces/batch", json={"traces": batch}, headers=ui.tenant.headers()
        )
        assert sent.json()["accepted"] == len(batch)
    page = await ui.page("/ui/traces")
    assert "1–50 of 1,000+" in page.text and "Evaluate all matching (1,000+)" in page.text
    assert ">Next</a>" in page.text
    last = await ui.page("/ui/traces", params={"offset": "1000"})
    assert "1001–1005 of 1,005" in last.text and ">Next</a>" not in last.text
    exact = await ui.api.get("/traces", params={"limit": 1}, headers=ui.tenant.headers())
    assert exact.json()["total"] == 1005  # the API still counts exactly

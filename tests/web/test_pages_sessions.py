"""The Sessions pages over HTTP (issue 13, page 3): the list with the API's filters, a
session read as a conversation (user input → agent output per trace, in order) with the
session's scores; agents' text escaped; other organizations' sessions as 404 pages."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
from fastapi import FastAPI

from tests.conftest import new_tenant
from tests.evals.conftest import eval_app, judge  # noqa: F401
from tests.evals.factories import agent_trace, wait_for_run
from tests.evals.sessions.helpers import T0
from tests.web.conftest import Ui, signed_in

HOSTILE = "<script>alert('x')</script><img src=x onerror=alert(1)>"


async def post_conversation(api: httpx.AsyncClient, session_id: str) -> list[str]:
    """Three turns, posted out of order: a chat-messages turn, a plain-string turn and a turn
    whose output is hostile markup."""
    turns = [
        ({"messages": [{"role": "system", "content": "Be kind."},
                       {"role": "user", "content": "Where is my order?"}]},
         {"messages": [{"role": "assistant", "content": "It ships today."}]}),
        ("Can I change the address?", "Yes, until it ships."),
        ({"question": "Anything else?"}, {"answer": HOSTILE}),
    ]  # fmt: skip
    ids = []
    for index in (2, 0, 1):
        body = agent_trace(session_id=session_id, started_at=T0 + timedelta(minutes=index))
        body["input"], body["output"] = turns[index]
        body["user_id"] = "user-7"
        assert (await api.post("/traces", json=body)).status_code == 202
        ids.append((index, body["trace_id"]))
    return [trace_id for _, trace_id in sorted(ids)]


async def test_empty_state_teaches(jui: Ui) -> None:
    page = await jui.page("/ui/sessions")
    assert page.status_code == 200
    assert "No sessions in proj-main yet" in page.text
    assert "export PANDAPROBE_ENDPOINT=http://sightline.test" in page.text
    assert "PANDAPROBE_PROJECT_NAME='proj-main'" in page.text
    assert 'pandaprobe.session("conversation-42")' in page.text


async def test_list_filters_and_conversation(jui: Ui) -> None:
    trace_ids = await post_conversation(jui.api, "conv/42")
    other = agent_trace(session_id="quiet-one", started_at=T0)
    assert (await jui.api.post("/traces", json=other)).status_code == 202

    listed = await jui.page("/ui/sessions")
    assert listed.status_code == 200
    assert 'href="/ui/sessions/conv/42"' in listed.text and "quiet-one" in listed.text
    found = await jui.page("/ui/sessions", params={"query": "conv", "user_id": "user-7"})
    assert "conv/42" in found.text and "quiet-one" not in found.text
    none = await jui.page("/ui/sessions", params={"query": "nothing-like-this"})
    assert "No session matches these filters." in none.text
    bad = await jui.page("/ui/sessions", params={"has_error": "perhaps", "started_after": "x"})
    assert bad.status_code == 422
    assert re.search(r'id="has_error-error" role="alert">Input should be a valid boolean', bad.text)
    assert 'id="started_after-error"' in bad.text

    page = await jui.page("/ui/sessions/conv/42")
    assert page.status_code == 200
    html = page.text
    said = re.findall(r'<p class="said">([^<]*)</p>', html)
    assert said == [
        "Where is my order?", "It ships today.",
        "Can I change the address?", "Yes, until it ships.",
        "Anything else?",
        "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;",
    ]  # fmt: skip
    assert "<script>alert" not in html and "<img src=x" not in html
    positions = [html.index(f'href="/ui/traces/{t}"') for t in trace_ids]
    assert positions == sorted(positions)  # in the order the turns happened
    assert "Not evaluated yet." in html
    assert "user-7" in html


async def test_session_scores_are_shown(jui: Ui) -> None:
    await post_conversation(jui.api, "scored-session")
    answer = await jui.api.post(
        "/evaluations/session-runs/batch",
        json={"session_ids": ["scored-session"], "metrics": ["agent_reliability"]},
    )
    assert answer.status_code == 202, answer.text
    run = await wait_for_run(jui.api, answer.json()["id"], kind="session")
    assert run["status"] == "COMPLETED"
    html = (await jui.page("/ui/sessions/scored-session")).text
    assert "Not evaluated yet." not in html
    assert "<td>agent_reliability</td>" in html and f'href="/ui/runs/{run["id"]}"' in html
    # The run's own page reads as a session run, and the runs list has it under its tab.
    page = (await jui.page(f"/ui/runs/{run['id']}")).text
    assert "data-run-status>COMPLETED<" in page and "of 1 sessions" in page
    assert 'href="/ui/sessions/scored-session"' in page and "<td>agent_reliability</td>" in page
    assert f'href="/ui/runs/{run["id"]}"' in (await jui.page("/ui/runs?target=SESSION")).text
    assert f'href="/ui/runs/{run["id"]}"' not in (await jui.page("/ui/runs")).text


async def test_other_organizations_session_is_a_404(jui: Ui, eval_app: FastAPI) -> None:  # noqa: F811
    await post_conversation(jui.api, "private-session")
    assert (await jui.page("/ui/sessions/private-session")).status_code == 200
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=eval_app), base_url="http://sightline.test"
    ) as api:
        other = await signed_in(eval_app, await new_tenant(eval_app, api))
        try:
            page = await other.page("/ui/sessions/private-session")
            assert (
                page.status_code == 404
                and "Session &#39;private-session&#39; not found." in page.text
            )
            assert "private-session" not in (await other.page("/ui/sessions")).text
        finally:
            await other.client.aclose()

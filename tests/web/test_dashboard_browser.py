"""The dashboard in a real browser (issue 13): a real `sightline serve` with the fake judge,
Debian's chromium driven by Playwright, traces sent by the unchanged `pandaprobe` SDK.
Every page's JavaScript errors and failed local requests are collected and must be none;
a screenshot of every page goes to the test's tmp folder."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.fakes.openai_server import FakeJudgeServer, Reply
from tests.support.server import ServerProcess, running_server
from tests.web.test_docs_browser import CHROMIUM, _require_browser

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

pytestmark = pytest.mark.slow

API_KEY = "sk_sl_" + "cd" * 32
OTHER_KEY = "sk_sl_" + "ef" * 32
PROJECT = "browser-project"
TIMEOUT_MS = 20_000
RUN_TIMEOUT_MS = 60_000


@dataclass
class Site:
    server: ServerProcess
    judge: FakeJudgeServer
    traces: dict[str, str]

    @property
    def ui(self) -> str:
        return f"{self.server.base_url}/ui"


def _send_sdk_traces(base_url: str) -> dict[str, str]:
    env = {
        **os.environ,
        "PANDAPROBE_ENDPOINT": base_url,
        "PANDAPROBE_API_KEY": API_KEY,
        "PANDAPROBE_PROJECT_NAME": PROJECT,
        "PANDAPROBE_FLUSH_INTERVAL": "0.2",
    }
    script = Path(__file__).with_name("sdk_traces.py")
    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _other_org_trace(server: ServerProcess, data_dir: Path) -> str:
    """A second organization (through the CLI, on the server's database) and a trace of it."""
    env = {**os.environ, "SIGHTLINE_DATA_DIR": str(data_dir)}
    cli = [sys.executable, "-m", "sightline"]
    subprocess.run([*cli, "orgs", "create", "other-org"], env=env, check=True, capture_output=True)
    made = subprocess.run(
        [*cli, "keys", "create", "--org", "other-org"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    key = re.search(r"sk_\w{60,}", made.stdout)
    assert key, made.stdout
    trace_id = str(uuid.uuid4())
    sent = httpx.post(
        f"{server.base_url}/traces",
        json={
            "trace_id": trace_id,
            "name": "their-secret-trace",
            "started_at": datetime.now(UTC).isoformat(),
        },
        headers={"X-API-Key": key.group(0), "X-Project-Name": "theirs"},
    )
    assert sent.status_code == 202, sent.text
    return trace_id


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    _require_browser()
    data_dir = tmp_path_factory.mktemp("dashboard-server")
    with FakeJudgeServer() as judge:
        env = {
            "SIGHTLINE_INIT_ORG": "browser-org",
            "SIGHTLINE_INIT_API_KEY": API_KEY,
            "SIGHTLINE_JUDGE_MODEL": "openai/gpt-4o-mini",
            "SIGHTLINE_JUDGE_API_BASE": judge.url,
            "SIGHTLINE_JUDGE_API_KEY": "sk-test",
            "SIGHTLINE_JUDGE_MAX_ATTEMPTS": "1",
            "SIGHTLINE_AUTH_CACHE_SECONDS": "1",
            "SIGHTLINE_RUN_SCHEDULER": "false",
        }
        with running_server(data_dir, env) as server:
            traces = _send_sdk_traces(server.base_url)
            traces["other_org"] = _other_org_trace(server, data_dir)
            yield Site(server, judge, traces)


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    _require_browser()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield launched
        await launched.close()


@dataclass
class Tab:
    page: Page
    shots: Path
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    async def shot(self, name: str) -> None:
        await self.page.screenshot(path=self.shots / f"{name}.png", full_page=True)


@pytest.fixture
async def tab(browser: Browser, tmp_path: Path) -> AsyncIterator[Tab]:
    from playwright.async_api import ConsoleMessage, Dialog, Error, Response

    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    found = Tab(page, tmp_path)

    refused_documents: set[str] = set()

    def on_console(message: ConsoleMessage) -> None:
        # Chromium logs every 4xx document it loads; those answers are tested on purpose
        # (404 page, 401 sign-in, 403 CSRF), while a failed asset is caught by on_response.
        url = message.location.get("url", "")
        if message.type == "error" and not (
            message.text.startswith("Failed to load resource") and url in refused_documents
        ):
            found.errors.append(f"console: {message.text} ({url})")

    def on_page_error(error: Error) -> None:
        found.errors.append(f"pageerror: {error.message}")

    def on_response(response: Response) -> None:
        # 404 pages and the refusals tested on purpose are documents; a failed asset is not.
        if response.status < 400:
            return
        if response.request.resource_type == "document":
            refused_documents.add(response.url)
        else:
            found.errors.append(f"{response.status} {response.url}")

    async def on_dialog(dialog: Dialog) -> None:
        found.dialogs.append(dialog.message)
        await dialog.dismiss()

    page.on("console", on_console)
    page.on("pageerror", on_page_error)
    page.on("response", on_response)
    page.on("dialog", on_dialog)
    yield found
    await context.close()
    assert found.errors == [], "a page logged JavaScript errors or failed requests"
    assert found.dialogs == [], "a page opened a dialog"


async def _sign_in(tab: Tab, site: Site, key: str = API_KEY) -> None:
    page = tab.page
    await page.goto(f"{site.ui}/sign-in")
    await page.get_by_label("API key").fill(key)
    await page.get_by_role("button", name="Sign in").click()


async def test_a_bad_key_is_refused_and_a_good_one_signs_in(tab: Tab, site: Site) -> None:
    page = tab.page
    await page.goto(site.server.base_url + "/")  # a browser at / lands on the dashboard
    assert "/ui/sign-in" in page.url
    await tab.shot("sign-in")
    await _sign_in(tab, site, "sk_sl_wrong")
    await page.get_by_role("alert").filter(has_text="Invalid or revoked API key.").wait_for()
    await tab.shot("sign-in-refused")
    await _sign_in(tab, site)
    await page.wait_for_url(f"{site.ui}/traces")
    await page.get_by_role("heading", name=re.compile("Traces")).wait_for()


async def test_sdk_traces_appear_and_a_span_opens(tab: Tab, site: Site) -> None:
    page = tab.page
    await _sign_in(tab, site)
    await page.wait_for_url(f"{site.ui}/traces")
    for number in (1, 2, 3):
        await page.get_by_role("link", name=f"support-agent-{number}").wait_for()
    await tab.shot("traces")
    await page.get_by_role("link", name="support-agent-2").click()
    tree = page.get_by_role("tree")
    await tree.wait_for()
    assert await page.get_by_role("treeitem").count() == 2
    await page.get_by_role("treeitem").filter(has_text="search_docs").get_by_role("link").click()
    detail = page.locator("#span-detail")
    await detail.get_by_text("docs for question 2").wait_for()
    await page.get_by_role("heading", name="search_docs").wait_for()
    # The keyboard moves along the tree and Enter opens the span.
    await page.get_by_role("treeitem").filter(has_text="search_docs").focus()
    await page.keyboard.press("ArrowDown")
    await page.keyboard.press("Enter")
    await page.get_by_role("heading", name="answer").wait_for()
    await detail.get_by_text("gpt-4o-mini").wait_for()
    await tab.shot("trace")


def _nested_trace(site: Site) -> str:
    """A trace whose root has two children (the SDK's traces above are flat)."""
    start = datetime.now(UTC)
    root, child = str(uuid.uuid4()), str(uuid.uuid4())
    body = {
        "trace_id": str(uuid.uuid4()),
        "name": "nested-agent",
        "started_at": start.isoformat(),
        "spans": [
            {"span_id": root, "name": "plan", "kind": "AGENT", "started_at": start.isoformat()},
            {"span_id": child, "parent_span_id": root, "name": "lookup", "kind": "TOOL",
             "started_at": start.isoformat(), "input": {"order": "A-1"}},
            {"span_id": str(uuid.uuid4()), "parent_span_id": child, "name": "fetch",
             "kind": "RETRIEVER", "started_at": start.isoformat()},
        ],
    }  # fmt: skip
    sent = httpx.post(
        f"{site.server.base_url}/traces",
        json=body,
        headers={"X-API-Key": API_KEY, "X-Project-Name": PROJECT},
    )
    assert sent.status_code == 202, sent.text
    return str(body["trace_id"])


async def test_the_span_tree_folds_by_mouse_and_keyboard(tab: Tab, site: Site) -> None:
    page = tab.page
    trace_id = _nested_trace(site)
    await _sign_in(tab, site)
    await page.wait_for_url(f"{site.ui}/traces")
    await page.goto(f"{site.ui}/traces/{trace_id}")
    items = page.get_by_role("treeitem")
    assert await items.count() == 3
    await page.get_by_role("button", name="Fold or unfold plan").click()
    await items.filter(has_text="lookup").wait_for(state="hidden")
    await page.get_by_role("button", name="Fold or unfold plan").click()
    await items.filter(has_text="fetch").wait_for()
    lookup = items.filter(has_text="lookup")
    await lookup.focus()
    await page.keyboard.press("ArrowLeft")  # folds lookup: fetch is hidden
    await items.filter(has_text="fetch").wait_for(state="hidden")
    assert await lookup.get_attribute("aria-expanded") == "false"
    await page.keyboard.press("ArrowRight")
    await items.filter(has_text="fetch").wait_for()
    await page.keyboard.press("Enter")
    await page.locator("#span-detail").get_by_text('"order": "A-1"').wait_for()
    await tab.shot("trace-nested")
    await page.set_viewport_size({"width": 800, "height": 900})  # usable at 800 px
    for name, path in (("traces", "/traces"), ("trace", f"/traces/{trace_id}"), ("runs", "/runs")):
        await page.goto(f"{site.ui}{path}")
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 800, f"{path} is {width} px wide at 800 px"
        await tab.shot(f"{name}-800px")


async def _evaluate_selected(
    tab: Tab, site: Site, names: list[str], run_name: str, metric: str = "task_completion"
) -> None:
    page = tab.page
    await page.goto(f"{site.ui}/traces")
    for name in names:
        trace_id = site.traces[name]
        await page.get_by_role("checkbox", name=f"Select trace {trace_id}").check()
    await page.get_by_role("button", name=re.compile("Evaluate selected")).click()
    await page.get_by_role("heading", name="Estimated judge cost").wait_for()
    await page.get_by_text("How it is estimated").wait_for()
    if metric != "task_completion":  # the form preselects task_completion
        await page.get_by_label("task_completion").uncheck()
    await page.get_by_label(metric).check()
    await page.get_by_label("Run name").fill(run_name)
    await tab.shot(f"new-run-{run_name}")
    await page.get_by_role("button", name="Start evaluation").click()
    await page.wait_for_url(re.compile(r"/ui/runs/[0-9a-f-]{36}$"))


async def _wait_for_status(page: Page, word: str) -> None:
    await page.locator("[data-run-status]", has_text=word).wait_for(timeout=RUN_TIMEOUT_MS)


async def test_three_selected_traces_are_evaluated_live(tab: Tab, site: Site) -> None:
    page = tab.page
    await _sign_in(tab, site)
    await page.wait_for_url(f"{site.ui}/traces")
    await _evaluate_selected(tab, site, ["agent_1", "agent_2", "agent_3"], "three traces")
    loaded = page.url
    await _wait_for_status(page, "COMPLETED")  # by polling, with no reload
    assert page.url == loaded
    scores = page.locator("#run-live table").last.locator("tbody tr")
    assert await scores.count() == 3
    await page.get_by_text("3 of 3 traces").wait_for()
    await page.locator("svg.chart").first.wait_for()
    await tab.shot("run")
    await page.get_by_role("link", name="Runs", exact=True).click()
    await page.get_by_role("link", name="three traces").wait_for()
    await tab.shot("runs")


async def test_retry_failed_pairs_after_a_failing_judge(tab: Tab, site: Site) -> None:
    page = tab.page
    await _sign_in(tab, site)
    await page.wait_for_url(f"{site.ui}/traces")
    site.judge.responder = lambda _request: Reply(
        status=401, body={"error": {"message": "bad key on purpose", "type": "auth"}}
    )
    try:
        # A metric not run on this trace before: the judge cache cannot answer for it.
        await _evaluate_selected(tab, site, ["agent_1"], "failing judge", "confidence")
        await _wait_for_status(page, "FAILED")  # no pair could be scored
        await page.get_by_text("The judge rejected the credentials").wait_for()
    finally:
        site.judge.responder = None
    await page.get_by_role("button", name="Retry failed pairs (1)").click()
    await page.wait_for_url(re.compile(r"/ui/runs/[0-9a-f-]{36}$"))
    await page.get_by_role("heading", name="Retry: failing judge").wait_for()
    await _wait_for_status(page, "COMPLETED")
    await page.locator("#run-live tbody").get_by_text("SUCCESS").wait_for()
    await tab.shot("run-retried")


async def test_untrusted_content_shows_as_text(tab: Tab, site: Site) -> None:
    page = tab.page
    await _sign_in(tab, site)
    await page.wait_for_url(f"{site.ui}/traces")
    await page.goto(f"{site.ui}/traces/{site.traces['untrusted']}")
    await page.get_by_role("heading", name=re.compile("<script>")).first.wait_for()
    await page.get_by_text("Trace input, output and metadata").click()
    output = page.locator("#trace-output pre")
    assert "<img src=x onerror=alert(1)>" in await output.inner_text()
    assert await page.locator("img[src=x]").count() == 0
    await tab.shot("untrusted")
    await page.goto(f"{site.ui}/traces")
    await page.get_by_role("link", name=re.compile("onerror")).wait_for()
    await asyncio.sleep(0.3)  # a dialog would have opened by now
    assert tab.dialogs == []


async def test_another_organizations_trace_is_a_404(tab: Tab, site: Site) -> None:
    page = tab.page
    await _sign_in(tab, site)
    await page.wait_for_url(f"{site.ui}/traces")
    answer = await page.goto(f"{site.ui}/traces/{site.traces['other_org']}")
    assert answer is not None and answer.status == 404
    await page.get_by_role("heading", name=re.compile("404")).wait_for()
    assert "their-secret-trace" not in await page.content()
    await tab.shot("not-found")


async def test_a_form_without_its_csrf_token_is_refused(tab: Tab, site: Site) -> None:
    page = tab.page
    await _sign_in(tab, site)
    await page.wait_for_url(f"{site.ui}/traces")
    await page.locator("form.sign-out input[name=csrf_token]").evaluate("el => el.remove()")
    await page.get_by_role("button", name="Sign out").click()
    await page.get_by_role("heading", name=re.compile("403")).wait_for()
    await tab.shot("csrf-refused")
    await page.goto(f"{site.ui}/traces")  # still signed in
    await page.get_by_role("heading", name=re.compile("Traces")).wait_for()


async def test_sign_out_ends_the_session(tab: Tab, site: Site) -> None:
    page = tab.page
    await _sign_in(tab, site)
    await page.wait_for_url(f"{site.ui}/traces")
    await page.get_by_role("button", name="Sign out").click()
    await page.get_by_text("Signed out.").wait_for()
    await page.goto(f"{site.ui}/runs")
    assert "/ui/sign-in" in page.url
    await tab.shot("signed-out")

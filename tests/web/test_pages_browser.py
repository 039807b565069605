"""Sessions, Monitors, Overview and Settings in a real browser (issue 13): a real `sightline
serve` judged by the fake OpenAI-compatible server, Debian's chromium driven by Playwright.
A monitor is created, triggered, paused (a trigger is then refused) and resumed; a session
reads as a conversation; the overview's charts render; no page logs a JavaScript error.
A screenshot of every page lands in the test's tmp folder. One server for the module."""

from __future__ import annotations

import importlib.util
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.conftest import skip_or_fail
from tests.evals.factories import agent_trace
from tests.fakes.openai_server import FakeJudgeServer
from tests.support.server import ServerProcess, running_server

if TYPE_CHECKING:
    from playwright.async_api import Page

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
API_KEY = "sk_sl_" + "ab" * 32
PROJECT = "browser-pages"
SESSION_ID = "conv-browser"
TIMEOUT_MS = 20_000


@dataclass(frozen=True)
class Served:
    server: ServerProcess
    hostile_trace: str


def _seed(base_url: str) -> str:
    headers = {"X-API-Key": API_KEY, "X-Project-Name": PROJECT}
    start = datetime.now(UTC) - timedelta(hours=2)
    turns = [
        ("Where is my order?", "It ships today."),
        ("Can I change the address?", "<script>alert('x')</script><img src=x onerror=alert(1)>"),
    ]
    hostile = ""
    with httpx.Client(base_url=base_url, headers=headers, timeout=10) as api:
        for index, (question, answer) in enumerate(turns):
            body = agent_trace(session_id=SESSION_ID, started_at=start + timedelta(minutes=index))
            body["input"] = {"messages": [{"role": "user", "content": question}]}
            body["output"] = {"messages": [{"role": "assistant", "content": answer}]}
            assert api.post("/traces", json=body).status_code == 202
            hostile = body["trace_id"]
            score = {"trace_id": body["trace_id"], "name": "helpfulness", "value": "0.8",
                     "data_type": "NUMERIC", "source": "PROGRAMMATIC"}  # fmt: skip
            assert api.post("/evaluations/trace-scores", json=score).status_code == 201
        body = agent_trace(started_at=start)
        body["status"] = "ERROR"
        assert api.post("/traces", json=body).status_code == 202
    return hostile


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    if not CHROMIUM.exists():
        skip_or_fail(f"{CHROMIUM} is missing (apt-get install chromium)")
    if importlib.util.find_spec("playwright") is None:
        skip_or_fail("playwright is not installed (pip install -e '.[test]')")
    with FakeJudgeServer() as judge:
        env = {
            "SIGHTLINE_INIT_ORG": "browser-pages",
            "SIGHTLINE_INIT_API_KEY": API_KEY,
            "SIGHTLINE_RUN_SCHEDULER": "false",
            "SIGHTLINE_JUDGE_MODEL": "openai/gpt-4o-mini",
            "SIGHTLINE_JUDGE_API_BASE": judge.url,
            "SIGHTLINE_JUDGE_API_KEY": "sk-test",
            "SIGHTLINE_EMBEDDING_API_BASE": judge.url,
            "SIGHTLINE_EMBEDDING_API_KEY": "sk-test",
            "SIGHTLINE_LOG_LEVEL": "warning",
        }
        with running_server(tmp_path_factory.mktemp("pages-server"), env) as server:
            yield Served(server, _seed(server.base_url))


@dataclass
class Visit:
    page: Page
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    expected: set[str] = field(default_factory=set)  # console errors a step asks for


@asynccontextmanager
async def signed_in(base_url: str) -> AsyncIterator[Visit]:
    from playwright.async_api import ConsoleMessage, Dialog, Error, async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 900})
            context.set_default_timeout(TIMEOUT_MS)
            visit = Visit(await context.new_page())

            def on_console(message: ConsoleMessage) -> None:
                if message.type == "error" and message.text not in visit.expected:
                    visit.errors.append(f"console: {message.text}")

            def on_page_error(error: Error) -> None:
                visit.errors.append(f"pageerror: {error.message}")

            async def on_dialog(dialog: Dialog) -> None:
                visit.dialogs.append(dialog.message)
                await dialog.dismiss()

            visit.page.on("console", on_console)
            visit.page.on("pageerror", on_page_error)
            visit.page.on("dialog", on_dialog)
            page = visit.page
            await page.goto(f"{base_url}/ui/sign-in")
            await page.get_by_label("API key").fill(API_KEY)
            await page.get_by_role("button", name="Sign in").click()
            await page.wait_for_url(re.compile(r"/ui/traces"))
            switch = page.get_by_label("Project")
            if await switch.input_value() != await _project_value(page):
                async with page.expect_navigation():
                    await switch.select_option(label=PROJECT)
            yield visit
            await context.close()
        finally:
            await browser.close()


async def _project_value(page: Page) -> str:
    option = page.locator("#project-switch option", has_text=PROJECT)
    return str(await option.get_attribute("value"))


async def _shot(page: Page, folder: Path, name: str) -> None:
    await page.screenshot(path=folder / f"{name}.png", full_page=True)


async def test_monitor_created_triggered_paused_and_resumed(served: Served, tmp_path: Path) -> None:
    base = served.server.base_url
    async with signed_in(base) as visit:
        page = visit.page
        await page.goto(f"{base}/ui/monitors")
        await page.get_by_text("No monitors in browser-pages yet").wait_for()
        await _shot(page, tmp_path, "monitors-empty")

        await page.get_by_role("link", name="New monitor").click()
        name = f"weekday check {uuid.uuid4().hex[:4]}"
        await page.get_by_label("Name", exact=True).fill(name)
        await page.get_by_label("confidence", exact=True).check()
        assert await page.get_by_label("agent_reliability", exact=True).is_hidden()
        assert await page.get_by_label("Cron expression (UTC)").is_hidden()
        await page.get_by_label("Runs", exact=True).select_option("cron")
        await page.get_by_label("Cron expression (UTC)").fill("0 9 * * 1-5")
        preview = page.locator("#cadence-preview li")
        await page.wait_for_function(
            "() => [...document.querySelectorAll('#cadence-preview li')]"
            ".map(li => li.textContent).filter(t => t.endsWith('09:00:00 UTC')).length === 3"
        )
        assert await preview.count() == 3
        await _shot(page, tmp_path, "monitor-form")
        await page.get_by_role("button", name="Create monitor").click()

        status = page.locator("#monitor-status")
        await page.wait_for_url(re.compile(r"/ui/monitors/[0-9a-f-]{36}$"))
        assert await status.inner_text() == "ACTIVE"
        await page.get_by_role("button", name="Trigger now").click()
        await page.get_by_text("A run was started").wait_for()
        await page.get_by_role("link", name=f"[Monitor] {name}").wait_for()

        await page.get_by_role("button", name="Pause").click()
        await page.get_by_text("Paused: it will not run until resumed.").wait_for()
        assert await status.inner_text() == "PAUSED"
        visit.expected.add(
            "Failed to load resource: the server responded with a status of 409 (Conflict)"
        )
        await page.get_by_role("button", name="Trigger now").click()
        await page.get_by_text("is paused; resume it before triggering a run.").wait_for()
        assert await page.get_by_role("link", name=f"[Monitor] {name}").count() == 1
        await _shot(page, tmp_path, "monitor-paused")
        await page.get_by_role("button", name="Resume").click()
        await page.get_by_text("Resumed: it runs again on its cadence.").wait_for()
        assert await status.inner_text() == "ACTIVE"
        await _shot(page, tmp_path, "monitor")

        await page.goto(f"{base}/ui/monitors")
        await page.get_by_role("link", name=name).wait_for()
        await _shot(page, tmp_path, "monitors")
        assert visit.errors == []
        assert visit.dialogs == []


async def test_sessions_overview_settings_render(served: Served, tmp_path: Path) -> None:
    base = served.server.base_url
    async with signed_in(base) as visit:
        page = visit.page
        await page.goto(f"{base}/ui/sessions")
        await page.get_by_role("link", name=SESSION_ID).click()
        said = page.locator(".said")
        await said.first.wait_for()
        assert await said.all_inner_texts() == [
            "Where is my order?", "It ships today.", "Can I change the address?",
            "<script>alert('x')</script><img src=x onerror=alert(1)>",
        ]  # fmt: skip
        assert await page.locator(".conversation img").count() == 0
        await _shot(page, tmp_path, "session")
        await page.goto(f"{base}/ui/sessions")
        await _shot(page, tmp_path, "sessions")

        await page.goto(f"{base}/ui/overview")
        for key in ("volume", "error-rate", "latency", "tokens", "cost", "score-trace-helpfulness"):
            chart = page.locator(f"#chart-{key} svg.chart")
            await chart.wait_for()
            box = await chart.bounding_box()
            assert box and box["width"] > 300 and box["height"] > 80, key
        assert await page.locator("#chart-volume rect.bar").count() >= 1
        assert await page.locator("#chart-latency polyline, #chart-latency circle").count() >= 1
        await page.get_by_role("cell", name="gpt-4o-mini").wait_for()
        await _shot(page, tmp_path, "overview")
        await page.set_viewport_size({"width": 800, "height": 900})
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 820, "the overview is usable at 800 px"
        await page.set_viewport_size({"width": 1280, "height": 900})

        await page.goto(f"{base}/ui/settings")
        await page.get_by_label("New key's name").fill("browser key")
        await page.get_by_role("button", name="Create key").click()
        new_key = page.get_by_label("API key", exact=True)
        assert re.fullmatch(r"sk_sl_[0-9a-f]{64}", await new_key.input_value())
        await _shot(page, tmp_path, "settings-new-key")
        await page.goto(f"{base}/ui/settings")
        await page.get_by_text("Revoke…").last.click()
        await page.get_by_role("button", name=re.compile(r"Revoke key browser key")).click()
        await page.get_by_text("The key was revoked").wait_for()
        await _shot(page, tmp_path, "settings")
        assert visit.errors == []
        assert visit.dialogs == []

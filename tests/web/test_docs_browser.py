"""/docs and /redoc render in a real browser with every request off the machine refused
(issue 11, point 7): a real `sightline serve`, Debian's chromium driven by Playwright, each
non-local request aborted and recorded. Screenshots land in the test's tmp folder."""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

from tests.conftest import skip_or_fail
from tests.support.server import ServerProcess, running_server

if TYPE_CHECKING:
    from playwright.async_api import Page, Route

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
RENDER_TIMEOUT_MS = 30_000


def _require_browser() -> None:
    if not CHROMIUM.exists():
        skip_or_fail(f"{CHROMIUM} is missing (apt-get install chromium)")
    if importlib.util.find_spec("playwright") is None:
        skip_or_fail("playwright is not installed (pip install -e '.[test]')")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    _require_browser()
    with running_server(tmp_path_factory.mktemp("docs-server"), {}) as process:
        yield process


@dataclass
class Visit:
    """What the page did: requests refused, local responses that failed, JavaScript errors."""

    page: Page
    blocked: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@asynccontextmanager
async def offline_page() -> AsyncIterator[Visit]:
    from playwright.async_api import ConsoleMessage, Error, Response, async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            context = await browser.new_context(
                viewport={"width": 1280, "height": 900}, service_workers="block"
            )
            visit = Visit(await context.new_page())

            async def guard(route: Route) -> None:
                if urlsplit(route.request.url).hostname in LOCAL_HOSTS:
                    await route.continue_()
                else:
                    visit.blocked.append(route.request.url)
                    await route.abort("blockedbyclient")

            def on_response(response: Response) -> None:
                if response.status >= 400:
                    visit.failed.append(f"{response.status} {response.url}")

            def on_console(message: ConsoleMessage) -> None:
                if message.type == "error":
                    visit.errors.append(f"console: {message.text}")

            def on_page_error(error: Error) -> None:
                visit.errors.append(f"pageerror: {error.message}")

            # On the context, so workers and popups are guarded too.
            await context.route("**/*", guard)
            visit.page.on("response", on_response)
            visit.page.on("console", on_console)
            visit.page.on("pageerror", on_page_error)
            visit.page.on("requestfailed", lambda r: visit.failed.append(f"failed {r.url}"))
            yield visit
            await context.close()
        finally:
            await browser.close()


def _assert_clean(visit: Visit) -> None:
    assert visit.blocked == [], "requests left the machine"
    assert visit.failed == []
    assert visit.errors == []


async def test_swagger_ui_renders_offline(server: ServerProcess, tmp_path: Path) -> None:
    async with offline_page() as visit:
        page = visit.page
        await page.goto(f"{server.base_url}/docs", wait_until="networkidle")
        title = page.locator(".swagger-ui .info .title")
        await title.wait_for(timeout=RENDER_TIMEOUT_MS)
        assert "Sightline" in await title.inner_text()
        operations = page.locator(".swagger-ui .opblock")
        await operations.first.wait_for(timeout=RENDER_TIMEOUT_MS)
        assert await operations.count() > 1
        await page.screenshot(path=tmp_path / "docs.png", full_page=False)
        _assert_clean(visit)


async def test_redoc_renders_offline(server: ServerProcess, tmp_path: Path) -> None:
    async with offline_page() as visit:
        page = visit.page
        await page.goto(f"{server.base_url}/redoc", wait_until="networkidle")
        title = page.locator(".api-info h1")
        await title.wait_for(timeout=RENDER_TIMEOUT_MS)
        assert "Sightline" in await title.inner_text()
        operations = page.locator(".api-content h2")
        await operations.first.wait_for(timeout=RENDER_TIMEOUT_MS)
        assert await operations.count() > 1
        await page.screenshot(path=tmp_path / "redoc.png", full_page=False)
        _assert_clean(visit)


async def test_the_guard_blocks_and_records_a_remote_request(server: ServerProcess) -> None:
    """The guard itself works: a page asking a CDN for a script gets nothing, and it is recorded."""
    async with offline_page() as visit:
        page = visit.page
        await page.goto(f"{server.base_url}/health")
        cdn = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-bundle.js"
        await page.evaluate(
            """url => new Promise(resolve => {
                const s = document.createElement("script");
                s.src = url; s.onload = s.onerror = resolve; document.head.appendChild(s);
            })""",
            cdn,
        )
        assert visit.blocked == [cdn]

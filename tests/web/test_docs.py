"""/docs and /redoc are served from assets vendored in the package (issue 11, point 7): every
URL the pages reference is local, and each answers with the right content type. The browser
check with the network blocked is test_docs_browser.py."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from sightline.app import create_app
from sightline.web.static import STATIC_DIR
from tests.conftest import make_settings

BASE_URL = "http://sightline.test"
CONTENT_TYPES = {
    ".js": ("text/javascript", "application/javascript"),
    ".css": ("text/css",),
    ".png": ("image/png",),
    ".json": ("application/json",),
}
PAGES = ["/docs", "/redoc"]


class _References(HTMLParser):
    """The URLs a page makes the browser load: scripts, stylesheets, icons, images, the spec."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {"script": "src", "link": "href", "img": "src", "redoc": "spec-url"}
        wanted = names.get(tag)
        self.urls += [value for name, value in attrs if name == wanted and value]


def references(html: str) -> list[str]:
    parser = _References()
    parser.feed(html)
    return parser.urls


def is_local(url: str, base: str = BASE_URL) -> bool:
    parts = urlsplit(urljoin(base + "/", url))
    origin = urlsplit(base)
    return (parts.scheme, parts.netloc) == (origin.scheme, origin.netloc)


@asynccontextmanager
async def app_client(root_path: str = "") -> AsyncIterator[httpx.AsyncClient]:
    # No lifespan: the docs pages and static files need neither the database nor the workers.
    settings = make_settings(
        "sqlite+aiosqlite:///:memory:", Path(tempfile.mkdtemp(prefix="sightline-"))
    )
    transport = httpx.ASGITransport(app=create_app(settings), root_path=root_path)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield client


@pytest.fixture
async def docs_client() -> AsyncIterator[httpx.AsyncClient]:
    async with app_client() as client:
        yield client


def test_is_local_tells_same_origin_from_elsewhere() -> None:
    assert is_local("/static/x.js")
    assert is_local("static/x.js")
    assert is_local(f"{BASE_URL}/static/x.js")
    assert not is_local("https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-bundle.js")
    assert not is_local("//cdn.jsdelivr.net/npm/redoc@2/bundles/redoc.standalone.js")


@pytest.mark.parametrize("page", PAGES)
async def test_page_references_only_local_urls(docs_client: httpx.AsyncClient, page: str) -> None:
    response = await docs_client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    urls = references(response.text)
    assert any(url.endswith(".js") for url in urls), urls
    assert [url for url in urls if not is_local(url)] == []
    # Not only the tags: no absolute URL anywhere in the page, and no Google Fonts.
    assert "http://" not in response.text
    assert "https://" not in response.text
    assert "fonts.googleapis" not in response.text


@pytest.mark.parametrize("page", PAGES)
async def test_every_referenced_asset_is_served(docs_client: httpx.AsyncClient, page: str) -> None:
    html = (await docs_client.get(page)).text
    for url in references(html):
        response = await docs_client.get(urljoin(BASE_URL + page, url))
        assert response.status_code == 200, url
        content_type = response.headers["content-type"].split(";")[0]
        suffix = Path(urlsplit(url).path).suffix
        assert content_type in CONTENT_TYPES[suffix], (url, content_type)
        assert len(response.content) > 0, url
        if suffix == ".json":  # the OpenAPI document
            assert response.json()["info"]["title"] == "Sightline"


async def test_swagger_ui_asks_no_online_validator(docs_client: httpx.AsyncClient) -> None:
    html = (await docs_client.get("/docs")).text
    assert '"validatorUrl": null' in html


async def test_oauth2_redirect_page_is_served(docs_client: httpx.AsyncClient) -> None:
    response = await docs_client.get("/docs/oauth2-redirect")
    assert response.status_code == 200
    assert "swaggerUIRedirectOauth2" in response.text
    assert "http://" not in response.text
    assert "https://" not in response.text


async def test_openapi_lists_the_api_but_not_the_docs(docs_client: httpx.AsyncClient) -> None:
    response = await docs_client.get("/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/traces" in paths
    assert not [p for p in paths if p.startswith(("/docs", "/redoc", "/static"))]


async def test_urls_follow_the_root_path() -> None:
    async with app_client(root_path="/sightline") as client:
        for page in PAGES:
            html = (await client.get(f"/sightline{page}")).text
            urls = references(html)
            assert urls and all(url.startswith("/sightline/") for url in urls), urls
            for url in urls:
                assert (await client.get(url)).status_code == 200, url
        assert (
            "window.location.origin + '/sightline/docs/oauth2-redirect'"
            in (await client.get("/sightline/docs")).text
        )


def test_vendored_assets_carry_their_licence_and_origin() -> None:
    vendor = STATIC_DIR / "vendor"
    for name, package in [("swagger-ui", "swagger-ui-dist@5."), ("redoc", "redoc@2.")]:
        folder = vendor / name
        assert (folder / "LICENSE").is_file(), folder
        assert package in (folder / "README.md").read_text(), folder
        assert not list(folder.glob("*.map")), "source maps are not vendored"
    assert (vendor / "swagger-ui" / "NOTICE").is_file()
    # The one local change (redoc/README.md): ReDoc's sidebar logo is not fetched from its CDN.
    assert b"cdn.redoc.ly" not in (vendor / "redoc" / "redoc.standalone.js").read_bytes()

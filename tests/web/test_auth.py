"""The dashboard's sign-in, session and safety rules over HTTP (both databases)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
from fastapi import FastAPI

from sightline.config import Settings
from sightline.db.session import transaction
from sightline.identity import keys
from sightline.identity import repository as identity_repo
from sightline.identity import service as identity
from sightline.web.auth.session import COOKIE_NAME, SECRET_FILE, load_secret
from sightline.web.security import CONTENT_SECURITY_POLICY
from tests.conftest import new_tenant
from tests.web.conftest import Ui, csrf_of, sign_in


def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sightline.test"
    )


async def test_a_bad_key_is_refused_with_a_message(app: FastAPI) -> None:
    async with _client(app) as client:
        answer = await sign_in(client, "sk_not_a_key")
        assert answer.status_code == 401
        assert "Invalid or revoked API key." in answer.text
        assert (await client.get("/ui/traces")).status_code == 303


async def test_a_good_key_signs_in_with_a_safe_cookie(app: FastAPI, ui: Ui) -> None:
    cookie = next(c for c in ui.client.cookies.jar if c.name == COOKIE_NAME)
    assert cookie.path == "/ui"
    assert cookie.has_nonstandard_attr("HttpOnly")
    assert ui.tenant.api_key not in (cookie.value or "")
    page = await ui.page("/ui/traces")
    assert page.status_code == 200
    assert ui.tenant.project in page.text


async def test_every_page_has_the_content_security_policy(ui: Ui) -> None:
    for path in ("/ui/traces", "/ui/sign-in", f"/ui/traces/{uuid.uuid4()}"):
        answer = await ui.page(path)
        assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert "unsafe-inline" not in answer.headers["content-security-policy"]
        assert answer.headers["x-frame-options"] == "DENY"
    assert "<script>" not in (await ui.page("/ui/traces")).text.split("</head>")[1]


async def test_a_form_without_its_csrf_token_is_refused(ui: Ui) -> None:
    answer = await ui.client.post("/ui/sign-out")
    assert answer.status_code == 403
    assert (await ui.page("/ui/traces")).status_code == 200  # still signed in
    forged = await ui.client.post("/ui/sign-out", data={"csrf_token": "0" * 64})
    assert forged.status_code == 403


async def test_sign_in_needs_the_token_of_its_own_session(app: FastAPI) -> None:
    async with _client(app) as first, _client(app) as second:
        token = csrf_of((await first.get("/ui/sign-in")).text)
        await second.get("/ui/sign-in")
        answer = await second.post("/ui/sign-in", data={"api_key": "x", "csrf_token": token})
        assert answer.status_code == 403


async def test_sign_out_ends_the_session(app: FastAPI, ui: Ui) -> None:
    copied = ui.client.cookies[COOKIE_NAME]  # e.g. taken from the browser beforehand
    answer = await ui.form("/ui/sign-out")
    assert answer.status_code == 303
    assert (await ui.page("/ui/traces")).status_code == 303
    # The server ended the session: the cookie from before signing out is refused too.
    async with _client(app) as replay:
        replay.cookies.set(COOKIE_NAME, copied, path="/ui")
        answer = await replay.get("/ui/traces")
        assert answer.status_code == 303
        assert "sign-in" in answer.headers["location"]


async def test_a_revoked_key_ends_its_sessions(app: FastAPI, ui: Ui) -> None:
    async with transaction(app.state.session_factory) as db:
        row = await identity_repo.get_key_by_hash(db, keys.hash_key(ui.tenant.api_key))
        assert row is not None
        await identity.revoke_key(db, str(row.id))  # by ID: display prefixes can collide
    answer = await ui.page("/ui/traces")
    assert answer.status_code == 303
    assert "sign-in" in answer.headers["location"]


async def test_another_organizations_trace_is_a_404(
    app: FastAPI, ui: Ui, client: httpx.AsyncClient
) -> None:
    other = await new_tenant(app, client)
    trace_id = str(uuid.uuid4())
    now = datetime.now(UTC).isoformat()
    sent = await client.post(
        "/traces",
        json={"trace_id": trace_id, "name": "theirs", "started_at": now},
        headers=other.headers(),
    )
    assert sent.status_code == 202
    answer = await ui.page(f"/ui/traces/{trace_id}")
    assert answer.status_code == 404
    assert "theirs" not in answer.text
    assert (await ui.page("/ui/traces/not-a-uuid")).status_code == 404


async def test_a_foreign_project_cannot_be_switched_to(
    app: FastAPI, ui: Ui, client: httpx.AsyncClient
) -> None:
    other = await new_tenant(app, client)
    await client.get("/traces", headers=other.headers())
    async with transaction(app.state.session_factory) as db:
        projects = await identity.list_projects(db, other.org_id)
    answer = await ui.form("/ui/project", {"project_id": str(projects[0].id)})
    assert answer.status_code == 404


async def test_switching_project(ui: Ui) -> None:
    await ui.api.get("/traces", headers=ui.tenant.headers("second"))
    page = await ui.page("/ui/traces")
    assert "second" in page.text
    switched = await signed_in_project(ui, "second")
    assert 'Traces <span class="muted">· second' in switched.text


async def signed_in_project(ui: Ui, name: str) -> httpx.Response:
    """Picks `name` in the project switcher."""
    page = await ui.page("/ui/traces")
    marker = f">{name}</option>"
    before = page.text.split(marker)[0]
    project_id = before.rsplit('value="', 1)[1].split('"')[0]
    answer = await ui.form("/ui/project", {"project_id": project_id})
    assert answer.status_code == 303
    return await ui.page("/ui/traces")


async def test_root_sends_browsers_to_the_dashboard(client: httpx.AsyncClient) -> None:
    answer = await client.get("/", headers={"Accept": "text/html,application/xhtml+xml"})
    assert answer.status_code == 307
    assert answer.headers["location"] == "/ui"
    assert (await client.get("/")).json()["name"] == "Sightline"
    assert (await client.get("/ui")).headers["location"] == "/ui/"


async def test_sign_in_redirects_only_within_the_dashboard(app: FastAPI) -> None:
    tenant_client = _client(app)
    async with tenant_client as client:
        tenant = await new_tenant(app, client)
        page = await client.get("/ui/sign-in")
        answer = await client.post(
            "/ui/sign-in",
            data={
                "api_key": tenant.api_key,
                "csrf_token": csrf_of(page.text),
                "next": "//evil.example/ui/x",
            },
        )
        assert answer.headers["location"] == "/ui/traces"


def test_the_secret_is_the_setting_else_generated_once(tmp_path: Path) -> None:
    given = Settings(data_dir=tmp_path / "a", secret_key="s" * 40)
    assert load_secret(given) == "s" * 40
    assert not (tmp_path / "a").exists()
    generated = Settings(data_dir=tmp_path / "b")
    first = load_secret(generated)
    assert len(first) >= 32 and load_secret(generated) == first  # kept, not remade
    assert (tmp_path / "b" / SECRET_FILE).stat().st_mode & 0o777 == 0o600

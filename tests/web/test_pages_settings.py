"""The Settings page over HTTP (issue 13, page 7): the organization's API keys (a new key
shown once and working on the API; a revoked key refused by the API) and its projects;
messages beside their fields; CSRF refusal; another organization's key as a 404."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI

from tests.conftest import new_tenant
from tests.web.conftest import Ui, sign_in, signed_in

KEY = re.compile(r'value="(sk_sl_[0-9a-f]{64})"')


async def test_keys_listed_created_once_and_revoked(ui: Ui) -> None:
    page = await ui.page("/ui/settings")
    assert page.status_code == 200
    assert "this session" in page.text and ui.tenant.api_key[:10] in page.text
    assert ui.tenant.api_key not in page.text  # only the prefix, never the key

    created = await ui.form("/ui/settings/keys", {"name": "ci <agents>"})
    assert created.status_code == 200
    found = KEY.search(created.text)
    assert found, "the new key is shown"
    raw = found.group(1)
    assert "shown only this once" in created.text and "ci &lt;agents&gt;" in created.text
    headers = {"X-API-Key": raw, "X-Project-Name": "proj-main"}
    assert (await ui.api.get("/traces", headers=headers)).status_code == 200
    again = await ui.page("/ui/settings")
    assert raw not in again.text and raw[:10] in again.text

    key_id = re.search(
        r'action="/ui/settings/keys/([0-9a-f-]{36})/revoke"[^>]*>\s*<input[^>]*>\s*'
        r"<p>Revoke “ci &lt;agents&gt;”",
        again.text,
    )
    assert key_id, "a revoke form for the new key"
    revoked = await ui.form(f"/ui/settings/keys/{key_id.group(1)}/revoke")
    assert revoked.status_code == 303
    after = await ui.page(revoked.headers["location"])
    assert "The key was revoked" in after.text and "REVOKED" in after.text
    refused = await ui.api.get("/traces", headers=headers)
    assert refused.status_code == 401 and refused.json()["detail"] == "Invalid or revoked API key."
    assert (await ui.page("/ui/settings")).status_code == 200  # the session's own key still works


async def test_key_and_project_messages_beside_fields(ui: Ui) -> None:
    blank = await ui.form("/ui/settings/keys", {"name": "   "})
    assert blank.status_code == 422
    assert 'id="key_name-error" role="alert">Key name must be 1-255 characters.' in blank.text
    assert KEY.search(blank.text) is None

    bad = await ui.form("/ui/settings/projects", {"name": "-bad-"})
    assert bad.status_code == 422
    assert re.search(r'id="project_name-error" role="alert">X-Project-Name must be 1-255', bad.text)
    assert 'value="-bad-"' in bad.text
    made = await ui.form("/ui/settings/projects", {"name": "staging"})
    assert made.status_code == 303
    page = await ui.page(made.headers["location"])
    assert "Project created." in page.text and 'aria-label="Open project staging"' in page.text
    twice = await ui.form("/ui/settings/projects", {"name": "staging"})
    assert twice.status_code == 409
    assert "Project &#39;staging&#39; already exists." in twice.text
    listed = await ui.api.get("/traces", headers=ui.tenant.headers("staging"))
    assert listed.status_code == 200 and listed.json()["total"] == 0


async def test_csrf_refused(ui: Ui) -> None:
    for path, data in (("/ui/settings/keys", {"name": "sneaky"}),
                       ("/ui/settings/projects", {"name": "sneaky"})):  # fmt: skip
        refused = await ui.client.post(path, data=data)
        assert refused.status_code == 403, path
        forged = await ui.client.post(path, data={**data, "csrf_token": "0" * 64})
        assert forged.status_code == 403, path
    page = await ui.page("/ui/settings")
    assert "sneaky" not in page.text


async def test_another_organizations_key_is_a_404(ui: Ui, app: FastAPI) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sightline.test"
    ) as api:
        tenant = await new_tenant(app, api)
        other = await signed_in(app, tenant)
        try:
            page = (await other.page("/ui/settings")).text
            key_id = re.search(r'action="/ui/settings/keys/([0-9a-f-]{36})/revoke"', page)
            assert key_id
            answer = await ui.form(f"/ui/settings/keys/{key_id.group(1)}/revoke")
            assert answer.status_code == 404
            assert tenant.api_key[:10] not in (await ui.page("/ui/settings")).text
            headers = {"X-API-Key": tenant.api_key, "X-Project-Name": "p"}
            assert (await api.get("/traces", headers=headers)).status_code == 200
        finally:
            await other.client.aclose()


async def test_revoking_the_sessions_own_key_signs_it_out(ui: Ui, app: FastAPI) -> None:
    created = await ui.form("/ui/settings/keys", {"name": "short-lived"})
    found = KEY.search(created.text)
    assert found
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sightline.test") as c:
        assert (await sign_in(c, found.group(1))).status_code == 303
        page = (await c.get("/ui/settings")).text
        own = re.search(
            r'action="/ui/settings/keys/([0-9a-f-]{36})/revoke"[^>]*>\s*<input[^>]*>\s*'
            r"<p>Revoke “short-lived”[^<]*<strong>This is the key you are signed in with",
            page,
        )
        assert own, "the session's own key is marked"
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token
        answer = await c.post(
            f"/ui/settings/keys/{own.group(1)}/revoke", data={"csrf_token": token.group(1)}
        )
        assert answer.status_code == 303
        after = await c.get(answer.headers["location"])
        assert after.status_code == 303 and "/ui/sign-in" in after.headers["location"]
        assert "revoked" in after.headers["location"]
    assert (await ui.page("/ui/settings")).status_code == 200

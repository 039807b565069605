"""CSRF tokens: an HMAC of the session id, so a token is only good with its own cookie.

Forms send it as the `csrf_token` field, htmx requests as the `X-CSRF-Token` header (set
once on `<body hx-headers>`). Every state-changing request of the dashboard is checked
(`require_csrf`), the sign-in form's included; SameSite=Lax on the cookie is the second
wall."""

from __future__ import annotations

import hashlib
import hmac

FIELD = "csrf_token"
HEADER = "x-csrf-token"
REFUSED = (
    "This form has expired or did not come from this dashboard. Reload the page and try again."
)


def token_for(secret: str, sid: str) -> str:
    return hmac.new(secret.encode(), f"csrf:{sid}".encode(), hashlib.sha256).hexdigest()


def is_valid(secret: str, sid: str, offered: str | None) -> bool:
    return bool(offered) and hmac.compare_digest(token_for(secret, sid), str(offered))

"""The dashboard's session: a cookie signed with the server's secret.

The cookie holds a random session id (what CSRF tokens are derived from), the SHA-256 of
the API key the person signed in with (never the key itself), the chosen project and when
it was issued. Every request re-resolves the key through the `AuthResolver`, so a revoked
key ends its sessions within `SIGHTLINE_AUTH_CACHE_SECONDS`, and a project of another
organization is never reached. The session itself is a row (`dashboard_session`, written
at sign-in, deleted at sign-out), checked on every page: signing out ends it on the
server, so a copy of the cookie taken before is refused too. A visitor who has not signed
in gets a session without a key, so the sign-in form carries a CSRF token too.
"""

from __future__ import annotations

import os
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from sightline.config import Settings

COOKIE_NAME = "sightline_session"
MAX_AGE_SECONDS = 12 * 3600  # a signed-in session lasts a working day, then asks again
MAX_AGE = timedelta(seconds=MAX_AGE_SECONDS)
SECRET_FILE = "secret_key"
_SALT = "sightline.web.session"


@dataclass(frozen=True, slots=True)
class SessionData:
    sid: str
    key_hash: str | None = None
    project_id: uuid.UUID | None = None

    @property
    def signed_in(self) -> bool:
        return self.key_hash is not None


def new_session(key_hash: str | None = None, project_id: uuid.UUID | None = None) -> SessionData:
    """A fresh id on every sign-in and sign-out, so an id seen before sign-in is worthless."""
    return SessionData(secrets.token_urlsafe(24), key_hash, project_id)


def load_secret(settings: Settings) -> str:
    """SIGHTLINE_SECRET_KEY, else the one generated on first use into the data directory
    (created exclusively, so processes starting together agree on one)."""
    if settings.secret_key:
        return settings.secret_key
    path = Path(settings.data_dir) / SECRET_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        secret = path.read_text().strip()
        if len(secret) >= 32:
            return secret
        raise RuntimeError(f"{path} holds no usable secret; delete it to make a new one") from None
    with os.fdopen(fd, "w") as out:
        secret = secrets.token_urlsafe(48)
        out.write(secret + "\n")
    return secret


class SessionCodec:
    def __init__(self, secret: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt=_SALT)
        self.secret = secret

    def read(self, request: Request) -> SessionData | None:
        raw = request.cookies.get(COOKIE_NAME)
        if not raw:
            return None
        try:
            data = self._serializer.loads(raw, max_age=MAX_AGE_SECONDS)
            project = data.get("p")
            return SessionData(
                str(data["s"]), data.get("k"), uuid.UUID(project) if project else None
            )
        except (BadSignature, KeyError, TypeError, ValueError, AttributeError):
            return None

    def write(self, request: Request, response: Response, session: SessionData) -> None:
        value = self._serializer.dumps(
            {
                "s": session.sid,
                "k": session.key_hash,
                "p": str(session.project_id) if session.project_id else None,
            }
        )
        response.set_cookie(
            COOKIE_NAME,
            value,
            max_age=MAX_AGE_SECONDS,
            path=cookie_path(request),
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )

    def clear(self, request: Request, response: Response) -> None:
        response.delete_cookie(
            COOKIE_NAME,
            path=cookie_path(request),
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )


def cookie_path(request: Request) -> str:
    """Only the dashboard's paths carry the cookie; the API never sees it."""
    return str(request.scope.get("root_path", "")).rstrip("/") or "/"

"""Pure ASGI middleware (no BaseHTTPMiddleware: it costs a task per request)."""

from __future__ import annotations

import re
import uuid

from starlette.datastructures import MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Client-supplied request IDs are echoed and logged, so only a safe shape is trusted.
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


async def _nothing_more() -> Message:
    return {"type": "http.disconnect"}


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next(
            (v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"), ""
        )
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["X-Request-ID"] = request_id
            await send(message)

        await self.app(scope, receive, send_with_id)


class BodyLimitMiddleware:
    """Refuses bodies over the limit with 413, whether or not Content-Length is sent.

    A declared length is trusted for the refusal and enforced by the server (h11 stops at
    it); a body without one is read here first, bounded by the limit."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for key, value in scope["headers"]:
            if key == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                response = JSONResponse({"detail": self._message()}, status_code=413)
                await response(scope, receive, send)
                return
        if any(key == b"content-length" for key, _ in scope["headers"]):
            await self.app(scope, receive, send)
            return
        buffered = await self._buffered(receive)
        if buffered is None:  # a framed (chunked) body over the limit
            response = JSONResponse({"detail": self._message()}, status_code=413)
            await response(scope, _nothing_more, send)
            return
        await self.app(scope, buffered, send)

    async def _buffered(self, receive: Receive) -> Receive | None:
        """Reads a body sent without Content-Length (chunked) up to the limit, before the
        app sees any of it, so that over the limit the answer is a 413 and not the
        framework's "error parsing the body". None: the body is over the limit."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                replay: list[Message] = [message]
                break
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                return None
            if not message.get("more_body", False):
                replay = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]
                break

        async def replayed() -> Message:
            return replay.pop(0) if replay else await receive()

        return replayed

    def _message(self) -> str:
        return f"Request body exceeds the limit of {self.max_bytes} bytes."

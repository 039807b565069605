"""A real local HTTP server speaking OpenAI's chat-completions and embeddings protocol.

It stands in for every LLM provider in tests and benchmarks (bench/fake_judge.py runs it as
a process). It runs in a background thread, so sync tests, async tests and other processes
can all talk to it over real HTTP.

Scripting, per test:
    server.answers["TaskAnswer"] = {"task": "...", "outcome": "..."}   # by json_schema name
    server.answers["Verdict"] = lambda request: {...}                   # or computed
    server.responder = lambda request: Reply(status=500)                # full control
    server.fail_next(429, times=2, retry_after=0.2)                     # transient faults
    server.malformed_next(times=2)                                      # bad JSON answers
    server.slow_next(seconds=2.0)                                       # for timeouts
Unscripted schemas get a plausible default answer built from the schema itself.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

EMBEDDING_DIMENSIONS = 256
_WORD = re.compile(r"\w+")


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict/list → JSON body; str → answer content of a 200 chat completion
    headers: dict[str, str] = field(default_factory=dict)
    delay_seconds: float = 0.0


@dataclass
class RecordedRequest:
    path: str
    body: dict[str, Any]
    headers: dict[str, str]
    received_at: float

    @property
    def schema_name(self) -> str | None:
        response_format = self.body.get("response_format") or {}
        return (response_format.get("json_schema") or {}).get("name")

    @property
    def prompt_text(self) -> str:
        return "\n".join(str(m.get("content", "")) for m in self.body.get("messages", []))

    @property
    def prompt_tokens(self) -> int:
        """The prompt tokens this fake reports in the usage of its answer to the request."""
        return _estimate_tokens(json.dumps(self.body.get("messages", [])))


Answer = Any  # dict | str | Callable[[dict], dict | str]


class DroppedRequest(Exception):
    """A held request released with ``drop``: its connection is closed without a reply."""


@dataclass
class _Gate:
    opened: threading.Event = field(default_factory=threading.Event)
    dropped: bool = False


class FakeJudgeServer:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        latency_seconds: float = 0.0,
        rpm_limit: int | None = None,
        error_rate: float = 0.0,
        api_key: str | None = None,
        known_models: set[str] | None = None,
        context_limit_tokens: int | None = None,
        seed: int = 0,
    ) -> None:
        self.latency_seconds = latency_seconds
        self.rpm_limit = rpm_limit
        self.error_rate = error_rate
        self.api_key = api_key
        self.known_models = known_models
        self.context_limit_tokens = context_limit_tokens
        self.answers: dict[str, Answer] = {}
        self.responder: Callable[[dict[str, Any]], Reply | dict[str, Any] | str | None] | None = (
            None
        )
        self.requests: list[RecordedRequest] = []
        self.answered = 0  # replies actually written to a client (any status)
        self.statuses: Counter[int] = Counter()  # the same replies, by HTTP status
        self.in_flight = 0
        self._gate: _Gate | None = None
        self.max_in_flight = 0
        self._faults: deque[Reply] = deque()
        self._accepted_at: deque[float] = deque()
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._httpd = ThreadingHTTPServer((host, port), _make_handler(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------
    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """The api_base to give LiteLLM (``openai/<any-name>`` models)."""
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeJudgeServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FakeJudgeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- scripting ----------------------------------------------------------------------
    def fail_next(
        self, status: int, times: int = 1, retry_after: float | None = None, message: str = ""
    ) -> None:
        headers = {"retry-after": f"{retry_after:g}"} if retry_after is not None else {}
        body = _error_body(message or f"scripted failure {status}", "server_error", None)
        for _ in range(times):
            self._faults.append(Reply(status=status, body=body, headers=headers))

    def malformed_next(self, times: int = 1, content: str = "Sure! The score is high.") -> None:
        for _ in range(times):
            self._faults.append(Reply(status=200, body=content))

    def slow_next(self, seconds: float, times: int = 1) -> None:
        for _ in range(times):
            self._faults.append(Reply(status=200, body=None, delay_seconds=seconds))

    def hold(self) -> None:
        """Keep every request that arrives from now on waiting, unanswered (a crash test
        kills the client while its calls are in flight)."""
        self._gate = _Gate()

    def release(self, *, drop: bool) -> None:
        """Let held requests go on; with ``drop``, close their connections unanswered."""
        gate, self._gate = self._gate, None
        if gate is not None:
            gate.dropped = drop
            gate.opened.set()

    def chat_requests(self, schema_name: str | None = None) -> list[RecordedRequest]:
        return [
            r
            for r in self.requests
            if r.path.endswith("chat/completions")
            and (schema_name is None or r.schema_name == schema_name)
        ]

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.answered = 0
            self.statuses.clear()
            self._faults.clear()
            self.max_in_flight = self.in_flight
        self.answers.clear()
        self.responder = None

    # -- request handling (called from server threads) -----------------------------------
    def handle(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> Reply:
        with self._lock:
            self.requests.append(RecordedRequest(path, body, headers, time.time()))
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            gate = self._gate
            if gate is not None:
                gate.opened.wait()
                if gate.dropped:
                    raise DroppedRequest()
            reply = self._decide(path, body, headers)
            time.sleep(self.latency_seconds + reply.delay_seconds)
            return reply
        finally:
            with self._lock:
                self.in_flight -= 1

    def _decide(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> Reply:
        if self.api_key is not None and headers.get("authorization") != f"Bearer {self.api_key}":
            return Reply(
                401,
                _error_body(
                    "Incorrect API key provided.", "invalid_request_error", "invalid_api_key"
                ),
            )
        model = str(body.get("model", ""))
        if self.known_models is not None and model not in self.known_models:
            message = f"The model `{model}` does not exist or you do not have access to it."
            return Reply(404, _error_body(message, "invalid_request_error", "model_not_found"))
        with self._lock:
            fault = self._faults.popleft() if self._faults else None
            throttle = self._throttle() if fault is None else None
        if throttle is not None:
            return throttle
        if fault is None and self.error_rate and self._rng.random() < self.error_rate:
            fault = Reply(500, _error_body("scripted random failure", "server_error", None))
        if fault is not None and (fault.status != 200 or isinstance(fault.body, str)):
            return fault
        reply = self._answer(path, body)
        if fault is not None:
            reply.delay_seconds = fault.delay_seconds
        return reply

    def _throttle(self) -> Reply | None:
        """A 429 once more than rpm_limit requests arrived in the last 60 s (sliding window)."""
        if self.rpm_limit is None:
            return None
        now = time.monotonic()
        while self._accepted_at and now - self._accepted_at[0] >= 60.0:
            self._accepted_at.popleft()
        if len(self._accepted_at) >= self.rpm_limit:
            wait = max(0.05, 60.0 - (now - self._accepted_at[0]))
            return Reply(
                429,
                _error_body("Rate limit reached for requests", "requests", "rate_limit_exceeded"),
                {"retry-after": f"{wait:.3f}", "retry-after-ms": str(int(wait * 1000))},
            )
        self._accepted_at.append(now)
        return None

    def _answer(self, path: str, body: dict[str, Any]) -> Reply:
        if path.endswith("embeddings"):
            return Reply(200, _embedding_response(body))
        prompt_tokens = _estimate_tokens(json.dumps(body.get("messages", [])))
        if self.context_limit_tokens is not None and prompt_tokens > self.context_limit_tokens:
            message = (
                f"This model's maximum context length is {self.context_limit_tokens} tokens. "
                f"However, your messages resulted in {prompt_tokens} tokens."
            )
            return Reply(
                400, _error_body(message, "invalid_request_error", "context_length_exceeded")
            )
        content = self._content_for(body)
        if isinstance(content, Reply):
            return content
        return Reply(200, content)

    def _content_for(self, body: dict[str, Any]) -> str | Reply:
        if self.responder is not None:
            scripted = self.responder(body)
            if isinstance(scripted, Reply):
                return scripted
            if scripted is not None:
                return scripted if isinstance(scripted, str) else json.dumps(scripted)
        json_schema = (body.get("response_format") or {}).get("json_schema") or {}
        answer = self.answers.get(str(json_schema.get("name")))
        if callable(answer):
            answer = answer(body)
        if answer is None:
            answer = default_answer(json_schema.get("schema") or {})
        return answer if isinstance(answer, str) else json.dumps(answer)


def chat_completion(body: dict[str, Any], content: str) -> dict[str, Any]:
    prompt_tokens = _estimate_tokens(json.dumps(body.get("messages", [])))
    completion_tokens = _estimate_tokens(content)
    return {
        "id": f"chatcmpl-fake-{time.time_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "fake"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def default_answer(schema: dict[str, Any], defs: dict[str, Any] | None = None) -> Any:
    """A plausible value for any JSON schema: scores 0.8, strings "fake", empty lists."""
    defs = defs if defs is not None else schema.get("$defs", {})
    if "$ref" in schema:
        return default_answer(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
    if "anyOf" in schema:
        return default_answer(schema["anyOf"][0], defs)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        return {k: default_answer(v, defs) for k, v in schema.get("properties", {}).items()}
    if kind == "array":
        return []
    if kind in ("number", "integer"):
        return 0.8 if kind == "number" else 1
    if kind == "boolean":
        return True
    return "fake"


def embed_text(text: str) -> list[float]:
    """Hashed bag of words: texts sharing words get similar vectors, deterministically."""
    vector = [0.0] * EMBEDDING_DIMENSIONS
    for word in _WORD.findall(text.lower()):
        digest = hashlib.sha256(word.encode()).digest()
        vector[int.from_bytes(digest[:4], "big") % EMBEDDING_DIMENSIONS] += 1.0
    norm = math.sqrt(sum(x * x for x in vector))
    if norm == 0:
        vector[0] = 1.0
        return vector
    return [x / norm for x in vector]


def _embedding_response(body: dict[str, Any]) -> dict[str, Any]:
    raw = body.get("input", [])
    texts = [raw] if isinstance(raw, str) else [str(t) for t in raw]
    tokens = sum(_estimate_tokens(t) for t in texts)
    return {
        "object": "list",
        "model": body.get("model", "fake-embedding"),
        "data": [
            {"object": "embedding", "index": i, "embedding": embed_text(t)}
            for i, t in enumerate(texts)
        ],
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


def _error_body(message: str, kind: str, code: str | None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def _estimate_tokens(text: str) -> int:
    return max(1, (len(text) + 3) // 4)


def _make_handler(server: FakeJudgeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, like real providers
        # http.server writes headers and body separately; without TCP_NODELAY, Nagle's
        # algorithm plus delayed ACKs add ~40 ms to every answer.
        disable_nagle_algorithm = True

        def do_POST(self) -> None:  # noqa: N802 - stdlib naming
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b"{}"
            try:
                body = json.loads(raw or b"{}")
            except json.JSONDecodeError:
                self._send(
                    Reply(400, _error_body("invalid JSON body", "invalid_request_error", None))
                )
                return
            path = self.path.split("?", 1)[0].rstrip("/")
            if not path.endswith(("/chat/completions", "/embeddings")):
                self._send(
                    Reply(404, _error_body(f"unknown path {path}", "invalid_request_error", None))
                )
                return
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                reply = server.handle(path, body, headers)
            except DroppedRequest:
                self.close_connection = True
                return
            if reply.status == 200 and isinstance(reply.body, str):
                reply = Reply(200, chat_completion(body, reply.body), reply.headers)
            self._send(reply)

        def _send(self, reply: Reply) -> None:
            payload = json.dumps(reply.body if reply.body is not None else {}).encode()
            try:
                self.send_response(reply.status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)
                self.wfile.flush()
                with server._lock:
                    server.answered += 1
                    server.statuses[reply.status] += 1
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test); nothing to tell it

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

    return Handler

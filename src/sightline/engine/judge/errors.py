"""The retry taxonomy: the one place that decides which judge failures are worth retrying.

| what happened                                   | becomes                 | retried? |
|-------------------------------------------------|-------------------------|----------|
| 429 (rate limit), Retry-After honoured          | JudgeRateLimited             | yes      |
| 5xx, 503, timeout, connection error             | RetryableJudgeError     | yes      |
| context window exceeded                         | ContextOverflow         | no       |
| 401 / 403                                       | JudgeAuthError          | no       |
| 404, unknown model/provider, other 4xx          | JudgeModelError         | no       |
| anything else unexpected                        | PermanentJudgeError     | no       |

LiteLLM maps every provider's errors onto the OpenAI exception classes, so classifying those
(plus the bare status code as a fallback) covers all providers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from sightline.engine.errors import (
    ContextOverflow,
    EngineError,
    JudgeAuthError,
    JudgeModelError,
    JudgeRateLimited,
    PermanentJudgeError,
    RetryableJudgeError,
)
from sightline.engine.judge._litellm import load_litellm

_CONTEXT_MARKERS = ("context_length_exceeded", "context window", "maximum context length")


def classify(exc: BaseException) -> EngineError:
    """Map any exception raised by a judge call onto the engine's error tree."""
    if isinstance(exc, EngineError):
        return exc
    load_litellm()  # already imported by the call that failed; lazy for start-up speed
    from litellm import exceptions as llm

    message = _message(exc)
    overflow = isinstance(exc, llm.ContextWindowExceededError)
    if overflow or (isinstance(exc, llm.BadRequestError) and _mentions_context(message)):
        return ContextOverflow(message)
    if isinstance(exc, llm.RateLimitError):
        return JudgeRateLimited(message, retry_after_from(exc))
    if isinstance(exc, llm.Timeout | asyncio.TimeoutError | TimeoutError):
        return RetryableJudgeError(f"judge call timed out: {message}")
    if isinstance(exc, llm.AuthenticationError | llm.PermissionDeniedError):
        return JudgeAuthError(message)
    if isinstance(exc, llm.NotFoundError | llm.BadRequestError):
        return JudgeModelError(message)
    if isinstance(exc, llm.APIConnectionError | ConnectionError):
        return RetryableJudgeError(f"cannot reach the judge: {message}")
    return _classify_by_status(exc, message)


def _classify_by_status(exc: BaseException, message: str) -> EngineError:
    status = getattr(exc, "status_code", None)
    if not isinstance(status, int):
        return PermanentJudgeError(message)
    if status == 429:
        return JudgeRateLimited(message, retry_after_from(exc))
    if status >= 500 or status == 408:
        return RetryableJudgeError(message)
    if status in (401, 403):
        return JudgeAuthError(message)
    return JudgeModelError(message)


def retry_after_from(exc: BaseException) -> float | None:
    """Seconds the provider asked us to wait, from retry-after-ms or Retry-After headers."""
    headers = getattr(exc, "litellm_response_headers", None)
    if headers is None:
        response = getattr(exc, "response", None)
        headers = getattr(response, "headers", None)
    if not isinstance(headers, Mapping) and not hasattr(headers, "get"):
        return None
    return parse_retry_after(headers)


def parse_retry_after(headers: Any) -> float | None:
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return max(0.0, float(millis) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(str(value))
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    seconds: float = (when - datetime.now(UTC)).total_seconds()
    return max(0.0, seconds)


def _message(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 500 else text[:500] + "…"


def _mentions_context(message: str) -> bool:
    lowered = message.lower()
    return any(marker in lowered for marker in _CONTEXT_MARKERS)

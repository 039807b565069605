"""The engine's exception tree. Everything a metric can fail with is an ``EngineError``.

    EngineError
    ├── JudgeError                    a judge (LLM or embedding) call did not give a usable answer
    │   ├── RetryableJudgeError       transient: worth trying again later (the retry loop does)
    │   │   └── JudgeRateLimited      HTTP 429; carries the provider's Retry-After, if any
    │   └── PermanentJudgeError       retrying cannot help: fail the metric with this message
    │       ├── JudgeAuthError        401/403: bad or missing key
    │       ├── JudgeModelError       404 / unknown model / bad request
    │       ├── UnparseableAnswer     not valid JSON for the schema even after one repair
    │       └── ContextOverflow       the trace cannot fit the judge's context window
    ├── BudgetExhausted               the run's cost cap is spent; no new judge calls
    └── MissingDependency             an optional extra (e.g. local embeddings) is not installed

The executor maps ContextOverflow to its own failed status (never a score of 0) and
RetryableJudgeError that survived every attempt to "failed, retry later".
"""

from __future__ import annotations

from typing import Any


class EngineError(Exception):
    """Base of every error the evaluation engine raises on purpose.

    `usage` is what was spent before the failure (a judge.types.Usage, or None when
    nothing was): failed pairs are accounted like scored ones.
    """

    usage: Any = None


class JudgeError(EngineError):
    pass


class RetryableJudgeError(JudgeError):
    pass


class JudgeRateLimited(RetryableJudgeError):
    def __init__(self, message: str, retry_after_seconds: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class PermanentJudgeError(JudgeError):
    pass


class JudgeAuthError(PermanentJudgeError):
    pass


class JudgeModelError(PermanentJudgeError):
    pass


class UnparseableAnswer(PermanentJudgeError):
    pass


class ContextOverflow(PermanentJudgeError):
    pass


class BudgetExhausted(EngineError):
    pass


class MissingDependency(EngineError):
    pass

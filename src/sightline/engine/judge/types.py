"""The judge's small interface: a structured-JSON completion and a batch embedding."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel

AnswerT = TypeVar("AnswerT", bound=BaseModel)

JUDGE_SYSTEM_PROMPT = (
    "You are Sightline's evaluation judge for AI-agent traces. Read the material, then reply "
    "with a single JSON object that matches the requested schema, filling in its fields in "
    "order: write your reasoning in the reason fields before you give any score or verdict. "
    "No prose outside the JSON, no markdown."
)


@dataclass(frozen=True, slots=True)
class Usage:
    """What judge calls cost. Summable, so a metric can add up its stages."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    requests: int = 0  # HTTP requests actually sent (retries and repairs included)
    cached: int = 0  # answers served from the judge cache (no request, no cost)
    notes: tuple[str, ...] = ()

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            cost_usd=self.cost_usd + other.cost_usd,
            requests=self.requests + other.requests,
            cached=self.cached + other.cached,
            notes=tuple(dict.fromkeys(self.notes + other.notes)),
        )

    def __sub__(self, other: Usage) -> Usage:
        """What is left of this usage without ``other`` (notes are kept)."""
        return Usage(
            prompt_tokens=self.prompt_tokens - other.prompt_tokens,
            completion_tokens=self.completion_tokens - other.completion_tokens,
            cost_usd=self.cost_usd - other.cost_usd,
            requests=self.requests - other.requests,
            cached=self.cached - other.cached,
            notes=self.notes,
        )

    def as_metadata(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cost_usd": round(self.cost_usd, 8),
            "requests": self.requests,
            "cached": self.cached,
        }
        if self.notes:
            data["notes"] = list(self.notes)
        return data


@dataclass(frozen=True, slots=True)
class JudgeRequest(Generic[AnswerT]):
    """One structured question: the prompt plus the Pydantic model the answer must satisfy."""

    prompt: str
    answer_model: type[AnswerT]
    stage: str = "judge"
    system: str = JUDGE_SYSTEM_PROMPT
    # Checks what a schema cannot express (one verdict per listed call, say): raises
    # ValueError naming the problem, which earns the judge its one repair request.
    check: Callable[[AnswerT], None] | None = None
    # Part of the judge-cache key besides model, messages and schema (a custom metric's
    # name and version: an edited metric never reuses an older version's answers).
    cache_scope: str | None = None

    @property
    def schema_name(self) -> str:
        return self.answer_model.__name__

    def messages(self) -> list[dict[str, str]]:
        return [
            {"role": "system", "content": self.system},
            {"role": "user", "content": self.prompt},
        ]


@dataclass(frozen=True, slots=True)
class JudgeResult(Generic[AnswerT]):
    answer: AnswerT
    usage: Usage
    model: str
    cached: bool = False
    repaired: bool = False


@dataclass(frozen=True, slots=True)
class EmbeddingResult:
    vectors: tuple[tuple[float, ...], ...]
    usage: Usage = field(default_factory=Usage)
    model: str = ""


class JudgeClient(Protocol):
    """What metrics need from a judge. LiteLLMJudge is the real one; tests use it too."""

    @property
    def model(self) -> str: ...

    async def complete(self, request: JudgeRequest[AnswerT]) -> JudgeResult[AnswerT]: ...

    async def embed(self, texts: list[str]) -> EmbeddingResult: ...

"""The judge: a small client interface, its LiteLLM implementation, and the retry taxonomy."""

from sightline.engine.judge._litellm import warm_up
from sightline.engine.judge.cache import (
    CachedAnswer,
    EmbeddingCache,
    InMemoryEmbeddingCache,
    InMemoryJudgeCache,
    JudgeCache,
    judge_cache_key,
)
from sightline.engine.judge.catalog import resolve_model
from sightline.engine.judge.litellm_client import LiteLLMJudge
from sightline.engine.judge.retry import RetryPolicy
from sightline.engine.judge.types import (
    EmbeddingResult,
    JudgeClient,
    JudgeRequest,
    JudgeResult,
    Usage,
)

__all__ = [
    "CachedAnswer",
    "EmbeddingCache",
    "EmbeddingResult",
    "InMemoryEmbeddingCache",
    "InMemoryJudgeCache",
    "JudgeCache",
    "JudgeClient",
    "JudgeRequest",
    "JudgeResult",
    "LiteLLMJudge",
    "RetryPolicy",
    "Usage",
    "judge_cache_key",
    "resolve_model",
    "warm_up",
]

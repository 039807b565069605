"""The LiteLLM judge: structured JSON answers and embeddings from any provider LiteLLM routes
to, including any OpenAI-compatible server via ``api_base``.

Per request: judge cache → budget check → rate bucket + concurrency slot → HTTP call (our own
retry taxonomy; LiteLLM's and the OpenAI SDK's retries are switched off) → parse, with exactly
one repair request for an invalid answer → accounting → cache.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

from sightline.config import JudgeSettings
from sightline.engine.budget import Budget
from sightline.engine.errors import UnparseableAnswer
from sightline.engine.judge._litellm import load_litellm
from sightline.engine.judge.cache import (
    CachedAnswer,
    EmbeddingCache,
    InMemoryEmbeddingCache,
    JudgeCache,
    judge_cache_key,
)
from sightline.engine.judge.catalog import estimate_tokens, price, resolve_model
from sightline.engine.judge.local_embeddings import LOCAL_PREFIX, embed_locally
from sightline.engine.judge.parsing import (
    InvalidAnswer,
    parse_answer,
    repair_messages,
    strict_schema,
)
from sightline.engine.judge.retry import RetryPolicy, Sleep, with_retries
from sightline.engine.judge.types import AnswerT, EmbeddingResult, JudgeRequest, JudgeResult, Usage
from sightline.engine.limits import Limits

# Room reserved in the tokens/min bucket for the judge's reply.
_COMPLETION_ALLOWANCE_TOKENS = 400
# Embedding models accept ~8k tokens; longer texts are cut rather than rejected.
_MAX_EMBED_CHARS = 16_000


class LiteLLMJudge:
    """Cheap to construct: make one per run (it binds that run's model, cache and budget)
    and share one ``Limits`` per process between them."""

    def __init__(
        self,
        settings: JudgeSettings,
        *,
        model: str | None = None,
        limits: Limits | None = None,
        cache: JudgeCache | None = None,
        embedding_cache: EmbeddingCache | None = None,
        budget: Budget | None = None,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._settings = settings
        self._model = resolve_model(model or settings.model)
        self._limits = limits or Limits.from_settings(settings)
        self._cache = cache
        self._embedding_cache = embedding_cache or InMemoryEmbeddingCache()
        self._budget = budget or Budget()
        self._policy = RetryPolicy.from_settings(settings)
        self._sleep = sleep
        self._rng = rng or random.Random()

    @property
    def model(self) -> str:
        return self._model

    @property
    def limits(self) -> Limits:
        return self._limits

    async def complete(self, request: JudgeRequest[AnswerT]) -> JudgeResult[AnswerT]:
        messages = request.messages()
        schema = strict_schema(request.answer_model)
        key = judge_cache_key(self._model, messages, schema, request.cache_scope)
        if self._cache is not None:
            hit = await self._cache.get(key)
            if hit is not None:
                try:
                    answer = parse_answer(hit.content, request.answer_model, request.check)
                except InvalidAnswer:
                    pass  # cached before a check existed, or by another shape: ask again
                else:
                    return JudgeResult(answer, Usage(cached=1), self._model, cached=True)

        content, usage = await self._chat(messages, schema, request.schema_name)
        repaired = False
        try:
            answer = parse_answer(content, request.answer_model, request.check)
        except InvalidAnswer as problem:
            retry_messages = repair_messages(messages, content, str(problem))
            content, repair_usage = await self._chat(retry_messages, schema, request.schema_name)
            usage += repair_usage
            repaired = True
            try:
                answer = parse_answer(content, request.answer_model, request.check)
            except InvalidAnswer as final:
                error = UnparseableAnswer(
                    f"{self._model} gave no valid {request.schema_name} JSON "
                    f"after one repair: {final}"
                )
                error.usage = usage  # both answers were paid for
                raise error from final

        if self._cache is not None and content is not None:
            await self._cache.put(
                key,
                CachedAnswer(
                    content,
                    self._model,
                    usage.prompt_tokens,
                    usage.completion_tokens,
                    usage.cost_usd,
                ),
            )
        return JudgeResult(answer, usage, self._model, repaired=repaired)

    async def _chat(
        self, messages: list[dict[str, str]], schema: dict[str, Any], schema_name: str
    ) -> tuple[str | None, Usage]:
        litellm = load_litellm()
        kwargs = self._connection(self._settings.api_base, self._settings.api_key)
        kwargs.update(
            model=self._model,
            messages=messages,
            temperature=self._settings.temperature,
            response_format={
                "type": "json_schema",
                "json_schema": {"name": schema_name, "schema": schema, "strict": True},
            },
        )
        estimated = (
            sum(estimate_tokens(m["content"]) for m in messages) + _COMPLETION_ALLOWANCE_TOKENS
        )
        attempts = 0

        async def attempt() -> Any:
            nonlocal attempts
            self._budget.check()
            async with self._limits.slot(self._model, estimated):
                attempts += 1
                return await self._charged(litellm.acompletion(**kwargs))

        response = await with_retries(
            attempt,
            policy=self._policy,
            limits=self._limits,
            model=self._model,
            sleep=self._sleep,
            rng=self._rng,
        )
        usage = self._account(response, attempts, embedding=False)
        return response.choices[0].message.content, usage

    async def embed(self, texts: list[str]) -> EmbeddingResult:
        model = self._settings.embedding_model
        wanted = list(dict.fromkeys(text[:_MAX_EMBED_CHARS] for text in texts))
        known = await self._embedding_cache.get_many(model, wanted)
        missing = [text for text in wanted if text not in known]
        usage = Usage(cached=len(wanted) - len(missing))
        if missing:
            vectors, fetch_usage = await self._fetch_embeddings(model, missing)
            fresh = dict(zip(missing, vectors, strict=True))
            await self._embedding_cache.put_many(model, fresh)
            known.update(fresh)
            usage += fetch_usage
        ordered = tuple(known[text[:_MAX_EMBED_CHARS]] for text in texts)
        return EmbeddingResult(ordered, usage, model)

    async def _fetch_embeddings(
        self, model: str, texts: list[str]
    ) -> tuple[list[tuple[float, ...]], Usage]:
        if model.startswith(LOCAL_PREFIX):
            return await embed_locally(model, texts), Usage(notes=("local embedding model",))
        litellm = load_litellm()
        kwargs = self._connection(
            self._settings.embedding_api_base, self._settings.embedding_api_key
        )
        kwargs.update(model=model, input=texts)
        estimated = sum(estimate_tokens(t) for t in texts)
        attempts = 0

        async def attempt() -> Any:
            nonlocal attempts
            self._budget.check()
            async with self._limits.slot(model, estimated):
                attempts += 1
                return await self._charged(litellm.aembedding(**kwargs))

        response = await with_retries(
            attempt,
            policy=self._policy,
            limits=self._limits,
            model=model,
            sleep=self._sleep,
            rng=self._rng,
        )
        vectors = [tuple(float(x) for x in _field(item, "embedding")) for item in response.data]
        return vectors, self._account(response, attempts, embedding=True, model=model)

    def _connection(self, api_base: str | None, api_key: str | None) -> dict[str, Any]:
        # Our retry taxonomy is the only retry: LiteLLM's and the OpenAI SDK's are switched off.
        kwargs: dict[str, Any] = {
            "timeout": self._settings.timeout_seconds,
            "num_retries": 0,
            "max_retries": 0,
        }
        if api_base:
            kwargs["api_base"] = api_base
        if api_key:
            kwargs["api_key"] = api_key
        return kwargs

    async def _charged(self, call: Any) -> Any:
        """One HTTP request, charged to the run's budget the moment it ends, answered or
        not (a cancelled one never reached an answer and is not charged)."""
        try:
            # Belt and braces: some providers ignore the timeout on streaming sockets.
            response = await asyncio.wait_for(call, timeout=self._settings.timeout_seconds + 5)
        except Exception:
            self._budget.charge(Usage(requests=1))
            raise
        self._budget.charge(Usage(requests=1))
        return response

    def _account(
        self, response: Any, attempts: int, *, embedding: bool, model: str | None = None
    ) -> Usage:
        model = model or self._model
        raw = getattr(response, "usage", None)
        prompt_tokens = int(_field(raw, "prompt_tokens") or 0) if raw is not None else 0
        completion_tokens = int(_field(raw, "completion_tokens") or 0) if raw is not None else 0
        cost, note = price(model, prompt_tokens, completion_tokens, embedding=embedding)
        self._budget.charge(Usage(prompt_tokens, completion_tokens, cost))
        return Usage(
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cost_usd=cost,
            requests=attempts,
            notes=(note,) if note else (),
        )


def _field(obj: Any, name: str) -> Any:
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)

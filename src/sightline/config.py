"""One typed settings object; the only module that reads the environment."""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"

# Where the `sightline eval` client finds the server when --endpoint is not given, first set
# wins: Sightline's own name, then the PandaProbe SDK's, which the quickstart has users export.
CLI_ENDPOINT_ENV_VARS = ("SIGHTLINE_ENDPOINT", "PANDAPROBE_ENDPOINT")


def first_set_env_var(names: Sequence[str]) -> str | None:
    """The first of ``names`` with a non-empty value: the rule Click applies to an option's
    list of env vars (Click reads the value), so the CLI can say which one it came from."""
    return next((name for name in names if os.environ.get(name)), None)


class JudgeSettings(BaseModel):
    """How the LLM judge and the embedding model are reached and limited."""

    model: str = "openai/gpt-4o-mini"
    api_base: str | None = None
    api_key: str | None = None
    temperature: float = 0.0
    timeout_seconds: float = 60.0
    max_concurrency: int = Field(default=16, ge=1, le=1024)
    requests_per_minute: int | None = Field(default=None, ge=1)
    tokens_per_minute: int | None = Field(default=None, ge=1)
    max_attempts: int = Field(default=6, ge=1, le=20)
    backoff_base_seconds: float = 0.5
    backoff_max_seconds: float = 30.0
    prompt_token_budget: int = Field(default=32_000, ge=4_000)
    context_window_tokens: int | None = Field(default=None, ge=5_000)
    embedding_model: str = "openai/text-embedding-3-small"
    embedding_api_base: str | None = None
    embedding_api_key: str | None = None


def _share(limit: int | None, processes: int) -> int | None:
    return None if limit is None else max(1, limit // processes)


class Settings(BaseSettings):
    """Every setting has an env var SIGHTLINE_<NAME>; nested ones use SIGHTLINE_JUDGE__<NAME>
    as well as the documented flat aliases below (SIGHTLINE_JUDGE_MODEL, ...)."""

    model_config = SettingsConfigDict(
        env_prefix="SIGHTLINE_", env_nested_delimiter="__", extra="ignore"
    )

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # Server processes. More than one uses more cores for ingestion; judge rate limits are
    # split between them so that together they keep to the configured limit, unless Redis
    # (redis_url) holds the one budget they all share.
    workers: int = Field(default=1, ge=1, le=64)
    data_dir: Path = Path(".sightline")
    database_url: str | None = None
    environment: str = "production"
    log_level: str = "info"
    cors_origins: list[str] = []
    auth_cache_seconds: float = Field(default=5.0, ge=0)
    # Signs the dashboard's session cookies; unset = generated once into <data_dir>/secret_key.
    secret_key: str | None = Field(default=None, min_length=32)

    init_org: str | None = None
    init_api_key: str | None = None

    max_body_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    max_batch_traces: int = Field(default=1000, ge=1)
    max_run_targets: int = Field(default=10000, ge=1)
    db_pool_size: int = Field(default=10, ge=1)

    run_scheduler: bool = True
    scheduler_interval_seconds: float = Field(default=30.0, gt=0)
    # Evaluation work: in-process queue workers (runs in parallel) and the lease on a
    # claimed (target, metric) task, renewed while it runs; a crashed worker's tasks are
    # claimable again once their lease has expired.
    eval_queue_workers: int = Field(default=4, ge=1, le=64)
    eval_task_lease_seconds: float = Field(default=120.0, ge=1.0)

    # Request rates per API key (token buckets, see ratelimit/): ingestion is every trace and
    # span write, runs every run creation. A bucket holds `burst` requests and refills at
    # `per_second`; 0 per second = unlimited. Ingestion's default is above what one process
    # serves (bench/ingest.py never meets it); it stops a key flooding many replicas.
    rate_limit_ingest_per_second: float = Field(default=1000.0, ge=0)
    rate_limit_ingest_burst: int = Field(default=10_000, ge=1)
    rate_limit_runs_per_second: float = Field(default=10.0, ge=0)
    rate_limit_runs_burst: int = Field(default=100, ge=1)
    # Shared state of the scaled deployment (the per-key rate limits' and the judge's
    # buckets); unset = in-process.
    redis_url: str | None = None
    # Where evaluation runs: `inprocess` (inside `serve`, the embedded default) or `celery`
    # (serve only enqueues; `sightline worker` processes evaluate; Redis is the broker).
    queue: Literal["inprocess", "celery"] = "inprocess"
    # Runs one `sightline worker` process works on at once (Celery's thread pool).
    worker_concurrency: int = Field(default=4, ge=1, le=64)

    judge: JudgeSettings = JudgeSettings()

    # Flat aliases documented in the README and issues (SIGHTLINE_JUDGE_MODEL, ...).
    judge_model: str | None = None
    judge_api_base: str | None = None
    judge_api_key: str | None = None
    judge_max_concurrency: int | None = Field(default=None, ge=1, le=1024)
    judge_rpm: int | None = Field(default=None, ge=1)
    judge_tpm: int | None = Field(default=None, ge=1)
    judge_timeout_seconds: float | None = Field(default=None, gt=0)
    embedding_model: str | None = None
    embedding_api_base: str | None = None
    embedding_api_key: str | None = None

    @property
    def broker_url(self) -> str:
        """The Celery broker: SIGHTLINE_REDIS_URL, else Redis on this machine."""
        return self.redis_url or DEFAULT_REDIS_URL

    @property
    def shared_redis_url(self) -> str | None:
        """The Redis that holds what every process shares (rate limits' buckets): the one
        configured, or with the Celery queue its broker; None in the embedded deployment."""
        return self.broker_url if self.queue == "celery" else self.redis_url

    @cached_property
    def judge_settings(self) -> JudgeSettings:
        """The nested judge section with the flat aliases applied on top."""
        overrides = {
            "model": self.judge_model,
            "api_base": self.judge_api_base,
            "api_key": self.judge_api_key,
            "max_concurrency": self.judge_max_concurrency,
            "requests_per_minute": self.judge_rpm,
            "tokens_per_minute": self.judge_tpm,
            "timeout_seconds": self.judge_timeout_seconds,
            "embedding_model": self.embedding_model,
            "embedding_api_base": self.embedding_api_base,
            "embedding_api_key": self.embedding_api_key,
        }
        judge = self.judge.model_copy(update={k: v for k, v in overrides.items() if v is not None})
        if self.workers > 1 and not self.shared_redis_url:
            judge = judge.model_copy(
                update={
                    "requests_per_minute": _share(judge.requests_per_minute, self.workers),
                    "tokens_per_minute": _share(judge.tokens_per_minute, self.workers),
                }
            )
        return judge

    def provider_env_present(self, names: tuple[str, ...]) -> bool:
        """Whether any of a provider's own env vars (OPENAI_API_KEY, ...) is set; LiteLLM
        reads them itself, this only lets run creation refuse an unconfigured provider."""
        return any(os.environ.get(name) for name in names)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return _with_async_driver(self.database_url)
        return f"sqlite+aiosqlite:///{(self.data_dir / 'sightline.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")


# The drivers Sightline ships; a URL written without one (as most tools print it) gets it.
_ASYNC_DRIVERS = {
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
}


def _with_async_driver(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    return f"{_ASYNC_DRIVERS[scheme]}{sep}{rest}" if sep and scheme in _ASYNC_DRIVERS else url

"""Which judge providers are usable, and the check that refuses a run whose judge model
could never be reached (PandaProbe accepts it and fails every metric later, §6 item 15)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sightline.config import Settings
from sightline.db.models import CustomMetric
from sightline.engine.judge.catalog import resolve_model
from sightline.engine.judge.local_embeddings import LOCAL_PREFIX
from sightline.engine.metrics import get_metric
from sightline.engine.metrics.custom import Kind
from sightline.errors import DomainValidationError

# LiteLLM provider prefix -> the env vars LiteLLM reads its credentials from.
_PROVIDER_ENV: dict[str, tuple[str, ...]] = {
    "openai": ("OPENAI_API_KEY",),
    "anthropic": ("ANTHROPIC_API_KEY",),
    "gemini": ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
    "vertex_ai": ("GOOGLE_CLOUD_PROJECT", "VERTEXAI_PROJECT"),
    "azure": ("AZURE_API_KEY",),
    "bedrock": ("AWS_ACCESS_KEY_ID",),
}
# Servers that usually run locally without a key.
_KEYLESS_PROVIDERS = frozenset({"ollama", "ollama_chat", "lm_studio", "hosted_vllm", "llamafile"})

# GET /evaluations/providers: PandaProbe's four keys, described for Sightline.
_LISTED = (
    ("openai", "OpenAI", "GPT models through the OpenAI API.", "openai"),
    ("anthropic", "Anthropic", "Claude models through the Anthropic API.", "anthropic"),
    ("google_genai", "Google Gemini", "Gemini models through the Gemini API.", "gemini"),
    ("vertex_ai", "Google Vertex AI", "Gemini models through Vertex AI.", "vertex_ai"),
)


def _env_names(provider: str) -> tuple[str, ...]:
    return _PROVIDER_ENV.get(provider, (f"{provider.upper()}_API_KEY",))


def list_providers(settings: Settings) -> list[dict[str, object]]:
    judge = settings.judge_settings
    default_provider = resolve_model(judge.model).partition("/")[0]
    providers = []
    for key, name, description, prefix in _LISTED:
        names = _env_names(prefix)
        via_settings = prefix == default_provider and bool(judge.api_key or judge.api_base)
        available = via_settings or settings.provider_env_present(names)
        if via_settings:
            message = "Configured through SIGHTLINE_JUDGE_API_KEY / SIGHTLINE_JUDGE_API_BASE."
        elif available:
            message = f"Configured through {' / '.join(names)}."
        else:
            message = f"Set {' or '.join(names)} to use this provider."
        providers.append(
            {"key": key, "name": name, "description": description, "available": available,
             "message": message}
        )  # fmt: skip
    return providers


def check_judge_model(settings: Settings, model: str | None) -> str:
    """The resolved model string, or a 422 saying what to configure."""
    judge = settings.judge_settings
    resolved = resolve_model(model or judge.model)
    _check_reachable(
        settings,
        resolved,
        configured=bool(judge.api_base or judge.api_key),
        base_setting="SIGHTLINE_JUDGE_API_BASE",
        key_setting="SIGHTLINE_JUDGE_API_KEY",
        what="judge model",
    )
    return resolved


def check_run_models(
    settings: Settings,
    model: str | None,
    names: Sequence[str],
    custom: Mapping[str, CustomMetric],
    *,
    embeddings: bool = True,
) -> str:
    """The run's resolved judge model, after a 422 for any model the metrics need but
    cannot reach: the run's judge (built-ins, and custom judges without their own model;
    not checked when every metric is a deterministic check), each custom judge's own model,
    and the embedding model (coherence)."""
    builtins = [name for name in names if name not in custom]
    judges = [custom[n] for n in names if n in custom and custom[n].kind == Kind.LLM_JUDGE]
    if builtins or any(not row.config.get("model") for row in judges):
        resolved = check_judge_model(settings, model)
    else:
        resolved = resolve_model(model or settings.judge_settings.model)
    for row in judges:
        if row.config.get("model"):
            check_judge_model(settings, row.config["model"])
    if embeddings and any(get_metric(name).uses_embeddings for name in builtins):
        check_embedding_model(settings)
    return resolved


def check_embedding_model(settings: Settings) -> None:
    judge = settings.judge_settings
    if judge.embedding_model.startswith(LOCAL_PREFIX):
        return
    _check_reachable(
        settings,
        judge.embedding_model,
        configured=bool(judge.embedding_api_base or judge.embedding_api_key),
        base_setting="SIGHTLINE_EMBEDDING_API_BASE",
        key_setting="SIGHTLINE_EMBEDDING_API_KEY",
        what="embedding model (needed by coherence)",
    )


def _check_reachable(
    settings: Settings,
    model: str,
    *,
    configured: bool,
    base_setting: str,
    key_setting: str,
    what: str,
) -> None:
    provider, slash, rest = model.partition("/")
    if not slash or not rest:
        raise DomainValidationError(
            f"Cannot tell which provider serves the {what} '{model}'. Use a LiteLLM model "
            "string with a provider prefix, e.g. 'openai/gpt-4o-mini' or 'ollama/llama3'."
        )
    if configured or provider in _KEYLESS_PROVIDERS:
        return
    names = _env_names(provider)
    if not settings.provider_env_present(names):
        raise DomainValidationError(
            f"The {what} '{model}' cannot be used: provider '{provider}' has no credentials. "
            f"Set {' or '.join(names)}, or point Sightline at an OpenAI-compatible server "
            f"with {base_setting} (and {key_setting})."
        )

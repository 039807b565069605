"""Model-name resolution and pricing (LiteLLM's bundled price map)."""

from __future__ import annotations

from sightline.engine.judge._litellm import load_litellm

_PREFIXES = (
    ("gpt-", "openai/"),
    ("o1-", "openai/"),
    ("o3-", "openai/"),
    ("claude-", "anthropic/"),
    ("gemini-", "gemini/"),
)


def resolve_model(name: str) -> str:
    """PandaProbe's rule (API.md §3.4 step 4): add the provider prefix LiteLLM routes by."""
    for start, prefix in _PREFIXES:
        if name.startswith(start):
            return prefix + name
    return name


def estimate_tokens(text: str) -> int:
    """Cheap and provider-neutral: ~4 characters per token for English and JSON."""
    return (len(text) + 3) // 4


def price(
    model: str, prompt_tokens: int, completion_tokens: int, *, embedding: bool = False
) -> tuple[float, str | None]:
    """Cost in USD, or (0.0, note) when the model is not in the price map."""
    litellm = load_litellm()
    try:
        prompt_cost, completion_cost = litellm.cost_per_token(
            model=model,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            call_type="embedding" if embedding else "completion",
        )
    except Exception:
        return 0.0, f"unpriced model: {model}"
    return float(prompt_cost) + float(completion_cost), None

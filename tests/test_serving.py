"""The serving process's interpreter settings are applied and then restored."""

from __future__ import annotations

import gc
import sys

from sightline import serving as runtime


def test_tuned_for_serving_applies_and_restores() -> None:
    interval, thresholds = sys.getswitchinterval(), gc.get_threshold()
    with runtime.tuned_for_serving():
        assert sys.getswitchinterval() == runtime.SWITCH_INTERVAL_SECONDS
        assert gc.get_threshold() == runtime.GC_THRESHOLDS
        assert gc.get_freeze_count() > 0
    assert sys.getswitchinterval() == interval
    assert gc.get_threshold() == thresholds
    assert gc.get_freeze_count() == 0

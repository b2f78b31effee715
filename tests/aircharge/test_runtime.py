"""The runtime tuning a started process applies (collector, GIL switch interval), and that a
bench cell gives back."""

from __future__ import annotations

import gc
import sys

from aircharge.runtime import settled_heap, switch_interval_s, young_threshold


def test_settled_heap_freezes_what_lives_and_then_restores_the_collector() -> None:
    before, interval = gc.get_threshold(), sys.getswitchinterval()
    assert interval != switch_interval_s, "the default, as a fresh process has it"
    survivor = [object()]
    with settled_heap():
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold()[0] >= young_threshold
        assert gc.get_threshold()[1:] == before[1:]
        assert sys.getswitchinterval() == switch_interval_s
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == before
    assert sys.getswitchinterval() == interval
    assert gc.is_tracked(survivor)

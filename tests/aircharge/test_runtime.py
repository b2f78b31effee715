"""The collector tuning a started process applies, and that a bench cell gives back."""

from __future__ import annotations

import gc

from aircharge.runtime import settled_heap, young_threshold


def test_settled_heap_freezes_what_lives_and_then_restores_the_collector() -> None:
    before = gc.get_threshold()
    survivor = [object()]
    with settled_heap():
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold()[0] >= young_threshold
        assert gc.get_threshold()[1:] == before[1:]
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == before
    assert gc.is_tracked(survivor)

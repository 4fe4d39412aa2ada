"""The batch jobs' heap: the collector skips what was loaded before, collects the young generation
less often inside the block, and leaves no cycle of the block behind."""

from __future__ import annotations

import gc
import weakref

from hbreport.heap import YOUNG_THRESHOLD, frozen_heap


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def test_the_young_generation_is_collected_less_often_inside_the_block_only() -> None:
    before = gc.get_threshold()
    with frozen_heap():
        assert gc.get_threshold() == (max(before[0], YOUNG_THRESHOLD), *before[1:])
    assert gc.get_threshold() == before


def test_cycles_made_in_the_block_are_gone_when_it_ends() -> None:
    with frozen_heap():
        a, b = _Node(), _Node()
        a.other, b.other = b, a  # a cycle: reference counting alone never frees it
        gone = weakref.ref(a)
        del a, b
    assert gone() is None

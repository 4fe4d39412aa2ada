"""Keep the garbage collector off the long-lived heap during a batch job.

A consolidation loads the unit registry (tens of thousands of objects), the catalog and the parsed
form specs once, then reads many files. CPython's oldest-generation collection walks every one of
those objects each time it runs (~30 ms here), and in forked worker processes it also writes to
every page it walks, copying memory the workers could share. ``gc.freeze()`` moves what exists now
to a permanent generation the collector skips; leaving the block first collects what the block
left behind (only its own objects are walked), then moves the frozen ones back.

Inside the block the youngest generation is collected after ``YOUNG_THRESHOLD`` allocations rather than
CPython's 700: reading a workbook makes grids of lists and dicts by the thousand, mostly freed by
reference counting, and a young collection every 700 of them cost more (3 % of a county's
consolidation) than the few cycles it finds; what it leaves waits at most that many objects longer.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_THRESHOLD = 20_000
"""Allocations (less deallocations) between collections of the youngest generation inside the block."""


@contextmanager
def frozen_heap() -> Iterator[None]:
    """Objects alive on entry are not scanned by the collector until the block ends."""
    gc.collect(1)  # drop young garbage first, so it is not kept for the block's length
    gc.freeze()
    thresholds = gc.get_threshold()
    gc.set_threshold(max(thresholds[0], YOUNG_THRESHOLD), *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.collect()  # the block's own cycles: the frozen heap is not walked
        gc.unfreeze()

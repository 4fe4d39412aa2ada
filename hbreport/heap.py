"""Keep the garbage collector off the long-lived heap during a batch job.

A consolidation loads the unit registry (tens of thousands of objects), the catalog and the parsed
form specs once, then reads many files. CPython's oldest-generation collection walks every one of
those objects each time it runs (~30 ms here), and in forked worker processes it also writes to
every page it walks, copying memory the workers could share. ``gc.freeze()`` moves what exists now
to a permanent generation the collector skips; leaving the block first collects what the block
left behind (only its own objects are walked), then moves the frozen ones back.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def frozen_heap() -> Iterator[None]:
    """Objects alive on entry are not scanned by the collector until the block ends."""
    gc.collect(1)  # drop young garbage first, so it is not kept for the block's length
    gc.freeze()
    try:
        yield
    finally:
        gc.collect()  # the block's own cycles: the frozen heap is not walked
        gc.unfreeze()

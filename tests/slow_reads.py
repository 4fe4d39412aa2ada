"""A reader for the parallel-reading tests that takes its time, so that spawned processes, which
start in about a second, arrive while files are left. Module-level: a spawned process imports it."""

from __future__ import annotations

import time

from hbreport.consolidate import _read_one

PAUSE = 0.15


def read_slowly(path: str):
    time.sleep(PAUSE)
    return _read_one(path)

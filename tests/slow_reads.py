"""Readers for the parallel-reading tests. Module-level: a spawned process imports this module.

:func:`read_slowly` takes its time, so that spawned processes (which start in about a second) are
worth starting. :func:`read_after_a_helper` also makes this process wait, from its second file on,
until another process has read a file: whether the others arrive in time is then no matter of the
machine's load."""

from __future__ import annotations

import os
import time
from pathlib import Path

from hbreport.consolidation.consolidate import _read_one

PAUSE = 0.15
MAIN = "HBREPORT_TEST_MAIN_PID"
MARKS = "HBREPORT_TEST_MARKS"
GIVE_UP = 300.0  # only a broken dealer waits this long; the test then fails instead of hanging


def read_slowly(path: str):
    time.sleep(PAUSE)
    return _read_one(path)


def read_after_a_helper(path: str):
    """As :func:`read_slowly`; another process leaves a mark, this one waits for a mark before its
    second file (its first file's time is what makes the dealer start the others)."""
    marks = Path(os.environ[MARKS])
    if str(os.getpid()) != os.environ[MAIN]:
        result = read_slowly(path)
        (marks / f"{os.getpid()}-{time.monotonic_ns()}").touch()
        return result
    first = marks / "main-read-one"
    if first.exists():
        deadline = time.monotonic() + GIVE_UP
        while not any(p.name != first.name for p in marks.iterdir()) and time.monotonic() < deadline:
            time.sleep(0.01)
    else:
        first.touch()
    return read_slowly(path)


def read_or_abort(path: str):
    """``_read_one``, except that a file whose name says 崩溃 aborts the whole process, as a native
    parser does on a crafted file (SIGABRT: no Python exception, no cleanup). This process (``MAIN``)
    waits until another process has taken that file (it leaves a mark first), so the file is never
    read here: whether the others arrive in time is no matter of the machine's load."""
    marks = Path(os.environ[MARKS])
    if "崩溃" in Path(path).name:
        (marks / f"abort-{os.getpid()}").touch()
        os.abort()
    if str(os.getpid()) == os.environ[MAIN]:
        deadline = time.monotonic() + GIVE_UP
        while not any(marks.glob("abort-*")) and time.monotonic() < deadline:
            time.sleep(0.01)
    return _read_one(path)

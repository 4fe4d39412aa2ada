"""A roster consolidation in one process (``workers=1``) that stops for good at a file whose name says
停住: reading it waits for ever, as a read of a file on a drive that stopped answering would, until the
test kills the process — the run is then killed between two townships, as a killed job or a power cut
would leave it. Run as a script:

    python stopping_run.py FOLDER PARENT PERIOD STORE
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import hbreport.households.consolidate as consolidate

_read = consolidate._read


def _read_or_stop(path: str):
    if "停住" in Path(path).name:
        threading.Event().wait()  # never set: only the test's kill ends this
    return _read(path)


if __name__ == "__main__":
    consolidate._read = _read_or_stop
    folder, parent, period, store = sys.argv[1:5]
    consolidate.consolidate_rosters(folder, parent, int(period), store, workers=1)

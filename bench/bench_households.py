"""The province roster at scale: 1.3 million households in township rosters → the household store.

    python bench/bench_households.py [--quick] [--workers N]

Generates the synthetic province roster (``hbreport.households.synth``: every poor household of the
embedded sample, valid IDs, planted mistakes) as one registration export and one filled 台账 per
township, then:

* ours  — ``consolidate_rosters()`` end to end: safety gate, identity against the export, structure and
          formula checks, every rule on every household, duplicate IDs across all files, plausibility,
          and the SQLite store loaded (worker processes for reading, as shipped); run in a fresh
          process so its peak memory (VmHWM, and the largest worker's) is its own;
* again — the same folder consolidated a second time (nothing may be added to the store);
* limit — python-calamine parsing every sheet of the same files, with the same number of processes.

``--quick`` takes the first townships of 红安县. Printed: seconds, peak memory, households per second,
ratio_to_raw_calamine = ours / limit. ``run(quick)`` returns the figures as a dict (bench/run.py).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

PERIOD = 2017
PROVINCE = "420000000000"
QUICK_UNDER = "421122000000"  # 红安县
QUICK_TOWNSHIPS = 4


def _peak_mib(who: str = "self") -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF if who == "self" else resource.RUSAGE_CHILDREN)
    return round(usage.ru_maxrss / 1024, 1)  # Linux reports KiB


def _parse(path: str) -> int:
    import python_calamine

    book = python_calamine.CalamineWorkbook.from_path(path)
    cells = 0
    for name in book.sheet_names:
        rows = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
        cells += sum(len(r) for r in rows)
    book.close()
    return cells


def raw_calamine(files: list[Path], workers: int) -> float:
    started = time.perf_counter()
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            list(pool.map(_parse, [str(f) for f in files], chunksize=1))
    else:
        for f in files:
            _parse(str(f))
    return time.perf_counter() - started


def _consolidate_stage(work: Path, parent: str, workers: int) -> dict[str, Any]:
    """Run in a fresh process: consolidate twice, report times and peak memory."""
    from hbreport.households import RosterStore, consolidate_rosters

    store = work / "households.sqlite"
    started = time.perf_counter()
    first = consolidate_rosters(
        work / "rosters", parent, PERIOD, store, roster_csv=work / "export.csv", workers=workers
    )
    seconds = time.perf_counter() - started
    started = time.perf_counter()
    again = consolidate_rosters(
        work / "rosters", parent, PERIOD, store, roster_csv=work / "export.csv", workers=workers
    )
    again_seconds = time.perf_counter() - started
    with RosterStore(store) as s:
        rows = s.count(PERIOD)
        sources = len(s.sources(PERIOD))
    counts = first.to_dict()
    return {
        "seconds": round(seconds, 2),
        "again_seconds": round(again_seconds, 2),
        "households_loaded": first.households_loaded,
        "households_loaded_again": again.households_loaded,
        "store_rows": rows,
        "store_sources": sources,
        "store_mib": round(store.stat().st_size / 2**20, 1),
        "errors": counts["errors"],
        "warnings": counts["warnings"],
        "rules": _rule_counts(first.findings),
        "peak_mib": _peak_mib("self"),
        "worker_peak_mib": _peak_mib("children"),
    }


def _rule_counts(findings) -> dict[str, int]:
    out: dict[str, int] = {}
    for f in findings:
        out[f.rule] = out.get(f.rule, 0) + 1
    return dict(sorted(out.items()))


def run(quick: bool = True, workers: int | None = None) -> dict[str, Any]:
    from hbreport.households.synth import write_synthetic

    workers = workers or os.cpu_count() or 1
    under, limit = (QUICK_UNDER, QUICK_TOWNSHIPS) if quick else (None, None)
    parent = QUICK_UNDER if quick else PROVINCE
    with tempfile.TemporaryDirectory(prefix="hb-households-") as tmp:
        work = Path(tmp)
        started = time.perf_counter()
        synth = write_synthetic(work, PERIOD, under=under, limit=limit, workers=workers)
        generate_seconds = time.perf_counter() - started
        files = sorted((work / "rosters").glob("*.xlsx"))
        print(
            f"generated {len(files)} rosters, {synth.households} households in {generate_seconds:.1f} s",
            flush=True,
        )
        cmd = [sys.executable, __file__, "--stage", str(work), "--parent", parent, "--workers", str(workers)]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"consolidation failed:\n{done.stdout}\n{done.stderr}")
        ours = json.loads(done.stdout.strip().splitlines()[-1])
        limit_seconds = raw_calamine(files, workers)
        size = sum(f.stat().st_size for f in files)
    if ours["store_rows"] != synth.households or ours["households_loaded_again"] != 0:
        raise SystemExit(f"store holds {ours['store_rows']} rows for {synth.households} households: {ours}")
    return {
        "quick": quick,
        "workers": workers,
        "townships": len(files),
        "households": synth.households,
        "planted_mistakes": len(synth.planted),
        "files_mib": round(size / 2**20, 1),
        "generate_seconds": round(generate_seconds, 1),
        "consolidate_seconds": ours["seconds"],
        "households_per_second": round(synth.households / ours["seconds"]),
        "reconsolidate_seconds": ours["again_seconds"],
        "consolidate_peak_mib": ours["peak_mib"],
        "worker_peak_mib": ours["worker_peak_mib"],
        "raw_calamine_seconds": round(limit_seconds, 2),
        "ratio_to_raw_calamine": round(ours["seconds"] / limit_seconds, 1),
        "store_rows": ours["store_rows"],
        "store_mib": ours["store_mib"],
        "errors": ours["errors"],
        "warnings": ours["warnings"],
        "rules": ours["rules"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a few townships of 红安县 instead of the province")
    ap.add_argument("--workers", type=int, default=None, help="processes (default: all CPUs)")
    ap.add_argument("--stage", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--parent", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.stage:
        print(json.dumps(_consolidate_stage(args.stage, args.parent, args.workers or 1)))
        return
    print(json.dumps(run(quick=args.quick, workers=args.workers), ensure_ascii=False))


if __name__ == "__main__":
    main()

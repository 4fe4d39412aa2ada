"""Consolidation speed: our consolidator against the naive peer and against the raw parser.

A county's township workbooks are generated from the real division tree (../shared/data/
hubei-divisions-2016.csv) and filled with the synthetic clerks' data, then three jobs run on the
same files:

* ours   — ``consolidate()`` end to end: safety gate, identity and structure checks, every rule on
           every row, aggregation, the parent's workbook written (worker processes, as shipped);
* peer   — what an office scripts by hand: ``pandas.read_excel(engine="openpyxl", sheet_name=None)``
           on every file, then a groupby sum (no identity, structure or rule checks);
* limit  — python-calamine parsing every sheet of every file, nothing else.

Printed: speedup_vs_pandas_openpyxl = peer / ours (goal ≥ 6) and ratio_to_raw_calamine = ours / limit
(goal ≤ 1.5). Times are the best of several runs. ``run(quick)`` returns the figures as a dict.

    python bench/bench_consolidate.py [--quick]
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DIVISIONS = REPO.parent / "shared" / "data" / "hubei-divisions-2016.csv"
PERIOD = 2017
COUNTY_FULL = "421181"  # 麻城市: 28 township-level units, 469 villages
COUNTY_QUICK = "421122"  # 红安县: 14 township-level units, 425 villages


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system  # worker processes included once joined


def _best(fn, repeats: int) -> tuple[float, float]:
    """Best wall-clock time and best CPU time (this process and its finished workers) of ``repeats`` runs."""
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), _cpu()
        fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(_cpu() - cpu)
    return min(walls), min(cpus)


def make_inputs(county: str, folder: Path):
    """Generate and fill the township workbooks of ``county``; returns (registry, catalog, baseline, files)."""
    from hbreport.baseline import load_baseline
    from hbreport.catalog import load_catalog
    from hbreport.forms import prefill_values, units_to_generate
    from hbreport.registry import load_registry
    from hbreport.spec import build_workbook_spec
    from hbreport.synthetic import Story
    from hbreport.writer import write_workbook

    registry = load_registry(DIVISIONS if DIVISIONS.exists() else None)
    catalog, baseline = load_catalog(), load_baseline()
    story = Story(registry, baseline, catalog)
    files = []
    for unit in units_to_generate(registry, "township", county):
        spec = build_workbook_spec(unit.code, PERIOD, registry=registry, catalog=catalog, baseline=baseline)
        values = story.township_values(spec, prefill_values(spec, registry, baseline))
        files.append(write_workbook(spec, folder / spec.file_name(), values=values))
    return registry, catalog, baseline, files


def ours(folder: Path, county: str, out: Path, context: tuple, workers: int | None = None):
    from hbreport.consolidate import consolidate

    registry, catalog, baseline = context
    return consolidate(
        folder,
        county,
        PERIOD,
        out,
        registry=registry,
        catalog=catalog,
        baseline=baseline,
        force=True,
        workers=workers,
        annotate_dir=out.parent / "returned",
    )


def peer(files: list[Path]):
    """The naive way: read every sheet with pandas/openpyxl, stack the tables, sum by sheet."""
    import pandas as pd

    frames = []
    for f in files:
        for name, df in pd.read_excel(f, engine="openpyxl", sheet_name=None, header=None).items():
            if name.startswith(("0",)):  # the form sheets (01…, 02…, 03…)
                body = df.iloc[8:].copy()
                body["sheet"] = name
                frames.append(body)
    stacked = pd.concat(frames, ignore_index=True)
    return stacked.groupby("sheet").sum(numeric_only=True)


def limit(files: list[Path]) -> int:
    """The parser alone: python-calamine reads every sheet of every file (hidden ones included)."""
    from python_calamine import CalamineWorkbook

    cells = 0
    for f in files:
        book = CalamineWorkbook.from_path(str(f))
        for name in book.sheet_names:
            cells += sum(len(r) for r in book.get_sheet_by_name(name).to_python())
        book.close()
    return cells


def run(quick: bool = False) -> dict:
    county = COUNTY_QUICK if quick else COUNTY_FULL
    repeats = 2 if quick else 5
    with tempfile.TemporaryDirectory(prefix="hb-bench-consolidate-") as tmp:
        folder = Path(tmp) / "in"
        folder.mkdir()
        registry, catalog, baseline, files = make_inputs(county, folder)
        context = (registry, catalog, baseline)
        out = Path(tmp) / "out" / "county.xlsx"
        summary = ours(folder, county, out, context)  # warm-up: imports, and a check that it works
        t_ours = _best(lambda: ours(folder, county, out, context), repeats)
        t_serial = _best(lambda: ours(folder, county, out, context, workers=1), repeats)
        t_peer = _best(lambda: peer(files), max(1, repeats // 2))
        limit(files)
        t_limit = _best(lambda: limit(files), repeats)
        size = sum(f.stat().st_size for f in files)
    result = {
        "county": f"{registry.get(county).name} {county}",
        "registry": "hubei-divisions-2016.csv" if DIVISIONS.exists() else "embedded sample",
        "files": len(files),
        "megabytes": round(size / 1e6, 2),
        "cpus": os.cpu_count(),
        "received": len(summary.received),
        "findings": len(summary.findings),
        "ours_s": round(t_ours[0], 3),
        "ours_one_process_s": round(t_serial[0], 3),
        "pandas_openpyxl_s": round(t_peer[0], 3),
        "raw_calamine_s": round(t_limit[0], 3),
        "speedup_vs_pandas_openpyxl": round(t_peer[0] / t_ours[0], 2),
        "ratio_to_raw_calamine": round(t_ours[0] / t_limit[0], 2),
        # CPU seconds (workers included): what the work costs whatever else the machine is doing
        "ours_cpu_s": round(t_ours[1], 3),
        "pandas_openpyxl_cpu_s": round(t_peer[1], 3),
        "raw_calamine_cpu_s": round(t_limit[1], 3),
        "cpu_speedup_vs_pandas_openpyxl": round(t_peer[1] / t_ours[1], 2),
        "cpu_ratio_to_raw_calamine": round(t_ours[1] / t_limit[1], 2),
    }
    return result


if __name__ == "__main__":
    figures = run(quick="--quick" in sys.argv[1:])
    print(json.dumps(figures, ensure_ascii=False, indent=2))

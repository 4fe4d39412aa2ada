"""Consolidation speed: our consolidator against the naive peer and against the raw parser.

A county's township workbooks are generated from the real division tree (../shared/data/
hubei-divisions-2016.csv) and filled with the synthetic clerks' data, then three jobs run on the
same files:

* ours   — ``consolidate()`` end to end: safety gate, identity and structure checks, every rule on
           every row, aggregation, the parent's workbook written (worker processes, as shipped);
* peer   — what an office scripts by hand: ``pandas.read_excel(engine="openpyxl", sheet_name=None)``
           on every file, then a groupby sum (no identity, structure or rule checks);
* limit  — python-calamine parsing every sheet of every file, nothing else.

``ours`` also runs with one process (``ours_one_process_s``) and the Windows way, where other
processes are spawned instead of forked (``ours_spawn_s``: ``hbreport.consolidation.parallel.START_METHOD``).

Each timed run happens in a fresh Python process, as a command would: the job's imports (and, for
ours, loading the registry) are done first and not timed, so every job starts with cold caches. The
processes keep compiled modules (bytecode) in the bench's temporary folder even where
PYTHONDONTWRITEBYTECODE is set, as an installed package has them: otherwise every run of ours would
compile from source each module it imports while it works, and the peers' libraries come compiled. Printed:
speedup_vs_pandas_openpyxl = peer / ours (goal ≥ 6) and ratio_to_raw_calamine = ours / limit
(goal ≤ 1.5), from the best of several runs; CPU seconds (worker processes included) beside them,
since wall-clock time on a shared machine depends on what else runs. ``run(quick)`` returns a dict.

    python bench/bench_consolidate.py [--quick]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DIVISIONS = REPO.parent / "shared" / "data" / "hubei-divisions-2016.csv"
PERIOD = 2017
COUNTY_FULL = "421181"  # 麻城市: 28 township-level units, 469 villages
COUNTY_QUICK = "421122"  # 红安县: 14 township-level units, 425 villages


def _registry_path() -> Path | None:
    return DIVISIONS if DIVISIONS.exists() else None


def make_inputs(county: str, folder: Path) -> list[Path]:
    """Generate and fill the township workbooks of ``county`` (the synthetic clerks' data). The forms
    carry the sample's village baseline where its codes meet the division tree's, so that the clerks'
    figures have baselines to work with; ``ours`` consolidates with the same baseline."""
    from hbreport.baseline import load_baseline
    from hbreport.catalog import load_catalog
    from hbreport.forms import prefill_values, units_to_generate
    from hbreport.registry import load_registry
    from hbreport.spec import build_workbook_spec
    from hbreport.synthetic import Story
    from hbreport.xlsx.writer import write_workbook

    registry, catalog, baseline = load_registry(_registry_path()), load_catalog(), load_baseline()
    story = Story(registry, baseline, catalog, shortfalls=False)  # rule-abiding, as in earlier rounds
    files = []
    for unit in units_to_generate(registry, "township", county):
        spec = build_workbook_spec(unit.code, PERIOD, registry=registry, catalog=catalog, baseline=baseline)
        values = story.township_values(spec, prefill_values(spec, registry, baseline))
        files.append(write_workbook(spec, folder / spec.file_name(), values=values))
    return files


# ---------------------------------------------------------------- the three jobs


def ours(folder: Path, county: str, out: Path, workers: int | None = None):
    from hbreport.baseline import load_baseline
    from hbreport.consolidation.consolidate import consolidate
    from hbreport.registry import load_registry

    registry = load_registry(_registry_path())  # cached: loaded before the clock starts
    return consolidate(
        folder,
        county,
        PERIOD,
        out,
        registry=registry,
        baseline=load_baseline(),  # the baseline the inputs were made with (make_inputs)
        force=True,
        workers=workers,
        annotate_dir=out.parent / "back",
    )


def peer(files: list[Path]):
    """The naive way: read every sheet with pandas/openpyxl, stack the form tables, sum by sheet."""
    import pandas as pd

    frames = []
    for f in files:
        for name, df in pd.read_excel(f, engine="openpyxl", sheet_name=None, header=None).items():
            if name[:2].isdigit():  # the form sheets (01…, 02…, 03…)
                body = df.iloc[8:].copy()
                body["sheet"] = name
                frames.append(body)
    return pd.concat(frames, ignore_index=True).groupby("sheet").sum(numeric_only=True)


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


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system  # worker processes, once joined


def _child(job: str, folder: str, county: str, out: str, workers: str) -> None:
    """Inside a fresh process: set up (not timed), run one job, print its wall and CPU seconds. Each job
    imports and loads only what it uses, so none carries another's memory (the size of a process that
    forks, the objects a garbage collection walks)."""
    files = sorted(Path(folder).glob("*.xlsx"))
    if job.startswith("ours"):
        from hbreport.baseline import load_baseline
        from hbreport.catalog import load_catalog
        from hbreport.registry import load_registry

        load_registry(_registry_path()), load_catalog(), load_baseline()  # cached: the job finds them loaded
        import hbreport.consolidation.consolidate  # noqa: F401
        import hbreport.xlsx.reader  # noqa: F401
        import hbreport.xlsx.writer  # noqa: F401
    elif job == "peer":
        import openpyxl  # noqa: F401  (import time is not the peer's work)
        import pandas  # noqa: F401
    else:
        import python_calamine  # noqa: F401

    if job == "ours-spawn":  # the Windows way: other processes are spawned, not forked
        import hbreport.consolidation.parallel

        hbreport.consolidation.parallel.START_METHOD = "spawn"
    jobs = {
        "ours": lambda: ours(Path(folder), county, Path(out), int(workers) or None),
        "ours-spawn": lambda: ours(Path(folder), county, Path(out), int(workers) or None),
        "peer": lambda: peer(files),
        "limit": lambda: limit(files),
    }
    wall, cpu = time.perf_counter(), _cpu()
    jobs[job]()
    print(json.dumps({"wall": time.perf_counter() - wall, "cpu": _cpu() - cpu}))


def _timed(
    job: str, folder: Path, county: str, out: Path, repeats: int, workers: int = 0
) -> tuple[float, float]:
    """Best wall-clock and best CPU seconds of ``repeats`` fresh-process runs of ``job``."""
    walls, cpus = [], []
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    # compiled modules are kept, as an installed package keeps them (the peers' libraries come compiled):
    # the first run compiles what it imports, the best of the runs does not
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(folder.parent / "pycache")
    for _ in range(repeats):
        args = [sys.executable, __file__, "--job", job, str(folder), county, str(out), str(workers)]
        done = subprocess.run(args, check=True, capture_output=True, text=True, env=env, cwd=REPO)
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        walls.append(figures["wall"])
        cpus.append(figures["cpu"])
    return min(walls), min(cpus)


def run(quick: bool = False) -> dict:
    from hbreport.registry import load_registry

    county = COUNTY_QUICK if quick else COUNTY_FULL
    repeats = 2 if quick else 5
    with tempfile.TemporaryDirectory(prefix="hb-bench-consolidate-") as tmp:
        folder = Path(tmp) / "in"
        folder.mkdir()
        files = make_inputs(county, folder)
        out = Path(tmp) / "out" / "county.xlsx"
        summary = ours(folder, county, out)  # a check that the job works on these files
        t_ours = _timed("ours", folder, county, out, repeats)
        t_serial = _timed("ours", folder, county, out, repeats, workers=1)
        t_spawn = _timed("ours-spawn", folder, county, out, repeats)
        t_peer = _timed("peer", folder, county, out, repeats)
        t_limit = _timed("limit", folder, county, out, repeats)
        size = sum(f.stat().st_size for f in files)
    return {
        "county": f"{load_registry(_registry_path()).get(county).name} {county}",
        "registry": "hubei-divisions-2016.csv" if _registry_path() else "embedded sample",
        "files": len(files),
        "megabytes": round(size / 1e6, 2),
        "cpus": os.cpu_count(),
        "received": len(summary.received),
        "findings": len(summary.findings),
        "ours_s": round(t_ours[0], 3),
        "ours_one_process_s": round(t_serial[0], 3),
        "ours_spawn_s": round(t_spawn[0], 3),
        "pandas_openpyxl_s": round(t_peer[0], 3),
        "raw_calamine_s": round(t_limit[0], 3),
        "speedup_vs_pandas_openpyxl": round(t_peer[0] / t_ours[0], 2),
        "ratio_to_raw_calamine": round(t_ours[0] / t_limit[0], 2),
        "ours_cpu_s": round(t_ours[1], 3),
        "ours_one_process_cpu_s": round(t_serial[1], 3),
        "pandas_openpyxl_cpu_s": round(t_peer[1], 3),
        "raw_calamine_cpu_s": round(t_limit[1], 3),
        "cpu_speedup_vs_pandas_openpyxl": round(t_peer[1] / t_ours[1], 2),
        "cpu_ratio_to_raw_calamine": round(t_ours[1] / t_limit[1], 2),
    }


if __name__ == "__main__":
    if sys.argv[1:2] == ["--job"]:
        _child(*sys.argv[2:7])
    else:
        print(json.dumps(run(quick="--quick" in sys.argv[1:]), ensure_ascii=False, indent=2))

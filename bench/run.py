"""The whole province at scale: generation, consolidation to the province, report — one script.

    python bench/run.py [--quick] [--no-households]

Scale: every township of Hubei (the real division tree at ../shared/data/hubei-divisions-2016.csv
when it is there — about 1,480 townships and 29,700 village rows — else the embedded sample);
``--quick`` takes one prefecture (黄冈市). Each stage runs in a fresh process, so its wall time and
peak memory (VmHWM) are its own:

- generate:    every township's blank workbook (hbreport forms);
- consolidate: the filled township workbooks → counties → prefectures → province;
- report:      the province's Word report.

Ratios against the peers come from the per-issue benchmarks, run in the same invocation:
bench_generate (ours / raw XlsxWriter), bench_consolidate (pandas+openpyxl / ours, ours / raw
calamine) and, where it exists, bench_households (the province roster). The last line printed is one
JSON object:

    {"generate": {"seconds", "peak_mib", "ratio_to_raw_writer"},
     "consolidate": {"seconds", "peak_mib", "speedup_vs_pandas_openpyxl", "ratio_to_raw_calamine"},
     "report": {"seconds"}, "scale": {"townships", "villages", "households"},
     "households": {"generate_ratio_to_raw_writer", "consolidate_ratio_to_raw_calamine", "generate_seconds",
                    "consolidate_seconds", ...}}

A ratio_to_… is ours divided by the limit (1.0 is the limit); a speedup_vs_… is the peer divided by ours.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

DIVISIONS = REPO.parent / "shared" / "data" / "hubei-divisions-2016.csv"
PERIOD = 2017
PROVINCE = "420000000000"
QUICK_PREFECTURE = "421100000000"  # 黄冈市


def _peak_mib() -> float:
    """This process's peak resident memory (VmHWM), in MiB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _registry():
    from hbreport.registry import load_registry

    return load_registry(DIVISIONS if DIVISIONS.exists() else None)


def _scope(registry, quick: bool) -> list:
    """The county-level units in scope (all of them, or one prefecture's)."""
    tops = [registry.get(QUICK_PREFECTURE)] if quick else registry.children(PROVINCE)
    return [c for t in tops for c in (registry.children(t.code) if t.level == "prefecture" else [t])]


# ---------------------------------------------------------------- stages (each in its own process)


def stage_generate(work: Path, quick: bool) -> dict[str, Any]:
    from hbreport.forms import generate_forms

    registry = _registry()
    started = time.perf_counter()
    n = 0
    for county in _scope(registry, quick):
        if registry.children(county.code):
            n += len(
                generate_forms(
                    "township",
                    PERIOD,
                    under=county.code,
                    out_dir=work / "blank" / county.code,
                    registry=registry,
                )
            )
    return {"seconds": round(time.perf_counter() - started, 2), "workbooks": n}


def _filled_values(spec, rng) -> dict:
    """Deterministic, rule-clean inputs for every row (the real tree has no baseline, so the base too)."""
    values: dict = {}
    for sheet in spec.sheets:
        rows = {}
        for row in sheet.rows:
            base = rng.randint(20, 600)
            prior = base * rng.randint(30, 40) // 100  # on the plan's schedule for 2017 (35% + 35%)
            exited = base * rng.randint(30, 40) // 100
            r = {
                "base_people": base,
                "base_households": base // 3,
                "prior_exited_people": prior,
                "exited_people": exited,
                "exited_households": exited // 3 if exited >= 3 else min(exited, 1),
                "returned_people": 0,
                "new_people": rng.randint(0, 3),
                "remaining_poor_households": rng.randint(0, 20),
                "village_population": rng.randint(500, 3000),
                "village_income": round(rng.uniform(6000, 15000), 2),
                "collective_income": round(rng.uniform(0, 20), 2),
                "infrastructure_ok": "是",
                "services_ok": rng.choice(["是", "否"]),
                "exited_before": "否",
                "apply_exit": "否",
                "reloc_households": 0,
                "reloc_people": 0,
                "loan_households": 0,
                "loan_amount": 0,
                "dilapidated_renovated": rng.randint(0, 9),
                "training_person_times": rng.randint(0, 99),
            }
            rows[row.code] = {k: v for k, v in r.items() if k in sheet.column_keys}
        values[sheet.form] = rows
    return values


def prepare_filled(work: Path, quick: bool) -> dict[str, Any]:
    """Write the filled township workbooks a county office would receive (setup, not timed)."""
    import random

    from hbreport.spec import build_workbook_spec
    from hbreport.xlsx.writer import write_workbook

    registry = _registry()
    n = villages = 0
    for county in _scope(registry, quick):
        folder = work / "filled" / county.code
        for town in registry.children(county.code):
            spec = build_workbook_spec(town.code, PERIOD, registry=registry)
            rng = random.Random(town.code)
            write_workbook(spec, folder / spec.file_name(), values=_filled_values(spec, rng))
            n += 1
            villages += len(spec.sheet("poverty_progress").rows)
    return {"townships": n, "villages": villages}


def stage_consolidate(work: Path, quick: bool) -> dict[str, Any]:
    from hbreport.consolidation.consolidate import consolidate

    registry = _registry()
    started = time.perf_counter()
    up = work / "up"
    counties = _scope(registry, quick)
    tops = {}
    townships = {"received": 0, "returned": 0, "refused_files": 0}  # a check that the inputs were taken
    for county in counties:
        parent = registry.reporting_parent(county.code)
        target_dir = up / "prefectures" if parent.code == PROVINCE else up / "counties" / parent.code
        target_dir.mkdir(parents=True, exist_ok=True)
        if (work / "filled" / county.code).is_dir():
            done = consolidate(
                work / "filled" / county.code,
                county.code,
                PERIOD,
                target_dir / f"{county.code}.xlsx",
                registry=registry,
                force=True,
            )
            townships["received"] += len(done.received)
            townships["returned"] += len(done.returned)
            townships["refused_files"] += len(done.rejected)
        if parent.code != PROVINCE:
            tops[parent.code] = target_dir
    for code, folder in tops.items():
        (up / "prefectures").mkdir(parents=True, exist_ok=True)
        consolidate(folder, code, PERIOD, up / "prefectures" / f"{code}.xlsx", registry=registry, force=True)
    out = up / "province.xlsx"
    summary = consolidate(up / "prefectures", PROVINCE, PERIOD, out, registry=registry, force=True)
    return {
        "seconds": round(time.perf_counter() - started, 2),
        "province_received": len(summary.received),
        "townships": townships,
    }


def stage_report(work: Path, quick: bool) -> dict[str, Any]:
    from hbreport.report import report_from_workbook

    registry = _registry()
    started = time.perf_counter()
    report_from_workbook(work / "up" / "province.xlsx", work / "province.docx", registry=registry)
    return {"seconds": round(time.perf_counter() - started, 2)}


STAGES = {
    "generate": stage_generate,
    "prepare": prepare_filled,
    "consolidate": stage_consolidate,
    "report": stage_report,
}


def _in_child(stage: str, work: Path, quick: bool) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--stage", stage, "--work", str(work)] + (["--quick"] if quick else [])
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"stage {stage} failed:\n{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _peer_bench(name: str, quick: bool) -> dict[str, Any] | None:
    path = REPO / "bench" / f"{name}.py"
    if not path.exists():
        return None
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module.run(quick=quick)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="one prefecture instead of the whole province")
    ap.add_argument(
        "--no-households",
        action="store_true",
        help="leave out bench_households (with the whole province it runs for over half an hour)",
    )
    ap.add_argument("--stage", choices=sorted(STAGES), help=argparse.SUPPRESS)
    ap.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.stage:  # a child: run one stage, print its figures with this process's peak memory
        result = STAGES[args.stage](args.work, args.quick)
        result["peak_mib"] = _peak_mib()
        print(json.dumps(result))
        return

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="hb-bench-") as tmp:
        work = Path(tmp)
        gen = _in_child("generate", work, args.quick)
        print(f"generate:    {gen}", flush=True)
        scale = _in_child("prepare", work, args.quick)
        cons = _in_child("consolidate", work, args.quick)
        print(f"consolidate: {cons}", flush=True)
        rep = _in_child("report", work, args.quick)
        print(f"report:      {rep}", flush=True)
    peers_gen = _peer_bench("bench_generate", args.quick) or {}
    print(f"bench_generate:    {peers_gen}", flush=True)
    peers_cons = _peer_bench("bench_consolidate", args.quick) or {}
    print(f"bench_consolidate: {peers_cons}", flush=True)
    households = None if args.no_households else _peer_bench("bench_households", args.quick)
    print(f"bench_households:  {households}", flush=True)

    result = {
        "generate": {
            "seconds": gen["seconds"],
            "peak_mib": gen["peak_mib"],
            "ratio_to_raw_writer": peers_gen.get("ratio_ours_raw"),
        },
        "consolidate": {
            "seconds": cons["seconds"],
            "peak_mib": cons["peak_mib"],
            "speedup_vs_pandas_openpyxl": peers_cons.get("speedup_vs_pandas_openpyxl"),
            "ratio_to_raw_calamine": peers_cons.get("ratio_to_raw_calamine"),
        },
        "report": {"seconds": rep["seconds"], "peak_mib": rep["peak_mib"]},
        "scale": {
            "townships": scale["townships"],
            "villages": scale["villages"],
            "households": (households or {}).get("households"),
        },
        "registry": "hubei-divisions-2016.csv" if DIVISIONS.exists() else "embedded sample",
        "quick": args.quick,
        "total_seconds": round(time.perf_counter() - started, 1),
    }
    if households:  # the roster benchmark's figures, its two ratios first
        first = ("generate_ratio_to_raw_writer", "consolidate_ratio_to_raw_calamine")
        result["households"] = {key: households.get(key) for key in first} | households
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()

"""The province roster at scale: 1.3 million households in township rosters → the household store.

    python bench/bench_households.py [--quick | --under CODE] [--workers N]

Generates the synthetic province roster (``hbreport.households.synth``: every poor household of the
embedded sample, valid IDs, planted mistakes) as one registration export and one filled 台账 per
township, then times, side by side in the same run:

* generate — ``generate_rosters()`` end to end (the export read, every township's roster pre-filled
          from it and written: heading, validation, rule colouring, protection, 村汇总, very hidden
          _meta), in a fresh process, all CPUs;
* raw writer — XlsxWriter alone writing the same cells of the same rosters (every value, and every
          formula with its cached result, as read back from the generated files; one format per
          style; sheets protected and hidden as ours), with the same number of processes (XlsxWriter
          has no shared formulas: it writes each row's formula in full, which ours writes once per
          column — see docs/households.md); and again
          with XlsxWriter's formula rewriting (_xlfn. prefixes, ~30 regex passes per formula) skipped
          as ours skips it, the stricter limit;
* ours  — ``consolidate_rosters()`` end to end: safety gate, identity against the export, structure and
          formula checks, every rule on every household, duplicate IDs across all files, plausibility,
          and the SQLite store loaded (worker processes for reading, as shipped); run in a fresh
          process so its peak memory (VmHWM, and the largest worker's) is its own;
* again — the same folder consolidated a second time (nothing may be added to the store);
* limit — python-calamine parsing every sheet of the same files, with the same number of processes.

The issue's figures (10 minutes, 1 GiB) are the two stages only — generate and consolidate, each
on the wall clock and in CPU seconds of its main process and of its workers — and the peak memory
of the largest process of the two stages (and of the whole run): printed on their own line ("the
two stages: …") and as the JSON's ``issue_19`` object. The synthetic rosters, the second
consolidation, the raw writer and calamine's parse take time around them and are not part of them.

``--quick`` takes the first townships of 红安县. Printed: seconds, peak memory, households per second,
generate_ratio_to_raw_writer = generate / raw writer and consolidate_ratio_to_raw_calamine = ours /
limit. ``run(quick)`` returns the figures as a dict (bench/run.py). The whole province skips the raw
writer (reading every roster back to find its cells takes longer than writing them); its ratio is the
quick run's.
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
    """Peak resident memory: this process's VmHWM (getrusage would count the parent's peak too, since
    Linux keeps it across exec), or the largest child process's."""
    import resource

    if who == "self":
        try:
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
        except OSError:
            pass
    usage = resource.getrusage(resource.RUSAGE_SELF if who == "self" else resource.RUSAGE_CHILDREN)
    return round(usage.ru_maxrss / 1024, 1)  # Linux reports KiB


def _cpu_seconds(who: str = "all") -> float:
    """User + system CPU time of this process and of its children that have ended (the worker
    processes): on a shared machine the wall time says little, this is what the work costs. ``who``:
    "self" or "children" for one side only."""
    import resource

    total = 0.0
    for side, kind in (("self", resource.RUSAGE_SELF), ("children", resource.RUSAGE_CHILDREN)):
        if who in ("all", side):
            usage = resource.getrusage(kind)
            total += usage.ru_utime + usage.ru_stime
    return total


def _stage_cpu(before: tuple[float, float]) -> dict[str, float]:
    """CPU seconds since ``before`` (= ``_cpu_split()``): all, the stage's main process, its workers."""
    main, workers = (a - b for a, b in zip(_cpu_split(), before, strict=True))
    return {
        "cpu_seconds": round(main + workers, 2),
        "main_cpu_seconds": round(main, 2),
        "workers_cpu_seconds": round(workers, 2),
    }


def _cpu_split() -> tuple[float, float]:
    return _cpu_seconds("self"), _cpu_seconds("children")


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


def _cells(path: str) -> list[tuple[str, str, list[tuple]]]:
    """Every cell of every sheet of a workbook as written: (sheet, state, [(row, col, kind, value,
    cached, style)]) — formulas with the cached result, blanks that carry a format."""
    import openpyxl

    formulas = openpyxl.load_workbook(path)
    cached = openpyxl.load_workbook(path, data_only=True)
    out = []
    for ws in formulas.worksheets:
        values = cached[ws.title]
        cells = []
        for row in ws.iter_rows():
            for cell in row:
                v = cell.value
                style = cell.style_id
                if v is None:
                    if cell.has_style:
                        cells.append((cell.row - 1, cell.column - 1, "blank", None, None, style))
                elif cell.data_type == "f":
                    result = values.cell(cell.row, cell.column).value
                    cells.append(
                        (cell.row - 1, cell.column - 1, "f", str(v), "" if result is None else result, style)
                    )
                elif isinstance(v, bool):
                    cells.append((cell.row - 1, cell.column - 1, "b", v, None, style))
                elif isinstance(v, int | float):
                    cells.append((cell.row - 1, cell.column - 1, "n", v, None, style))
                else:
                    cells.append((cell.row - 1, cell.column - 1, "s", str(v), None, style))
        out.append((ws.title, ws.sheet_state, cells))
    return out


def _plain_book():
    """XlsxWriter's Workbook whose sheets take formulas as given (no _xlfn. rewriting), as ours do."""
    import xlsxwriter

    class Sheet(xlsxwriter.worksheet.Worksheet):
        def _prepare_formula(self, formula, expand_future_functions=False):
            return formula[1:] if formula.startswith("=") else formula

    class Book(xlsxwriter.Workbook):
        worksheet_class = Sheet

    return Book


def _write_raw(job: tuple[list, str, bool]) -> None:
    import xlsxwriter

    sheets, path, plain = job
    book = (_plain_book() if plain else xlsxwriter.Workbook)(
        path,
        {
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
            "in_memory": True,
        },
    )
    formats: dict[int, Any] = {}
    for name, state, cells in sheets:
        ws = book.add_worksheet(name)
        for r, c, kind, value, cached, style in cells:
            fmt = formats.get(style)
            if fmt is None:
                fmt = formats[style] = book.add_format({"locked": style % 2 == 0})
            if kind == "f":
                ws.write_formula(r, c, value, fmt, cached)
            elif kind == "n":
                ws.write_number(r, c, value, fmt)
            elif kind == "s":
                ws.write_string(r, c, value, fmt)
            elif kind == "b":
                ws.write_boolean(r, c, value, fmt)
            else:
                ws.write_blank(r, c, None, fmt)
        if state == "veryHidden":
            ws.very_hidden()
        ws.protect("")
    book.close()


def raw_writer(files: list[Path], out: Path, workers: int, *, plain: bool = False) -> float:
    """XlsxWriter alone writing the cells of ``files`` again (read beforehand), ``workers`` processes;
    ``plain``: formulas taken as given, without XlsxWriter's _xlfn. rewriting (ours skips it too)."""
    out.mkdir()
    jobs = [(_cells(str(f)), str(out / f.name), plain) for f in files]
    started = time.perf_counter()
    if workers > 1:
        with ProcessPoolExecutor(min(workers, len(jobs))) as pool:
            list(pool.map(_write_raw, jobs, chunksize=1))
    else:
        for job in jobs:
            _write_raw(job)
    return time.perf_counter() - started


def _generate_stage(work: Path, parent: str, workers: int) -> dict[str, Any]:
    """Run in a fresh process: generate every township's roster from the export, all CPUs."""
    from hbreport.households import generate_rosters

    started, cpu = time.perf_counter(), _cpu_split()
    paths = generate_rosters(
        PERIOD, under=parent, roster_csv=work / "export.csv", out_dir=work / "generated", workers=workers
    )
    return {
        "seconds": round(time.perf_counter() - started, 2),
        **_stage_cpu(cpu),
        "files": len(paths),
        "peak_mib": _peak_mib("self"),
        "worker_peak_mib": _peak_mib("children"),
    }


def _consolidate_stage(work: Path, parent: str, workers: int) -> dict[str, Any]:
    """Run in a fresh process: consolidate twice, report times and peak memory."""
    from hbreport.households import RosterStore, consolidate_rosters

    store = work / "households.sqlite"
    started, before = time.perf_counter(), _cpu_split()
    first = consolidate_rosters(
        work / "rosters", parent, PERIOD, store, roster_csv=work / "export.csv", workers=workers
    )
    seconds, cpu = time.perf_counter() - started, _stage_cpu(before)
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
        **cpu,
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


def _in_child(stage: str, work: Path, parent: str, workers: int) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--stage", stage, "--work", str(work), "--parent", parent]
    done = subprocess.run([*cmd, "--workers", str(workers)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{stage} failed:\n{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _load() -> float | None:
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


def run(quick: bool = True, workers: int | None = None, under: str | None = None) -> dict[str, Any]:
    """``under``: every township of that unit (a prefecture, a county) instead of the province."""
    from hbreport.households.synth import write_synthetic
    from hbreport.registry import load_registry, normalize_code

    workers = workers or os.cpu_count() or 1
    if quick:
        under, limit, parent = QUICK_UNDER, QUICK_TOWNSHIPS, QUICK_UNDER
    else:
        limit = None
        under = None if under is None else load_registry().get(normalize_code(under)).code
        parent = under or PROVINCE
    load_before = _load()
    with tempfile.TemporaryDirectory(prefix="hb-households-") as tmp:
        work = Path(tmp)
        started = time.perf_counter()
        synth = write_synthetic(work, PERIOD, under=under, limit=limit, workers=workers)
        synth_seconds = time.perf_counter() - started
        files = sorted((work / "rosters").glob("*.xlsx"))
        print(
            f"synthetic province: {len(files)} filled rosters, {synth.households} households in {synth_seconds:.1f} s",
            flush=True,
        )
        gen = _in_child("generate", work, parent, workers)
        generated = sorted((work / "generated").glob("*.xlsx"))
        raw_write_seconds = raw_writer(generated, work / "raw", workers) if quick else None
        plain_seconds = raw_writer(generated, work / "raw-plain", workers, plain=True) if quick else None
        print(
            f"generate {gen['seconds']} s, raw XlsxWriter {raw_write_seconds} s "
            f"({plain_seconds} s without its formula rewriting)",
            flush=True,
        )
        ours = _in_child("consolidate", work, parent, workers)
        cpu = _cpu_seconds()
        limit_seconds = raw_calamine(files, workers)
        limit_cpu = _cpu_seconds() - cpu
        print(f"consolidate {ours['seconds']} s, raw calamine {limit_seconds:.2f} s", flush=True)
        size = sum(f.stat().st_size for f in files)
    # the stages' processes (main and workers), and every process of the run (what /usr/bin/time -v
    # reports: the quick run's raw writer holds the cells of every roster in this process)
    largest = max(gen["peak_mib"], gen["worker_peak_mib"], ours["peak_mib"], ours["worker_peak_mib"])
    run_largest = max(_peak_mib("self"), _peak_mib("children"))
    stages = {  # what the 10 minutes and 1 GiB are about: the two stages, on the wall clock
        "generate_seconds": gen["seconds"],
        "consolidate_seconds": ours["seconds"],
        "generate_and_consolidate_seconds": round(gen["seconds"] + ours["seconds"], 1),
        "generate_and_consolidate_cpu_seconds": round(gen["cpu_seconds"] + ours["cpu_seconds"], 1),
        "largest_process_peak_mib": largest,
    }
    print(
        f"the two stages: generate {gen['seconds']} s + consolidate {ours['seconds']} s = "
        f"{stages['generate_and_consolidate_seconds']} s ({stages['generate_and_consolidate_cpu_seconds']} s "
        f"CPU); largest process of the stages {largest} MiB (of the whole run {run_largest} MiB)",
        flush=True,
    )
    if ours["store_rows"] != synth.households or ours["households_loaded_again"] != 0:
        raise SystemExit(f"store holds {ours['store_rows']} rows for {synth.households} households: {ours}")
    if gen["files"] != len(files):
        raise SystemExit(f"generated {gen['files']} rosters for {len(files)} townships")
    return {
        "quick": quick,
        "under": parent,
        "workers": workers,
        "townships": len(files),
        "households": synth.households,
        "planted_mistakes": len(synth.planted),
        "files_mib": round(size / 2**20, 1),
        "synthetic_seconds": round(synth_seconds, 1),
        "generate_seconds": gen["seconds"],
        "generate_cpu_seconds": gen["cpu_seconds"],
        "generate_main_cpu_seconds": gen["main_cpu_seconds"],
        "generate_workers_cpu_seconds": gen["workers_cpu_seconds"],
        "generate_peak_mib": gen["peak_mib"],
        "generate_worker_peak_mib": gen["worker_peak_mib"],
        "raw_writer_seconds": None if raw_write_seconds is None else round(raw_write_seconds, 2),
        "generate_ratio_to_raw_writer": None
        if raw_write_seconds is None
        else round(gen["seconds"] / raw_write_seconds, 2),
        "raw_writer_plain_formulas_seconds": None if plain_seconds is None else round(plain_seconds, 2),
        "generate_ratio_to_raw_writer_plain_formulas": None
        if plain_seconds is None
        else round(gen["seconds"] / plain_seconds, 2),
        "consolidate_seconds": ours["seconds"],
        "consolidate_cpu_seconds": ours["cpu_seconds"],
        "consolidate_main_cpu_seconds": ours["main_cpu_seconds"],
        "consolidate_workers_cpu_seconds": ours["workers_cpu_seconds"],
        "households_per_second": round(synth.households / ours["seconds"]),
        "reconsolidate_seconds": ours["again_seconds"],
        "consolidate_peak_mib": ours["peak_mib"],
        "worker_peak_mib": ours["worker_peak_mib"],
        "raw_calamine_seconds": round(limit_seconds, 2),
        "consolidate_ratio_to_raw_calamine": round(ours["seconds"] / limit_seconds, 2),
        "raw_calamine_cpu_seconds": round(limit_cpu, 2),
        "consolidate_cpu_ratio_to_raw_calamine": round(ours["cpu_seconds"] / limit_cpu, 2)
        if limit_cpu
        else None,
        "generate_and_consolidate_seconds": round(gen["seconds"] + ours["seconds"], 1),
        "largest_process_peak_mib": largest,
        "run_largest_process_peak_mib": run_largest,
        "issue_19": stages,
        "store_rows": ours["store_rows"],
        "store_mib": ours["store_mib"],
        "errors": ours["errors"],
        "warnings": ours["warnings"],
        "rules": ours["rules"],
        "load_average": [load_before, _load()],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a few townships of 红安县 instead of the province")
    ap.add_argument("--workers", type=int, default=None, help="processes (default: all CPUs)")
    ap.add_argument(
        "--under", help="every township of this unit (e.g. 420200 黄石市) instead of the province"
    )
    ap.add_argument("--stage", choices=("generate", "consolidate"), help=argparse.SUPPRESS)
    ap.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--parent", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.stage:
        stage = _generate_stage if args.stage == "generate" else _consolidate_stage
        print(json.dumps(stage(args.work, args.parent, args.workers or 1)))
        return
    print(json.dumps(run(quick=args.quick, workers=args.workers, under=args.under), ensure_ascii=False))


if __name__ == "__main__":
    main()

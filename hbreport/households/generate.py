"""Roster generation: one 建档立卡台账 workbook per township, pre-filled from the registration export."""

from __future__ import annotations

import tempfile
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from hbreport.consolidation.parallel import portable, restore
from hbreport.errors import HBError
from hbreport.heap import frozen_heap
from hbreport.households.export import ExportIndex
from hbreport.households.roster import write_roster
from hbreport.households.spec import build_roster_spec, registry_and_catalog, roster_file_name
from hbreport.households.store import RosterStore
from hbreport.period import parse_period
from hbreport.xlsx.atomic import refuse_existing

Progress = Callable[[int, int], None]


def generate_rosters(
    period: int | str,
    *,
    under: str | None = None,
    roster_csv: str | Path,
    out_dir: str | Path,
    registry=None,
    catalog=None,
    workers: int = 1,
    progress: Progress | None = None,
    force: bool = False,
) -> list[Path]:
    """Write the roster of every township of the export (at or under ``under``) into ``out_dir``.

    The rows are the registered households, which only the registration export (``roster_csv``, see
    :mod:`.export`) can give: a roster is never made up without one. Files are named
    ``<乡镇代码>_<乡镇名>_<期>_台账.xlsx``; each carries the export's sha256. ``workers`` > 1 writes
    townships on that many processes (a few townships in flight at a time, so memory stays that of a
    few rosters). When any of those files exists, nothing is written unless ``force``; the export is
    never replaced."""

    year = parse_period(period)
    registry, catalog = registry_and_catalog(registry, catalog)
    with tempfile.TemporaryDirectory(prefix="hbreport-export-") as tmp:
        # the export kept in a scratch store, read one township at a time: a province's 1.3 million
        # households are never all in memory
        index = Path(tmp) / "export.sqlite"
        with RosterStore(index) as store:
            sha256, listed = store.index_export(roster_csv, registry=registry)
        export = ExportIndex(index, sha256, roster_csv)
        try:
            return _generate(
                year, listed, export, under, Path(out_dir), registry, catalog, workers, progress, force
            )
        finally:
            export.close()
            _JOB.clear()


def _generate(year, listed, export, under, out, registry, catalog, workers, progress, force) -> list[Path]:
    townships = list(listed)
    if under is not None:
        top = registry.get(under)
        inside = (
            {top.code}
            if top.level == "township"
            else {t.code for t in registry.descendants(top.code, "township")}
        )
        townships = [t for t in townships if t in inside]
        if not townships:
            raise HBError(
                f"建档立卡导出文件中没有「{top.name}」({top.short_code}) 的贫困户",
                file=export.path,
                hint="检查 under 给的代码，或导出文件是否为该地的名单",
            )
    order = {u.code: i for i, u in enumerate(registry.at_level("township"))}
    townships.sort(key=lambda code: order.get(code, len(order)))
    refuse_existing(
        (out / roster_file_name(code, registry.get(code).name, year) for code in townships), force, "台账"
    )
    if progress:
        progress(0, len(townships))
    _init(registry, catalog, year, export, str(out), force)
    jobs = iter(townships)
    written = []
    for done, path in enumerate(_write_all(jobs, len(townships), workers), 1):
        written.append(Path(path))
        if progress:
            progress(done, len(townships))
    return written


_JOB: dict[str, Any] = {}


def _init(registry, catalog, year: int, export, out: str, force: bool) -> None:
    _JOB.update(
        registry=restore(registry), catalog=restore(catalog), year=year, export=export, out=out, force=force
    )


def _write_one(code: str) -> str:
    export = _JOB["export"]
    spec = build_roster_spec(
        code,
        _JOB["year"],
        export.township(code),
        registry=_JOB["registry"],
        catalog=_JOB["catalog"],
        roster_sha256=export.sha256,
    )
    path = Path(_JOB["out"]) / spec.file_name()
    # what a fuller export gives of the township's inputs (致贫原因, 劳动能力, 人均纯收入…), in the
    # columns this roster has
    inputs = {c.key for c in spec.sheets[0].columns if c.role == "input"}
    values = {h.household_id: {k: v for k, v in h.extra if k in inputs} for h in spec.households if h.extra}
    return str(write_roster(spec, path, values=values, force=_JOB["force"], inputs=[export.path]))


def _write_all(jobs: Iterator[str], count: int, workers: int) -> Iterator[str]:
    """Each township's roster written, in order: here, or on ``workers`` processes with at most two
    townships each in flight."""
    if workers <= 1 or count <= 1:
        for job in jobs:
            yield _write_one(job)
        return
    workers = min(workers, count)
    init = tuple(portable(_JOB[k]) for k in ("registry", "catalog")) + tuple(
        _JOB[k] for k in ("year", "export", "out", "force")
    )
    with frozen_heap(), ProcessPoolExecutor(workers, initializer=_init, initargs=init) as pool:
        pending: deque = deque()
        for job in jobs:
            pending.append(pool.submit(_write_one, job))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()

"""Roster generation: one 建档立卡台账 workbook per township, pre-filled from the registration export."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..atomic import refuse_existing
from ..context import Context
from ..errors import HBError
from ..period import parse_period
from .export import read_export
from .roster import write_roster
from .spec import build_roster_spec, roster_file_name

Progress = Callable[[int, int], None]


def generate_rosters(
    period: int | str,
    *,
    under: str | None = None,
    roster_csv: str | Path,
    out_dir: str | Path,
    registry=None,
    catalog=None,
    progress: Progress | None = None,
    force: bool = False,
) -> list[Path]:
    """Write the roster of every township of the export (at or under ``under``) into ``out_dir``.

    The rows are the registered households, which only the registration export (``roster_csv``, see
    :mod:`.export`) can give: a roster is never made up without one. Files are named
    ``<乡镇代码>_<乡镇名>_<期>_台账.xlsx``; each carries the export's sha256.
    When any of those files exists, nothing is written unless ``force``; the export is never replaced."""

    year = parse_period(period)
    registry, catalog, _ = Context.of(registry, catalog).parts
    export = read_export(roster_csv, registry=registry)
    townships = list(export.by_township)
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
    out = Path(out_dir)
    refuse_existing(
        (out / roster_file_name(code, registry.get(code).name, year) for code in townships), force, "台账"
    )
    written = []
    if progress:
        progress(0, len(townships))
    for done, code in enumerate(townships, 1):
        spec = build_roster_spec(
            code,
            year,
            export.by_township[code],
            registry=registry,
            catalog=catalog,
            roster_sha256=export.sha256,
        )
        written.append(write_roster(spec, out / spec.file_name(), force=force, inputs=[Path(roster_csv)]))
        if progress:
            progress(done, len(townships))
    return written

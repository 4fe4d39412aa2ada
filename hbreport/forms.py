"""Form generation: one fill-in workbook per unit of a level, pre-filled with the 建档立卡 baseline."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from hbreport.context import Context
from hbreport.errors import HBError
from hbreport.period import parse_period
from hbreport.spec import LEVEL_FORMS, build_workbook_spec, form_file_name
from hbreport.xlsx.atomic import refuse_existing
from hbreport.xlsx.writer import Values, write_workbook

Progress = Callable[[int, int], None]


def _covered(baseline, registry, code: str) -> bool:
    """Whether the baseline knows any village at or under ``code`` (else prefilling would invent zeros)."""
    unit = registry.get(code)
    if unit.level == "village":
        return unit.code in baseline.villages
    return any(v.code in baseline.villages for v in registry.descendants(unit.code, "village"))


TASK_PREFILL = "task:"  # a prefill key naming a catalog indicator: the row unit's cumulative task


def prefill_values(spec, registry, baseline) -> Values:
    """{form: {row_code: {field: value}}} for the prefill columns, from ``baseline.totals``.

    A column's ``prefill`` key names the baseline total it holds (poor_households, poor_people,
    poor_villages …), or ``task:INDICATOR``: the row unit's task due by the end of the period (its
    own tasks, ``baseline.tasks``). Rows whose unit the baseline does not cover, or that have no task,
    get None: the writer leaves those cells unlocked, so a registry without a baseline still gives a
    usable form."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    totals_cache: dict[str, dict[str, int] | None] = {}
    tasks = None
    for sheet in spec.sheets:
        cols = [c for c in sheet.columns if c.role == "prefill" and c.prefill]
        if not cols:
            continue
        rows: dict[str, dict[str, Any]] = {}
        for unit in sheet.rows:
            if unit.code not in totals_cache:
                covered = _covered(baseline, registry, unit.code)
                totals_cache[unit.code] = baseline.totals(registry, unit.code) if covered else None
            totals = totals_cache[unit.code]
            row: dict[str, Any] = {}
            for c in cols:
                if c.prefill.startswith(TASK_PREFILL):
                    if tasks is None:
                        tasks = baseline.tasks(registry)
                    due = (
                        None
                        if totals is None
                        else tasks.cumulative(unit.code, c.prefill[len(TASK_PREFILL) :], spec.period)
                    )
                    row[c.key] = None if due is None else (int(due) if float(due).is_integer() else due)
                else:
                    row[c.key] = None if totals is None else totals.get(c.prefill)
            rows[unit.code] = row
        out[sheet.form] = rows
    return out


def units_to_generate(registry, level: str, under: str | None = None) -> list:
    """The units of ``level`` at or under ``under`` (all of them when None), in registry order."""
    from hbreport.registry import LEVEL_ZH

    if level not in LEVEL_FORMS:
        raise HBError(f"层级「{level}」不生成填报表", hint="可选：" + "、".join(LEVEL_FORMS))
    level_zh = LEVEL_ZH.get(level, level)
    if under is None:
        units = list(registry.at_level(level))
    else:
        top = registry.get(under)
        units = [top] if top.level == level else list(registry.descendants(top.code, level))
        if not units:
            raise HBError(
                f"「{top.name}」({top.code}) 下没有{level_zh}级单位",
                hint="检查 --under 给的代码与 --level 是否匹配（--under 应是该级或更高一级的单位）",
            )
    if not units:
        raise HBError(f"单位名册中没有{level_zh}级单位", hint="检查单位名册")
    return units


def generate_forms(
    level: str,
    period: int | str,
    *,
    under: str | None = None,
    out_dir: str | Path,
    registry=None,
    catalog=None,
    baseline=None,
    xlwings: bool = False,
    progress: Progress | None = None,
    force: bool = False,
) -> list[Path]:
    """Write one workbook per unit of ``level`` (under ``under``) into ``out_dir``, named ``spec.file_name()``.

    When any of those files exists, nothing is written unless ``force`` (a folder of filled workbooks is
    never blanked by mistake); even then only regular files are replaced.

    Runs in one process: writing is fast (see docs/forms.md) and the spec rendering shares the
    loaded registry, catalog and baseline."""

    year = parse_period(period)
    registry, catalog, baseline = Context.of(registry, catalog, baseline).parts
    units = units_to_generate(registry, level, under)
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HBError(
            f"无法创建输出文件夹：{exc.strerror or exc}", file=out_dir, hint="换一个有写权限的文件夹"
        ) from None
    refuse_existing((out_dir / form_file_name(u.code, u.name, u.level, year) for u in units), force, "工作簿")
    written: list[Path] = []
    total = len(units)
    if progress:
        progress(0, total)
    for done, unit in enumerate(units, 1):
        spec = build_workbook_spec(unit.code, year, registry=registry, catalog=catalog, baseline=baseline)
        values = prefill_values(spec, registry, baseline)
        written.append(
            write_workbook(
                spec,
                out_dir / spec.file_name(),
                values=values,
                xlwings=xlwings,
                force=force,
                own_rows_only=level != "township",  # above it, the children's rows come from consolidation
            )
        )
        if progress:
            progress(done, total)
    return written

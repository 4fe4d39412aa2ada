"""Task workbooks (任务分解表): the province sends each parent unit one to split its task among its
children, and loads them back — on the same writer, identity, safety gate and reader as every form.

A workbook is the parent unit's, for one year: a row per child with its baseline (locked), the year's
people and villages tasks (prefilled with the current ones, to adjust) and the 合计 row; the notes say
the parent's own tasks, which the children's must add up to. Above the township a second sheet
(摘帽与重点工程任务) carries, per child, the poor counties to 摘帽 in each year of the plan's schedule
(province and prefecture workbooks: a county is 1 in its planned year) and the key-project tasks due by
their deadline. The identity (family ``hbreport.tasks``) keeps task workbooks and report forms apart:
neither is read as the other.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from hbreport.context import Context
from hbreport.errors import HBError
from hbreport.period import parse_period
from hbreport.spec import RowUnit, WorkbookSpec, render_form, safe_file_part, unit_heading
from hbreport.tasks.check import check_sums
from hbreport.tasks.table import TaskTable
from hbreport.tasks.units import COUNTY_SCHEDULE, project_indicators, project_total

TASK_FAMILY = "hbreport.tasks"
TASK_FORM = "tasks"
#: the task columns of the form and the indicator each holds the year's task of
TASK_COLUMNS = {"year_task_people": "SCHED_PEOPLE_EXIT", "year_task_villages": "SCHED_VILLAGE_EXIT"}
SCHEDULE_FORM = "task_schedule"
#: the schedule sheet's column of the counties to 摘帽 in a year (SCHED_COUNTY_EXIT of that year)
EXIT_COLUMN = "exit_task_{}"
TASK_INSTRUCTIONS = (
    "一、本工作簿为任务分解表：把上级下达给本单位的本年任务分到各下级单位，由 hbreport 按《湖北省脱贫攻坚规划(2016—2020年)》生成。",
    "二、只能在白色（未锁定）单元格中填写；灰色单元格为建档立卡基数，已保护，不能修改。",
    "三、本年任务已按推算或上次下达的数预填，按实际调整；各下级之和（合计行）应等于表下写明的本单位本年任务。",
    "四、请勿增删行列、改名或删除工作表；填好后保存为 .xlsx 格式，按原文件名报回。",
)


@dataclass(frozen=True)
class TaskSpec(WorkbookSpec):
    """A parent unit's task workbook for one year."""

    def meta(self) -> dict[str, str]:
        meta = super().meta()
        meta["family"] = TASK_FAMILY
        return meta

    def file_name(self) -> str:
        return f"{self.unit_code[:6]}_{safe_file_part(self.unit_name)}_{self.period}_任务分解.xlsx"


def _fmt(value: float | None) -> str:
    if value is None:
        return "（未下达）"
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def project_columns(catalog) -> dict[str, str]:
    """{schedule-sheet column: key-project indicator}: ``task_<field>`` for each 03-form field whose plan
    total is split as a task (``units.project_indicators``)."""
    return {f"task_{project_total(catalog, code)[2]}": code for code in project_indicators(catalog)}


def exit_years(sheet) -> dict[str, int]:
    """{column: year} of the schedule sheet's 摘帽 columns."""
    prefix = EXIT_COLUMN.format("")
    return {k: int(k[len(prefix) :]) for k in sheet.column_keys if k.startswith(prefix)}


def _schedule_notes(unit, sheet, tasks, catalog) -> tuple[str, ...]:
    """The parent's own 摘帽 and key-project tasks, which its children's must add up to."""
    notes = []
    years = exit_years(sheet)
    if years:
        series = tasks.series(unit.code, COUNTY_SCHEDULE) or {}
        due = "、".join(f"{y}年{_fmt(series.get(y)) if series else '（未下达）'}个" for y in years.values())
        notes.append(f"上级下达{unit.name}的贫困县摘帽任务：{due}")
    parts = []
    for key, code in project_columns(catalog).items():
        if key not in sheet.column_keys:
            continue
        field = sheet.column(key).field
        series = tasks.series(unit.code, code)
        total = _fmt(sum(series.values())) if series else "（未下达）"
        parts.append(f"{field.label}{total}{field.unit}" + (f"（到{max(series)}年）" if series else ""))
    if parts:
        notes.append(f"上级下达{unit.name}的重点工程任务：" + "、".join(parts))
    return tuple(notes)


def build_task_spec(unit_code: str, period: int, *, ctx: Context | None = None) -> TaskSpec:
    """The task workbook of ``unit_code`` (a parent unit) for ``period``."""
    ctx = ctx or Context.of()
    registry, catalog, baseline = ctx.parts
    unit = registry.get(unit_code)
    children = registry.children(unit.code)
    if not children or unit.level == "township" and not baseline.villages:
        raise HBError(
            f"「{unit.name}」({unit.short_code}) 没有下级单位，无需分解任务", hint="给出有下级的单位"
        )
    rows = [RowUnit(c.code, c.name) for c in children]
    sheet = render_form(
        TASK_FORM, unit=unit, level=unit.level, period=period, rows=rows, poor_rows=None, catalog=catalog
    )
    tasks = baseline.tasks(registry)
    own = [
        f"上级下达{unit.name}{period}年{catalog[code].name}任务：{_fmt((tasks.series(unit.code, code) or {}).get(period))}"
        f"{'人' if key.endswith('people') else '个'}"
        for key, code in TASK_COLUMNS.items()
    ]
    sheet = replace(sheet, notes=(*sheet.notes, *own))
    sheets = (sheet,)
    if unit.level != "township":  # a township's children are villages: no counties, no key projects
        schedule = render_form(
            SCHEDULE_FORM,
            unit=unit,
            level=unit.level,
            period=period,
            rows=rows,
            poor_rows=None,
            catalog=catalog,
        )
        schedule = replace(
            schedule, notes=(*schedule.notes, *_schedule_notes(unit, schedule, tasks, catalog))
        )
        sheets = (sheet, schedule)
    return TaskSpec(
        **unit_heading(unit, registry),
        period=period,
        sheets=sheets,
        instructions=TASK_INSTRUCTIONS,
    )


def task_values(spec: TaskSpec, ctx: Context) -> dict[str, dict[str, dict[str, float | None]]]:
    """The cells to write: the baseline (prefill) and each child's current task for the year."""
    from hbreport.forms import prefill_values

    registry, catalog, baseline = ctx.parts
    tasks = baseline.tasks(registry)
    values = prefill_values(spec, registry, baseline)
    rows = values.setdefault(TASK_FORM, {})
    for row in spec.sheets[0].rows:
        cells = rows.setdefault(row.code, {})
        for key, code in TASK_COLUMNS.items():
            cells[key] = _number((tasks.series(row.code, code) or {}).get(spec.period))
    if len(spec.sheets) > 1:
        sheet = spec.sheet(SCHEDULE_FORM)
        years = exit_years(sheet)
        projects = {k: c for k, c in project_columns(catalog).items() if k in sheet.column_keys}
        rows = values.setdefault(SCHEDULE_FORM, {})
        for row in sheet.rows:
            cells = rows.setdefault(row.code, {})
            exits = tasks.series(row.code, COUNTY_SCHEDULE)
            for key, year in years.items():
                cells[key] = None if exits is None else _number(exits.get(year, 0))
            for key, code in projects.items():
                series = tasks.series(row.code, code)
                cells[key] = None if series is None else _number(sum(series.values()))
    return values


def _number(value: float | None) -> float | None:
    return None if value is None else int(value) if float(value).is_integer() else value


def generate_task_forms(
    level: str,
    period: int | str,
    *,
    out_dir: str | Path,
    under: str | None = None,
    ctx: Context | None = None,
    force: bool = False,
) -> list[Path]:
    """One task workbook per unit of ``level`` (under ``under``); nothing is written when any exists
    (without ``force``), as for forms."""
    from hbreport.forms import units_to_generate
    from hbreport.xlsx.atomic import check_target
    from hbreport.xlsx.writer import write_workbook

    ctx = ctx or Context.of()
    year = parse_period(period)
    units = units_to_generate(ctx.registry, level, under)
    specs = [build_task_spec(u.code, year, ctx=ctx) for u in units]
    out_dir = Path(out_dir)
    for spec in specs:
        check_target(out_dir / spec.file_name(), suffix=".xlsx", force=force)
    return [
        write_workbook(spec, out_dir / spec.file_name(), values=task_values(spec, ctx), force=force)
        for spec in specs
    ]


def _rebuild(path: Path, meta: dict[str, str], book, ctx: Context) -> TaskSpec:
    if meta.get("forms", "").split(",")[0] != TASK_FORM:
        raise HBError("任务分解表的表式标识不完整", file=path, hint="请使用下发的原任务分解表填报")
    return build_task_spec(meta["unit_code"], parse_period(meta["period"]), ctx=ctx)


def read_task_workbook(path: str | Path, *, ctx: Context | None = None):
    """Read one filled task workbook (gate, identity, reader); HBError when it cannot be used."""
    from hbreport.xlsx.reader import read_workbook

    ctx = ctx or Context.of()
    return read_workbook(
        Path(path),
        **ctx.keywords,
        family=TASK_FAMILY,
        rebuild=lambda p, meta, book: _rebuild(p, meta, book, ctx),
    )


def load_task_workbooks(paths: Iterable[str | Path], *, ctx: Context | None = None) -> TaskTable:
    """The run's task table with the children's tasks of the given workbooks put in.

    Each child gets its whole series (the table's own or split from its parent) with the workbook's year
    replaced, so the table stays complete; HBError naming file and cells for a workbook with errors, and
    naming the units when the children do not add up to their parent."""
    ctx = ctx or Context.of()
    registry, catalog, baseline = ctx.parts
    tasks = baseline.tasks(registry)
    table = TaskTable(source=None)
    for code, period, indicator, value in tasks.table.rows():
        table.set(code, indicator, period, value)
    for path in paths:
        result = read_task_workbook(path, ctx=ctx)
        if result.errors:
            first = result.errors[0]
            raise HBError(
                f"任务分解表有 {len(result.errors)} 处错误，例如 {first.where()}：{first.message}",
                file=path,
                hint="改正后重新报回（hbreport check 不读任务分解表；打开文件看红色单元格）",
            )
        data = result.data
        rows = data.rows[TASK_FORM]
        for child, cells in rows.items():
            for key, indicator in TASK_COLUMNS.items():
                value = cells.get(key)
                if not isinstance(value, (int, float)):
                    raise HBError(
                        f"{registry.get(child).name}的「{data.spec.sheets[0].column(key).field.label}」没有填写",
                        file=path,
                        hint="每个下级单位都要填本年任务，没有任务的填 0",
                    )
                series = dict(tasks.series(child, indicator) or {})
                series[data.period] = value
                for year, amount in series.items():
                    table.set(child, indicator, year, amount)
        if SCHEDULE_FORM in data.rows:
            _load_schedule(path, data, table, tasks, ctx)
    problems = check_sums(table, registry, catalog)
    if problems:
        shown = "；".join(problems[:5]) + (f"；……共 {len(problems)} 处" if len(problems) > 5 else "")
        raise HBError(
            f"报回的任务分解不平衡：{shown}",
            hint="下级任务之和应等于上级下达的任务：请有关单位改正后重新报回",
        )
    return table


def _load_schedule(path, data, table: TaskTable, tasks, ctx: Context) -> None:
    """The schedule sheet's cells into ``table``: each child's 摘帽 count in each year of the schedule, and
    its key-project totals (kept as they were when unchanged, else due at the series' last year or the
    plan's deadline)."""
    registry, catalog, _ = ctx.parts
    sheet = data.spec.sheet(SCHEDULE_FORM)
    years = exit_years(sheet)
    projects = {k: c for k, c in project_columns(catalog).items() if k in sheet.column_keys}
    for child, cells in data.rows[SCHEDULE_FORM].items():
        unit = registry.get(child)
        for key in (*years, *projects):
            if not isinstance(cells.get(key), (int, float)):
                raise HBError(
                    f"{unit.name}的「{sheet.column(key).field.label}」没有填写（{sheet.sheet}）",
                    file=path,
                    hint="每个下级单位都要填，没有任务的填 0",
                )
        if years:
            if unit.level == "county" and sum(cells[k] for k in years) > 1:
                due = "、".join(f"{y}年" for k, y in years.items() if cells[k])
                raise HBError(
                    f"{unit.name}（{unit.short_code}）的摘帽任务填在 {due}：一个县只能在一年摘帽（{sheet.sheet}）",
                    file=path,
                    hint="县只在计划摘帽的那一年填 1，其他年份填 0",
                )
            for key, year in years.items():
                table.set(child, COUNTY_SCHEDULE, year, cells[key])
        for key, code in projects.items():
            series = tasks.series(child, code)
            value = cells[key]
            if series is not None and abs(sum(series.values()) - value) <= 1e-9:
                kept = dict(series)
            else:
                due_year = max(series) if series else project_total(catalog, code)[1]
                kept = {due_year: value}
            table.values.setdefault(child, {})[code] = kept

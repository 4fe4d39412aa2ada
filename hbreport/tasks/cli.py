"""`hbreport tasks …`: derive, check and issue the tasks per unit and year."""

from __future__ import annotations

from pathlib import Path

import click

from hbreport.cli import (
    _console,
    _context,
    _done,
    _emit_json,
    _period,
    _registry,
    force_option,
    json_option,
    main,
    out_dir_option,
    out_file_option,
    period_option,
    tasks_option,
    under_option,
    units_option,
)
from hbreport.errors import EXIT_FINDINGS, EXIT_OK, HBError

TASK_LEVELS = ("province", "prefecture", "county", "township", "village")


@main.group()
def tasks() -> None:
    """任务分解：按基数和规划进度推算各单位各年任务，检查上下级是否平衡，生成下发的任务分解表。"""


@tasks.command("derive")
@click.option(
    "--level", default="county", type=click.Choice(TASK_LEVELS), help="分解到哪一级（默认 county 县市区）"
)
@units_option()
@out_file_option(help="输出的 tasks.csv")
@force_option()
@json_option()
def derive(level: str, units: str | None, out_path: str, force: bool, as_json: bool) -> None:
    """按建档立卡基数与规划年度进度推算任务（贫困县的剩余任务在摘帽年份完成），写成 tasks.csv。"""
    from hbreport.tasks import derive_tasks, write_tasks

    registry = _registry(units)
    table = derive_tasks(registry, level=level)
    inputs = [Path(units)] if units else []
    path = write_tasks(table, Path(out_path), registry, force=force, inputs=inputs)
    _done(
        as_json,
        {"level": level, "rows": len(table), "units": len(table.units()), "file": str(path)},
        f"已推算 {len(table.units())} 个单位的任务（{len(table)} 行），保存在 {path}",
    )


@tasks.command("check")
@click.argument("file", type=click.Path(dir_okay=False))
@units_option()
@json_option()
def check(file: str, units: str | None, as_json: bool) -> int:
    """检查任务分解表：单位、年份、指标是否有效，下级任务之和是否等于上级。"""
    from hbreport.catalog import load_catalog
    from hbreport.tasks import check_sums, load_tasks

    registry = _registry(units)
    catalog = load_catalog()
    table = load_tasks(Path(file), catalog)
    unknown = [code for code in table.units() if code not in registry]
    problems = [f"单位 {code} 不在单位名册中" for code in unknown] + check_sums(table, registry, catalog)
    if as_json:
        _emit_json({"file": file, "rows": len(table), "problems": problems})
    elif problems:
        for line in problems:
            _console().print(f"[错误] {line}", markup=False)
    else:
        _console().print(f"任务分解表 {file}：{len(table)} 行，上下级平衡，未发现问题", markup=False)
    return EXIT_FINDINGS if problems else EXIT_OK


@tasks.command("forms")
@click.option(
    "--level",
    required=True,
    type=click.Choice(("province", "prefecture", "county", "township")),
    help="给哪一级的单位生成（每个单位一张，列出其下级）",
)
@under_option(help="只生成该单位（6位或12位代码）及其下属单位的")
@period_option(help="任务年度，例如 2018")
@out_dir_option()
@tasks_option(help="现有的任务分解表 CSV（默认内置样例的 tasks.csv）")
@units_option()
@force_option(help="覆盖输出目录中已存在的同名工作簿（默认一个也不写）")
@json_option()
def forms(
    level: str,
    under: str | None,
    period: str,
    out_dir: str,
    tasks_file: str | None,
    units: str | None,
    force: bool,
    as_json: bool,
) -> None:
    """生成下发的任务分解表：每个单位一个工作簿，逐个下级填写本年任务。"""
    from hbreport.tasks.workbook import generate_task_forms

    ctx = _context(units, tasks_file)
    year = _period(period)
    paths = generate_task_forms(level, year, out_dir=Path(out_dir), under=under, ctx=ctx, force=force)
    payload = {"period": year, "level": level, "under": under, "files": [str(p) for p in paths]}
    _done(as_json, payload, f"已生成 {len(paths)} 个任务分解表，保存在 {out_dir}")


@tasks.command("load")
@click.argument("files", nargs=-1, required=True, type=click.Path())
@out_file_option(help="输出的 tasks.csv")
@tasks_option(help="现有的任务分解表 CSV（默认内置样例的 tasks.csv）")
@units_option()
@force_option()
@json_option()
def load(
    files: tuple[str, ...],
    out_path: str,
    tasks_file: str | None,
    units: str | None,
    force: bool,
    as_json: bool,
) -> None:
    """收回任务分解表：读取报回的工作簿（或文件夹），检查上下级平衡，写成新的 tasks.csv。"""
    from hbreport.tasks import write_tasks
    from hbreport.tasks.workbook import load_task_workbooks

    ctx = _context(units, tasks_file)
    paths: list[Path] = []
    for name in files:
        path = Path(name)
        paths.extend(sorted(path.glob("*.xlsx")) if path.is_dir() else [path])
    if not paths:
        raise HBError("没有找到任务分解表（.xlsx）", hint="给出报回的任务分解表或其所在的文件夹")
    table = load_task_workbooks(paths, ctx=ctx)
    inputs = [*paths, *([Path(tasks_file)] if tasks_file else []), *([Path(units)] if units else [])]
    written = write_tasks(table, Path(out_path), ctx.registry, force=force, inputs=inputs)
    _done(
        as_json,
        {"files": [str(p) for p in paths], "rows": len(table), "file": str(written)},
        f"已读取 {len(paths)} 个任务分解表，上下级平衡，新的任务分解表保存在 {written}",
    )

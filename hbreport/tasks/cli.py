"""`hbreport tasks …`: derive, check and issue the tasks per unit and year."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..cli import _console, _emit_json, _registry, _user_errors, main
from ..errors import EXIT_FINDINGS, EXIT_OK

TASK_LEVELS = ("province", "prefecture", "county", "township", "village")
UNITS_OPTION = click.option(
    "--units", default=None, type=click.Path(dir_okay=False), help="单位名册 CSV（默认内置湖北样例）"
)


@main.group()
def tasks() -> None:
    """任务分解：按基数和规划进度推算各单位各年任务，检查上下级是否平衡，生成下发的任务分解表。"""


@tasks.command("derive")
@click.option(
    "--level", default="county", type=click.Choice(TASK_LEVELS), help="分解到哪一级（默认 county 县市区）"
)
@UNITS_OPTION
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False), help="输出的 tasks.csv")
@click.option("--force", is_flag=True, help="覆盖已存在的输出文件（输入文件任何时候都不会被覆盖）")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出结果")
def derive(level: str, units: str | None, out_path: str, force: bool, as_json: bool) -> None:
    """按建档立卡基数与规划年度进度推算任务（贫困县的剩余任务在摘帽年份完成），写成 tasks.csv。"""
    with _user_errors():
        from . import derive_tasks, write_tasks

        registry = _registry(units)
        table = derive_tasks(registry, level=level)
        inputs = [Path(units)] if units else []
        path = write_tasks(table, Path(out_path), registry, force=force, inputs=inputs)
        if as_json:
            _emit_json({"level": level, "rows": len(table), "units": len(table.units()), "file": str(path)})
        else:
            _console().print(f"已推算 {len(table.units())} 个单位的任务（{len(table)} 行），保存在 {path}")
    sys.exit(EXIT_OK)


@tasks.command("check")
@click.argument("file", type=click.Path(dir_okay=False))
@UNITS_OPTION
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出结果")
def check(file: str, units: str | None, as_json: bool) -> None:
    """检查任务分解表：单位、年份、指标是否有效，下级任务之和是否等于上级。"""
    with _user_errors():
        from ..catalog import load_catalog
        from . import check_sums, load_tasks

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
    sys.exit(EXIT_FINDINGS if problems else EXIT_OK)

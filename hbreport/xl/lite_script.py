"""The xlwings Lite script 校验本表: check every row of every form in the open workbook and list what is
wrong on a sheet 校验结果. It reads the workbook through xlwings Lite (no files: Lite has none) and
checks with :func:`hbreport.xl.core.workbook_problems`, the engine's own rules.

Cells that break a rule are already coloured by the form's conditional formatting, so the script does not
touch the (protected) form sheets. Where the workbook structure is protected and no sheet can be added,
the result goes to the Lite output pane instead.
"""

from __future__ import annotations

from typing import Any

import xlwings as xw
from xlwings import script

from hbreport.xl.core import (
    META_SHEET_NAME,
    RESULTS_SHEET,
    current_forms,
    meta_value,
    problems_table,
    read_meta,
    workbook_problems,
)


def _values(sheet: Any) -> list[list[Any]]:
    value = sheet.used_range.value
    if not isinstance(value, list):
        return [[value]]
    return value if value and isinstance(value[0], list) else [value]


@script
def validate_workbook(book: xw.Book) -> None:
    """校验本表：按表式规则逐行检查本工作簿各表，问题写入“校验结果”表。"""
    names = [sheet.name for sheet in book.sheets]
    if META_SHEET_NAME not in names:
        print("本工作簿不是 hbreport 生成的填报表（没有 _meta 表），无法校验。")
        return
    meta = read_meta(_values(book.sheets[META_SHEET_NAME]))
    grids = {}
    for form in meta_value(meta, "forms").split(","):
        name = meta_value(meta, f"sheet.{form}")
        if name not in names:
            print(f"找不到工作表「{name}」：请勿改名或删除工作表。")
            return
        grids[name] = _values(book.sheets[name])
    problems = workbook_problems(current_forms(), meta, grids)
    rows = problems_table(problems)
    try:
        sheet = book.sheets[RESULTS_SHEET] if RESULTS_SHEET in names else book.sheets.add(RESULTS_SHEET)
        sheet.clear_contents()
        sheet["A1"].value = rows
        sheet.activate()
    except Exception as exc:  # a protected workbook structure: no sheet can be added
        print(f"未能写入“{RESULTS_SHEET}”表（{exc}）；校验结果如下：")
        for row in rows:
            print("\t".join("" if v is None else str(v) for v in row))
    errors = sum(p.importance == "error" for p in problems)
    print(f"校验完成：错误 {errors} 项，警告 {len(problems) - errors} 项。")

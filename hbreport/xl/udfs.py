"""xlwings worksheet functions (UDFs): the forms' checks, completion and status, computed by the same
engine, rules and catalog as the native formulas and the reader.

The classic add-in imports this module (``UDF Modules = hbreport.xl.udfs`` on the workbook's
``xlwings.conf`` sheet, then Import Functions); xlwings Lite runs the same definitions bundled into
``macros/lite/main.py``. A generated ``--xlwings`` workbook calls them as ``IFERROR(HB_…(…), native)``,
so a workbook opened where they do not exist (WPS, LibreOffice, Excel without Python) shows the native
result. No function raises into a cell: a wrong argument shows a Chinese message.

On Linux ``func``/``arg``/``ret`` return the function unchanged; the tests call these functions with the
values Excel would pass (2-D lists of rows, None for empty cells, floats for numbers).
"""

from __future__ import annotations

from typing import Any

import xlwings as xw
from xlwings import func

from hbreport.xl.core import (
    check_row_text,
    check_rows_text,
    completion,
    exit_ok,
    id_ok,
    run,
    status,
    use_snapshot,
)
from hbreport.xl.snapshot import build_snapshot

use_snapshot(build_snapshot)


@func
@xw.arg("row", ndim=2)
@xw.arg("header", ndim=2)
def HB_CHECK(form_id: Any, row: Any, header: Any, period: Any = None) -> Any:
    """本行的校验结果（与“校验结果”列的原生公式相同；全部通过时为空）。

    form_id: 表式代码，如 "poverty_progress"；row: 本行各栏（从第1栏到最后一栏）；
    header: 各栏的字段名（_meta 表中的 header 行）或栏目名称（第6行）；period: 报告期（年份）。"""
    return run(check_row_text, form_id, row, header, period)


@func
@xw.arg("rows", ndim=2)
@xw.arg("header", ndim=2)
def HB_CHECK_ROWS(form_id: Any, rows: Any, header: Any, period: Any = None) -> Any:
    """整张表的校验结果，一行一个（数组公式：一次调用算完全表）。参数同 HB_CHECK，rows 为多行。"""
    result = run(check_rows_text, form_id, rows, header, period)
    return result if isinstance(result, list) else [[result]]


@func
@xw.arg("actual", err_to_str=True)
@xw.arg("expected", err_to_str=True)
def HB_COMPLETION(indicator_code: Any, actual: Any, period: Any, expected: Any = None) -> Any:
    """完成计划累计进度的比例 = 实际累计比例 ÷ 到该年末的累计进度（如 SCHED_PEOPLE_EXIT）。

    actual 为占基数的比例（72% 写 0.72）；expected 为本单位的计划进度（按任务分解，可省略：省略时按规划进度）；
    为空或到该年尚无进度安排时返回空。"""
    return run(completion, indicator_code, actual, period, expected)


@func
@xw.arg("actual", err_to_str=True)
@xw.arg("expected", err_to_str=True)
def HB_STATUS(indicator_code: Any, actual: Any, period: Any, expected: Any = None) -> Any:
    """进度状态：超前、正常或滞后，按表式“进度状态”栏的公式和界限判断；actual 为空时返回空。
    expected 为本单位的计划进度（按任务分解，可省略：省略时按规划进度）。"""
    return run(status, indicator_code, actual, period, expected)


@func
@xw.arg("checks", ndim=2)
def HB_EXIT_OK(income: Any, period: Any, *checks: Any) -> Any:
    """贫困户脱贫标准：人均纯收入超过当年扶贫标准，且各项保障（是/否）均已达到。达标时为空，否则写明原因。"""
    return run(exit_ok, income, period, *checks)


@func
@xw.arg("id_number", ndim=2)
def HB_ID_OK(id_number: Any) -> Any:
    """18位公民身份号码校验（含 ISO 7064 MOD 11-2 校验码）：有效时为空，否则写明原因；给区域时逐格返回。"""
    return run(id_ok, id_number, needs_forms=False)

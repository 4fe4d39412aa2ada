"""A roster's derived column and row rules computed by column over all its households at once.

The roster's formulas (达到脱贫标准) and rules (HR01–HR19) are the same expressions the workbook
holds; :mod:`hbreport.rules_columnar` evaluates each over the township's households as arrays, with
exactly the row-by-row semantics (tests/test_rules_columnar.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..engine import total_row
from ..rules import Expr
from ..rules_columnar import FAIL, INVALID, Table, evaluate_columns, rule_statuses
from ..spec import SheetSpec, WorkbookSpec
from ..values import FormData

Rows = dict[str, dict[str, Any]]


def compute_rows(sheet: SheetSpec, inputs: Mapping[str, Mapping[str, Any]]) -> Rows:
    """{row code: every column}: inputs and prefilled values as given, derived columns computed by
    column (what :func:`hbreport.engine.compute_row` gives row by row)."""
    codes = [r.code for r in sheet.rows]
    empty: Mapping[str, Any] = {}
    given = [inputs.get(code, empty) for code in codes]
    columns: dict[str, list[Any]] = {key: [row.get(key) for row in given] for key in sheet.given_keys}
    table = Table(columns, len(codes))
    for col in sheet.derived_columns:
        columns[col.key] = evaluate_columns(Expr.parse(col.formula), table)
    keys = list(columns)
    return {
        code: dict(zip(keys, values, strict=True))
        for code, *values in zip(codes, *columns.values(), strict=True)
    }


def form_data(spec: WorkbookSpec, inputs: Mapping[str, Rows], **kw: Any) -> FormData:
    """:meth:`FormData.from_inputs` with each sheet's rows computed by column."""
    data = FormData(spec=spec, **kw)
    for sheet in spec.sheets:
        rows = compute_rows(sheet, inputs.get(sheet.form, {}))
        data.rows[sheet.form] = rows
        data.totals[sheet.form] = total_row(sheet, rows.values(), computed=True)
    return data


def failures(sheet: SheetSpec, rows: Mapping[str, Mapping[str, Any]]) -> list[tuple[int, Any, str]]:
    """(row index, rule, "fail" | "invalid") for every rule not passing on a row, in row then rule
    order (as :func:`hbreport.engine.check_row` gives them row by row)."""
    codes = [r.code for r in sheet.rows]
    n = len(codes)
    table = [rows[code] for code in codes]
    needed = {name for rule in sheet.rules for name in rule.compiled().fields}
    columns = Table({name: [row.get(name) for row in table] for name in needed}, n)
    found: list[tuple[int, int, Any, str]] = []
    for order, rule in enumerate(sheet.rules):
        status = rule_statuses(rule, columns)
        for i in np.flatnonzero((status == FAIL) | (status == INVALID)).tolist():
            found.append((i, order, rule, "fail" if status[i] == FAIL else "invalid"))
    found.sort(key=lambda f: (f[0], f[1]))
    return [(i, rule, outcome) for i, _, rule, outcome in found]


def check_texts(sheet: SheetSpec, rows: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """{row code: what its 校验结果 cell shows} ('' when every rule passes), as
    :func:`hbreport.engine.check_text` gives it row by row."""
    codes = [r.code for r in sheet.rows]
    parts: dict[int, list[str]] = {}
    for i, rule, outcome in failures(sheet, rows):
        parts.setdefault(i, []).append(rule.fail_text if outcome == "fail" else rule.invalid_text)
    return {code: "".join(parts.get(i, ())) for i, code in enumerate(codes)}

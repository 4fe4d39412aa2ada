"""What a county's consolidated workbook must hold, worked out from its townships' inputs alone.

Independent of the consolidator: it reads only the fields' declared aggregation (sum, count of 是,
maximum, rows counted) and the values the townships typed, so a test can compare the county workbook
with it.
"""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from hbreport.spec import build_workbook_spec
from hbreport.xlsx.layout import TOTAL_ROW, SheetLayout

COUNTY = "421122"  # 红安县
PERIOD = 2017
TOWNSHIP_FORMS = ("poverty_progress", "village_exit", "key_projects")  # what a township reports


def county_input_expected(children: dict[str, dict]) -> dict[str, dict[str, dict[str, object]]]:
    """What the county's form must hold on each child's row, from the children's inputs alone:
    sums of counts, counts of 是, maxima, the number of rows where a form counts rows."""
    county = build_workbook_spec(COUNTY, PERIOD)
    out: dict[str, dict[str, dict[str, object]]] = {}
    for code, values in children.items():
        child = build_workbook_spec(code, PERIOD)
        for sheet in county.sheets:
            if sheet.form not in values:
                continue
            child_sheet = child.sheet(sheet.form)
            rows = list(values[sheet.form].values())
            cells = out.setdefault(sheet.form, {}).setdefault(code + "000", {})
            for col in sheet.input_columns:
                if child_sheet.count_rows_as == col.key:
                    cells[col.key] = len(rows)
                    continue
                sources = [
                    c for c in child_sheet.columns if c.field.parent_key == col.key and c.role != "derived"
                ]
                if not sources:
                    continue
                f = sources[0].field
                column = [row.get(f.key) for row in rows]
                numbers = [v for v in column if isinstance(v, int | float) and not isinstance(v, bool)]
                if rows and all(v in (None, "") for v in column):
                    cells[col.key] = None  # left blank in every row: not reported, not 0
                elif f.aggregation == "sum":
                    cells[col.key] = sum(numbers)
                elif f.aggregation == "count_if":
                    cells[col.key] = sum(1 for v in column if v == f.equals)
                elif f.aggregation == "max":
                    cells[col.key] = max(numbers) if numbers else 0  # as MAX() of blanks
    return out


def assert_county_holds(
    out_path: Path,
    expected: dict,
    absent: tuple[str, ...] = (),
    forms: tuple[str, ...] = TOWNSHIP_FORMS,
    at_least: int = 50,
) -> None:
    """The county workbook's rows of the children in ``expected`` and its 合计 row (as saved) match the
    children's inputs; the rows of ``absent`` children are blank. ``at_least`` cells must be compared."""
    county = build_workbook_spec(COUNTY, PERIOD)
    book = openpyxl.load_workbook(out_path, data_only=True)
    checked = 0
    for sheet in county.sheets:
        if sheet.form not in forms:
            continue
        layout = SheetLayout(sheet)
        ws = book[sheet.sheet]
        for code, cells in expected.get(sheet.form, {}).items():
            for key, value in cells.items():
                held = ws[layout.cell(code, key)].value
                assert held == pytest.approx(value), (sheet.sheet, code, key)
                checked += 1
        for code in absent:
            for col in sheet.input_columns:
                assert ws[layout.cell(code, col.key)].value in (None, ""), (sheet.sheet, code, col.key)
        for col in sheet.input_columns:
            rows = expected.get(sheet.form, {}).values()
            if col.field.aggregation != "sum" or any(col.key not in cells for cells in rows):
                continue
            total = sum(cells[col.key] or 0 for cells in rows)
            assert (ws[f"{layout.col_letter(col.key)}{TOTAL_ROW}"].value or 0) == pytest.approx(total), (
                col.key
            )
            checked += 1
    assert checked >= at_least

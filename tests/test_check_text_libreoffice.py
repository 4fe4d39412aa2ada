"""The sheet's own 校验结果, computed by LibreOffice: a number cell holding text is said to hold text
(not another rule's message with 数据无效); a 累计脱贫率 above 100 % is 数据有误, not 超前; a row with
no exits typed has no rate and no status. Python says the same for the same cells."""

from __future__ import annotations

import shutil

import openpyxl
import pytest
import readback as rb

from hbreport.baseline import load_baseline
from hbreport.checks import engine
from hbreport.registry import load_registry
from hbreport.xlsx.layout import SheetLayout

pytestmark = pytest.mark.libreoffice
PP = "poverty_progress"


def test_text_and_impossible_rates_in_the_sheets_own_check(tmp_path):
    if shutil.which("soffice") is None and shutil.which("libreoffice") is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    from hbreport.office import recalculate

    spec = rb.spec_of(rb.TOWNSHIP)
    sheet = spec.sheet(PP)
    layout = SheetLayout(sheet)
    inputs = rb.valid_inputs(spec)
    baseline, registry = load_baseline(), load_registry()
    rows = [r.code for r in sheet.rows if baseline.totals(registry, r.code)["poor_people"] >= 10]
    text_row, high_row, empty_row = rows[0], rows[1], rows[2]
    base = baseline.totals(registry, high_row)["poor_people"]
    clean = rb.fill(rb.generate(rb.TOWNSHIP, tmp_path / "blank"), tmp_path / "clean.xlsx", spec, inputs)

    def spoil(book):
        ws = book[sheet.sheet]
        ws[layout.cell(text_row, "exited_people")] = "35人"
        ws[layout.cell(high_row, "prior_exited_people")] = base
        ws[layout.cell(high_row, "exited_people")] = round(base * 0.9)  # 190 %
        ws[layout.cell(high_row, "returned_people")] = 0
        for key in (
            "prior_exited_people",
            "exited_households",
            "exited_people",
            "returned_people",
            "new_people",
        ):
            ws[layout.cell(empty_row, key)] = None

    bad = rb.spoil(clean, tmp_path / "bad.xlsx", spoil)
    ws = openpyxl.load_workbook(recalculate(bad, tmp_path / "calc"), data_only=True)[sheet.sheet]

    def at(code, key):
        return ws[layout.cell(code, key)].value

    check = ws.cell(layout.row_index[text_row], layout.check_col).value
    assert check == "「本年脱贫人口」填的是文字，应填数字；"
    assert engine.check_text(sheet, {"exited_people": "35人"}) == check
    assert at(high_row, "progress_status") == "数据有误" and at(high_row, "cum_exit_rate") > 1
    assert at(empty_row, "cum_exit_rate") in (None, "") and at(empty_row, "progress_status") in (None, "")

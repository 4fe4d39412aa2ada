"""A return copy points at what the clerk typed: a failing rule is followed through derived cells to
the input cells that feed them (PP01: 累计脱贫人口 is locked; 本年脱贫人口 was typed)."""

from __future__ import annotations

import openpyxl
import readback as rb

from hbreport.baseline import load_baseline
from hbreport.checks.check import check_files
from hbreport.registry import load_registry
from hbreport.xlsx.annotate import annotate_copy
from hbreport.xlsx.layout import SheetLayout
from hbreport.xlsx.trace import feeding_inputs, traced_cells

PP = "poverty_progress"


def test_derived_fields_lead_to_the_inputs_that_feed_them():
    sheet = rb.spec_of(rb.TOWNSHIP).sheet(PP)
    # PP01: cum_exited_people <= base_people + new_people + returned_people
    assert feeding_inputs(sheet, ["cum_exited_people", "base_people", "new_people", "returned_people"]) == [
        "prior_exited_people",
        "exited_people",
        "returned_people",
        "new_people",
    ]


def test_a_pp01_failure_colours_the_typed_cell(tmp_path):
    spec = rb.spec_of(rb.TOWNSHIP)
    sheet = spec.sheet(PP)
    layout = SheetLayout(sheet)
    inputs = rb.valid_inputs(spec)
    row = next(r.code for r in sheet.rows if inputs[PP][r.code]["exited_people"] > 0)
    base = load_baseline().totals(load_registry(), row)["poor_people"]
    blank = rb.generate(rb.TOWNSHIP, tmp_path / "blank")
    clean = rb.fill(blank, tmp_path / "clean.xlsx", spec, inputs)
    typed = layout.cell(row, "exited_people")

    def spoil(book):  # 本年脱贫人口 typed far above the village's poor people
        book[sheet.sheet][typed] = base + 80
        book[sheet.sheet][layout.cell(row, "prior_exited_people")] = 0
        book[sheet.sheet][layout.cell(row, "returned_people")] = 0

    bad = rb.spoil(clean, tmp_path / "bad.xlsx", spoil)
    findings, results = check_files([bad])
    pp01 = [f for f in findings if f.rule == "PP01"]
    assert pp01 and all(f.cell != typed for f in pp01)  # the finding names another (derived) cell
    traced = traced_cells(results[0].data.spec, findings)
    assert (sheet.sheet, typed) in traced
    out = annotate_copy(bad, findings, tmp_path / "退回.xlsx", traced=traced)
    ws = openpyxl.load_workbook(out)[sheet.sheet]
    cell = ws[typed]
    assert cell.fill.fill_type == "solid" and cell.fill.start_color.rgb.upper().endswith("FF8080")
    assert "PP01" in cell.comment.text and "请核对本格" in cell.comment.text
    # a prefilled base is not the clerk's to change: left alone
    assert ws[layout.cell(row, "base_people")].comment is None

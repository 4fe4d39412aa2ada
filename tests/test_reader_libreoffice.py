"""Workbooks saved by LibreOffice read back the same: hidden (not very hidden) _meta, TRUE() for TRUE,
lower-cased unknown functions, LibreOffice's own styles. One LibreOffice run converts every file."""

from __future__ import annotations

from types import SimpleNamespace

import openpyxl
import pytest
import python_calamine
import readback as rb

from hbreport import office
from hbreport.spec import TOTAL
from hbreport.xlsx.annotate import ISSUES_SHEET, annotate_copy
from hbreport.xlsx.layout import FIRST_DATA_ROW, TOTAL_ROW, SheetLayout
from hbreport.xlsx.reader import read_workbook

pytestmark = [
    pytest.mark.libreoffice,
    pytest.mark.skipif(office.soffice_path() is None, reason="LibreOffice (soffice) is not installed"),
]
PP = "poverty_progress"


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lo")
    filled = {}
    for code in (rb.TOWNSHIP, rb.COUNTY):
        spec = rb.spec_of(code)
        blank = rb.generate(code, folder / "blank")
        filled[code] = rb.fill(blank, folder / f"filled_{code}.xlsx", spec, rb.valid_inputs(spec))

    spec = rb.spec_of(rb.TOWNSHIP)
    xlwings_blank = rb.generate(rb.TOWNSHIP, folder / "xlwings", xlwings=True)
    xlwings = rb.fill(xlwings_blank, folder / "filled_xlwings.xlsx", spec, rb.valid_inputs(spec))
    layout = SheetLayout(spec.sheet(PP))
    rows = [r.code for r in spec.sheet(PP).rows]
    cells = {
        "text": layout.cell(rows[0], "exited_people"),
        "over_formula": layout.cell(rows[1], "remaining_people"),
        "prefill": layout.cell(rows[2], "base_households"),
        "formula_input": layout.cell(rows[3], "new_people"),
    }

    def spoil(book):
        ws = book["01脱贫进展"]
        ws[cells["text"]] = "１２"
        ws[cells["over_formula"]] = 0
        ws[cells["prefill"]] = 99_999
        ws[cells["formula_input"]] = "=100+20"  # no result saved until a spreadsheet calculates it

    spoiled = rb.spoil(filled[rb.TOWNSHIP], folder / "spoiled.xlsx", spoil)
    spoiled_result = read_workbook(spoiled)
    annotated = annotate_copy(spoiled, spoiled_result.findings, folder / "annotated.xlsx")
    sources = [filled[rb.TOWNSHIP], filled[rb.COUNTY], spoiled, annotated, xlwings]
    before = [rb.sha256(p) for p in sources]
    converted = office.convert_many(sources, "xlsx", folder / "saved", recalc=True)
    assert [rb.sha256(p) for p in sources] == before
    return SimpleNamespace(
        filled=filled,
        saved=dict(zip(("township", "county", "spoiled", "annotated", "xlwings"), converted, strict=True)),
        spoiled=spoiled,
        spoiled_result=spoiled_result,
        cells=cells,
    )


def test_libreoffice_really_unhid_the_meta_sheet(saved):
    book = python_calamine.CalamineWorkbook.from_path(str(saved.saved["township"]))
    visibility = {m.name: m.visible for m in book.sheets_metadata}
    assert visibility["_meta"] == python_calamine.SheetVisibleEnum.Hidden


@pytest.mark.parametrize(
    ("code", "name"), [(rb.TOWNSHIP, "township"), (rb.COUNTY, "county"), (rb.TOWNSHIP, "xlwings")]
)
def test_saved_by_libreoffice_reads_back_the_same_values_with_no_findings(saved, code, name):
    original = read_workbook(saved.filled[code])  # the xlwings variant holds the same values
    path = saved.saved[name]
    before = rb.sha256(path)
    again = read_workbook(path)
    assert rb.sha256(path) == before
    assert again.findings == []
    assert again.data.rows == original.data.rows
    assert again.data.totals == original.data.totals
    assert again.meta["layout_hash"] == original.meta["layout_hash"]
    if name == "xlwings":  # LibreOffice lower-cases the functions it does not know
        layout = SheetLayout(again.spec.sheet(PP))
        check = f"{layout.check_letter}{FIRST_DATA_ROW}"
        assert "hb_check(" in openpyxl.load_workbook(path)["01脱贫进展"][check].value


@pytest.mark.parametrize("name", ["township", "county"])
def test_libreoffice_computes_what_the_reader_recomputes(saved, name):
    """The values LibreOffice calculated for derived, 合计 and 校验结果 cells equal the reader's own."""
    path = saved.saved[name]
    result = read_workbook(path)
    book = python_calamine.CalamineWorkbook.from_path(str(path))
    compared = 0
    for sheet in result.spec.sheets:
        layout = SheetLayout(sheet)
        grid = book.get_sheet_by_name(sheet.sheet).to_python(skip_empty_area=False)
        rows = [(TOTAL, TOTAL_ROW)] + [(r.code, layout.row_index[r.code]) for r in sheet.rows]
        for code, r in rows:
            ours = result.data.totals[sheet.form] if code == TOTAL else result.data.rows[sheet.form][code]
            for col in sheet.columns:
                if code != TOTAL and col.role != "derived":
                    continue
                shown, value = grid[r - 1][layout.col_index[col.key] - 1], ours[col.key]
                if isinstance(value, str):
                    assert shown == value, (sheet.sheet, code, col.key)
                else:
                    assert shown == pytest.approx(value, rel=1e-12, abs=1e-12), (sheet.sheet, code, col.key)
                compared += 1
            if code != TOTAL:
                assert grid[r - 1][layout.check_col - 1] == "", (sheet.sheet, code)
    assert compared > 100


def test_findings_survive_a_libreoffice_save(saved):
    before = {f.cell: f.rule for f in saved.spoiled_result.findings}
    assert before[saved.cells["formula_input"]] == "公式无结果"
    again = read_workbook(saved.saved["spoiled"])
    # LibreOffice saved the typed formula's result, so that cell now reads; everything else stays
    assert sorted((f.rule, f.cell) for f in again.findings) == sorted(
        (rule, cell) for cell, rule in before.items() if cell != saved.cells["formula_input"]
    )
    code = rb.spec_of(rb.TOWNSHIP).sheet(PP).rows[3].code
    assert again.data.rows[PP][code]["new_people"] == 120
    rules = {f.cell: f.rule for f in again.findings}
    assert rules[saved.cells["text"]] == "全角数字"
    assert rules[saved.cells["over_formula"]] == "公式被删"
    assert rules[saved.cells["prefill"]] == "预填被改"


def test_annotated_copy_opens_in_libreoffice_with_its_comments(saved):
    path = saved.saved["annotated"]
    book = openpyxl.load_workbook(path)
    assert ISSUES_SHEET in book.sheetnames
    ws = book["01脱贫进展"]
    for f in saved.spoiled_result.findings:
        if f.sheet == "01脱贫进展":
            comment = ws[f.cell].comment
            assert comment is not None and f.message in comment.text, f.cell
    listed = [r for r in book[ISSUES_SHEET].iter_rows(min_row=3, values_only=True) if r[0] is not None]
    assert len(listed) == len(saved.spoiled_result.findings)
    # and hbreport still reads it, finding the same problems (but the typed formula now has its result)
    again = read_workbook(path)
    assert sorted((f.rule, f.cell) for f in again.findings) == sorted(
        (f.rule, f.cell) for f in saved.spoiled_result.findings if f.rule != "公式无结果"
    )

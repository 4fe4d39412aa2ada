"""A clerk's explanation of a 警告 (the row's 说明 cell) and signature travel with the data: the reader
gives them back, and one level up the warning shows as 已说明 with the clerk's words."""

from __future__ import annotations

import openpyxl
import pytest
from consolidation_inputs import write_filled

from hbreport.cli import run
from hbreport.consolidation.consolidate import consolidate
from hbreport.xlsx.layout import CHECK_SHEET, DETAIL_SHEET, SheetLayout
from hbreport.xlsx.reader import read_workbook

COUNTY, PERIOD = "420702", 2017  # 梁子湖区
WHY = "本村2017年遭受特大洪灾，脱贫计划顺延一年，已经乡镇核实"


def _explained_township(folder, registry, catalog, baseline):
    """The county's townships filled; in the first, a village far behind the plan (警告 PP06) with the
    clerk's explanation in its 说明 cell and the clerk's name on the signature line."""
    townships = registry.children(COUNTY)
    paths = [
        write_filled(t.code, PERIOD, folder, registry=registry, catalog=catalog, baseline=baseline)[0]
        for t in townships
    ]
    path, spec = paths[0], read_workbook(paths[0]).spec
    sheet = spec.sheet("poverty_progress")
    layout = SheetLayout(sheet)
    village = next(r for r in sheet.rows)
    row = layout.row_index[village.code]
    wb = openpyxl.load_workbook(path)
    ws = wb[sheet.sheet]
    for key in ("prior_exited_people", "exited_people", "exited_households", "returned_people"):
        ws[layout.cell(village.code, key)] = 0
    ws.cell(row, layout.note_col, WHY)
    for c in range(1, layout.last_col + 1):
        if str(ws.cell(layout.footer_row, c).value or "").startswith("填表人"):
            ws.cell(layout.footer_row, c, "填表人：王小兰")
    wb.save(path)
    return path, village, row


def test_the_reader_gives_back_the_explanation_and_the_signature(tmp_path, registry, catalog, baseline):
    path, village, row = _explained_township(tmp_path, registry, catalog, baseline)
    result = read_workbook(path)
    assert result.notes["poverty_progress"] == {village.code: WHY}
    assert result.signature == {"填表人": "王小兰"}
    pp06 = [f for f in result.findings if f.rule == "PP06"]
    assert len(pp06) == 1 and pp06[0].cell.endswith(str(row))
    assert pp06[0].explained and pp06[0].explanation == WHY and pp06[0].importance_zh == "警告（已说明）"


def test_check_says_the_warning_is_explained(tmp_path, registry, catalog, baseline, capsys):
    path, _, _ = _explained_township(tmp_path, registry, catalog, baseline)
    capsys.readouterr()
    run(["check", str(path)])
    out = capsys.readouterr().out
    assert f"已说明：{WHY}" in out


@pytest.mark.slow
def test_one_level_up_the_warning_is_explained_not_open(tmp_path, registry, catalog, baseline):
    inbox = tmp_path / "inbox"
    path, village, _ = _explained_township(inbox, registry, catalog, baseline)
    out = tmp_path / "county.xlsx"
    consolidate(inbox, COUNTY, PERIOD, out, registry=registry, catalog=catalog, baseline=baseline)
    wb = openpyxl.load_workbook(out)
    check = [[c for c in row] for row in wb[CHECK_SHEET].iter_rows(values_only=True)]
    heading = next(r for r in check if r and r[0] == "序号")
    rows = [dict(zip(heading, r, strict=False)) for r in check[check.index(heading) + 1 :] if r and r[0]]
    # a form's rule is shown to people as 表内审核; PP06 is the one warning this township has
    pp06 = [r for r in rows if r["规则"] == "表内审核" and r["重要性"].startswith("警告")]
    assert len(pp06) == 1
    assert pp06[0]["重要性"] == "警告（已说明）" and pp06[0]["填报单位的说明"] == WHY
    assert next(r[1] for r in check if r and r[0] == "已说明的警告") == 1
    detail = list(wb[DETAIL_SHEET].iter_rows(values_only=True))
    head = next(r for r in detail if r and r[0] == "单位代码")
    first = next(dict(zip(head, r, strict=False)) for r in detail if r and str(r[0]) == path.name[:9])
    assert "1 个警告已说明" in first["说明"]
    assert first["警告数"] == 0  # the explained warning is not an open one


def test_forms_issued_without_the_column_read_as_before(tmp_path, registry, catalog, baseline):
    path = write_filled(
        registry.children(COUNTY)[0].code,
        PERIOD,
        tmp_path,
        registry=registry,
        catalog=catalog,
        baseline=baseline,
    )[0]
    spec = read_workbook(path).spec
    wb = openpyxl.load_workbook(path)
    for sheet in spec.sheets:  # as a form made before the 说明 column
        wb[sheet.sheet].delete_cols(SheetLayout(sheet).note_col)
    old = tmp_path / "old.xlsx"
    wb.save(old)
    result = read_workbook(old)
    assert result.notes == {} and not [f for f in result.findings if f.importance == "error"]

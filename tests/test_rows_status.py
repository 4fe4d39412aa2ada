"""Consolidated workbooks say each child's status in its row (未报 / 退回 / 空表, numbers of progress
blank, no 超前/正常/滞后), 已报 X/Y on the 合计 row; a poor county's 摘帽 is assessed on its own
consolidated data and changes when that data changes."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import openpyxl
import pytest
from consolidation_inputs import write_filled
from openpyxl.utils import get_column_letter

from hbreport.baseline import load_baseline
from hbreport.catalog import load_catalog
from hbreport.consolidation.consolidate import consolidate
from hbreport.consolidation.county_exit import SHEET as EXIT_SHEET
from hbreport.forms import generate_forms
from hbreport.registry import load_registry
from hbreport.spec import build_workbook_spec
from hbreport.xlsx.layout import TOTAL_ROW, SheetLayout
from hbreport.xlsx.reader import read_workbook

COUNTY, PERIOD = "421122", 2017
PP = "poverty_progress"
#: 01 form's columns derived from the typed figures: 累计脱贫人口, 年末剩余贫困人口, 累计脱贫率, 进度状态
#: (规划进度 comes from the baseline and the task: the plan, shown on every row)
DERIVED = ("cum_exited_people", "remaining_people", "cum_exit_rate", "progress_status")


@pytest.fixture(scope="module")
def kw():
    return {"registry": load_registry(), "catalog": load_catalog(), "baseline": load_baseline()}


@pytest.fixture(scope="module")
def county(tmp_path_factory, kw):
    """Red An's townships: the first not sent, the second blank, the third with an error, the rest filled."""
    root = tmp_path_factory.mktemp("rows")
    inbox = root / "inbox"
    inbox.mkdir()
    towns = kw["registry"].children(COUNTY)
    generate_forms("township", PERIOD, under=towns[1].code, out_dir=inbox, **kw)  # sent blank
    for town in towns[2:]:
        path, spec, values = write_filled(town.code, PERIOD, inbox, **kw)
    bad = towns[2]
    spec = build_workbook_spec(bad.code, PERIOD, **kw)
    wb = openpyxl.load_workbook(inbox / spec.file_name())
    sheet = spec.sheet(PP)
    row = sheet.rows[0].code
    ws = wb[sheet.sheet]
    layout = SheetLayout(sheet)
    ws[layout.cell(row, "exited_households")] = 10**6  # PP02: more households than people
    wb.save(inbox / spec.file_name())
    write_filled(COUNTY, PERIOD, inbox, only=("infrastructure",), name=f"本级_{COUNTY}.xlsx", **kw)
    summary = consolidate(inbox, COUNTY, PERIOD, root / "county.xlsx", workers=1, **kw)
    return {"root": root, "inbox": inbox, "summary": summary, "towns": towns}


@pytest.mark.slow
def test_each_row_says_its_status_and_the_total_says_reported_of_expected(county, kw):
    summary, towns = county["summary"], county["towns"]
    status = {c.code: c.status for c in summary.children}
    assert status[towns[0].code] == "未报" and status[towns[1].code] == "空表"
    assert status[towns[2].code] == "退回"
    spec = build_workbook_spec(COUNTY, PERIOD, **kw)
    sheet = spec.sheet(PP)
    layout = SheetLayout(sheet)
    ws = openpyxl.load_workbook(summary.output, data_only=True)[sheet.sheet]
    col = layout.status_col
    assert not ws.column_dimensions[get_column_letter(col)].hidden  # seen, not under the severity column
    heading_row = next(r for r in range(1, TOTAL_ROW) if ws.cell(r, col).value == "填报状态")
    assert heading_row < TOTAL_ROW
    for town, word in ((towns[0], "未报"), (towns[1], "空表"), (towns[2], "退回"), (towns[3], "已报")):
        r = layout.row_index[town.code]
        assert ws.cell(r, col).value == word
        if word != "已报":  # no figures (typed or derived from blanks), no verdict: its data are not in
            for key in ("exited_people", *DERIVED):
                assert ws.cell(r, layout.col_index[key]).value in (None, ""), (town.name, key)
            assert ws.cell(r, layout.check_col).value in (None, "")
            assert ws.cell(r, layout.col_index["base_people"]).value > 0  # the baseline stays, as baseline
            assert ws.cell(r, layout.col_index["expected_rate"]).value > 0  # and the plan
        else:
            assert ws.cell(r, layout.col_index["progress_status"]).value in ("超前", "正常", "滞后")
    assert ws.cell(TOTAL_ROW, col).value == f"已报 {len(towns) - 3}/{len(towns)}"
    # no formula behind those cells: a spreadsheet program recalculating them gives blanks too
    formulas = openpyxl.load_workbook(summary.output)[sheet.sheet]
    for town in towns[:3]:
        r = layout.row_index[town.code]
        for key in DERIVED:
            assert formulas.cell(r, layout.col_index[key]).value is None, (town.name, key)
    r = layout.row_index[towns[3].code]
    assert str(formulas.cell(r, layout.col_index["cum_exited_people"]).value).startswith("=")
    # the Summary's data say the same: nothing derived from blanks
    data = summary.data.rows[PP][towns[0].code]
    assert all(data[key] is None for key in DERIVED) and data["base_people"] > 0
    # 空表 is not reported data: not in the 汇总率
    assert summary.completeness["received"] == len(towns) - 3


@pytest.mark.libreoffice
def test_status_rows_stay_blank_when_libreoffice_recalculates(county, kw, tmp_path):
    if shutil.which("soffice") is None and shutil.which("libreoffice") is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    from hbreport.office import recalculate

    summary, towns = county["summary"], county["towns"]
    again = recalculate(Path(summary.output), tmp_path / "lo")
    sheet = build_workbook_spec(COUNTY, PERIOD, **kw).sheet(PP)
    layout = SheetLayout(sheet)
    ws = openpyxl.load_workbook(again, data_only=True)[sheet.sheet]
    for town in towns[:3]:
        r = layout.row_index[town.code]
        for key in DERIVED:  # 累计脱贫人口 not 0, 年末剩余贫困人口 not the baseline: blank
            assert ws.cell(r, layout.col_index[key]).value in (None, ""), (town.name, key)
        assert ws.cell(r, layout.check_col).value in (None, "")
    r = layout.row_index[towns[3].code]
    assert ws.cell(r, layout.col_index["progress_status"]).value in ("超前", "正常", "滞后")
    assert ws.cell(r, layout.col_index["cum_exited_people"]).value > 0
    assert ws.cell(TOTAL_ROW, layout.status_col).value == f"已报 {len(towns) - 3}/{len(towns)}"

    # the recalculated county workbook read back: no 公式被删 / 公式被改 and no rule verdict on the
    # rows of the townships not 已报 (their status comes from the workbook's _summary part)
    read = read_workbook(again, **kw)
    absent_rows = {str(layout.row_index[t.code]) for t in towns[:3]}
    on_absent = [f for f in read.findings if f.sheet == sheet.sheet and (f.cell or "")[1:] in absent_rows]
    assert not on_absent, [f.message for f in on_absent]
    assert not [f for f in read.findings if f.rule in ("公式被删", "公式被改")]
    assert read.data.rows[PP][towns[0].code]["cum_exited_people"] is None

    # one level up: the prefecture consolidates the recalculated county workbook; the county is 已报,
    # its townships count 11 of 14 (the three not 已报 are not counted as reporting 0)
    up = tmp_path / "up"
    up.mkdir()
    shutil.copy(again, up / again.name)
    prefecture = kw["registry"].reporting_parent(COUNTY).code
    result = consolidate(up, prefecture, PERIOD, tmp_path / "prefecture.xlsx", workers=1, **kw)
    status = {c.code: c.status for c in result.children}
    assert status[kw["registry"].get(COUNTY).code] == "已报"
    levels = {lv: (n, got) for lv, n, got in result.levels}
    assert levels["county"][1] == 1
    assert levels["township"][1] == len(towns) - 3
    assert not [f for f in result.findings if f.rule in ("公式被删", "公式被改")]
    ws = openpyxl.load_workbook(result.output, data_only=True)[sheet.sheet]
    pl = SheetLayout(build_workbook_spec(prefecture, PERIOD, **kw).sheet(PP))
    r = pl.row_index[kw["registry"].get(COUNTY).code]
    county_total = read.data.totals[PP]
    assert ws.cell(r, pl.col_index["exited_people"]).value == county_total["exited_people"]
    assert ws.cell(r, pl.status_col).value == "已报"
    for code, word in status.items():  # the prefecture's other counties sent nothing: blank rows
        if word != "已报":
            assert ws.cell(pl.row_index[code], pl.col_index["cum_exited_people"]).value in (None, "")


def test_a_deleted_formula_in_a_reported_row_is_still_found(county, kw, tmp_path):
    """The rows of children not 已报 are exempt from the formula check; the others are not."""
    summary, towns = county["summary"], county["towns"]
    sheet = build_workbook_spec(COUNTY, PERIOD, **kw).sheet(PP)
    layout = SheetLayout(sheet)
    wb = openpyxl.load_workbook(summary.output)
    cell = f"{layout.col_letter('cum_exited_people')}{layout.row_index[towns[3].code]}"
    wb[sheet.sheet][cell] = 0
    changed = tmp_path / Path(summary.output).name
    wb.save(changed)
    found = [f for f in read_workbook(changed, **kw).findings if f.rule == "公式被删"]
    assert [f.cell for f in found] == [cell]


def exit_status(path) -> str:
    ws = openpyxl.load_workbook(path, data_only=True)[EXIT_SHEET]
    return next(row[1].value for row in ws.iter_rows() if row[0].value == "评估结果")


@pytest.mark.slow
def test_county_exit_status_changes_with_its_consolidated_data(county, kw):
    """With townships missing the county is not assessed (未报); with all of them in, it is assessed on
    the figures (the sample's 贫困发生率 is far above the standard: 未达到)."""
    assert exit_status(county["summary"].output) == "未报"
    root, inbox, towns = county["root"], county["inbox"], county["towns"]
    full = root / "full"
    shutil.copytree(inbox, full)
    for town in towns[:3]:
        for old in full.glob(f"{town.code[:9]}_*.xlsx"):
            old.unlink()
        write_filled(town.code, PERIOD, full, **kw)  # the missing, blank and returned ones report properly
    summary = consolidate(full, COUNTY, PERIOD, root / "county_full.xlsx", workers=1, **kw)
    assert not summary.missing and not summary.returned
    assert exit_status(summary.output) == "未达到"
    ws = openpyxl.load_workbook(summary.output, data_only=True)[EXIT_SHEET]
    rows = {row[0].value: [c.value for c in row] for row in ws.iter_rows()}
    assert rows["贫困发生率"][5] == "未达到" and rows["贫困发生率"][4] == 2
    assert rows["计划摘帽年份"][1] == "2017年"  # the schedule, shown beside the result


def _typed_into_absent_rows(county, kw, folder: Path) -> Path:
    """A copy of the county's workbook (in ``folder``) with figures typed, as openpyxl ignores the sheet
    protection, into the rows of the township not sent (未报) and of the one returned (退回)."""
    towns = county["towns"]
    sheet = build_workbook_spec(COUNTY, PERIOD, **kw).sheet(PP)
    layout = SheetLayout(sheet)
    wb = openpyxl.load_workbook(county["summary"].output)
    ws = wb[sheet.sheet]
    typed = {
        layout.cell(towns[0].code, "exited_people"): 9999,
        layout.cell(towns[0].code, "exited_households"): "约3000",
        layout.cell(towns[2].code, "cum_exited_people"): 500,  # a computed cell, left blank for 退回
    }
    for cell, value in typed.items():
        assert ws[cell].value is None
        ws[cell] = value
    folder.mkdir()
    changed = folder / Path(county["summary"].output).name
    wb.save(changed)
    return changed


def test_figures_typed_into_rows_not_reported_are_said_and_counted_nowhere(county, kw, tmp_path):
    """A figure typed into the row of a township the county's _summary says is 未报 (or 退回) is a
    warning naming file, sheet, cell and township, and is read as nothing: the county's totals, and the
    prefecture's figures for the county, are those of the workbook as consolidated."""
    from hbreport.checks.consolidation import ABSENT_FILLED

    summary, towns = county["summary"], county["towns"]
    sheet = build_workbook_spec(COUNTY, PERIOD, **kw).sheet(PP)
    layout = SheetLayout(sheet)
    missing, returned = towns[0], towns[2]
    changed = _typed_into_absent_rows(county, kw, tmp_path / "typed")
    (tmp_path / "plain").mkdir()
    shutil.copy(summary.output, tmp_path / "plain" / changed.name)

    before, after = read_workbook(summary.output, **kw), read_workbook(changed, **kw)
    said = [f for f in after.findings if f.rule == ABSENT_FILLED]
    assert not [f for f in before.findings if f.rule == ABSENT_FILLED]
    keys = sorted(("exited_people", "exited_households"), key=layout.col_index.__getitem__)
    cells = [layout.cell(missing.code, key) for key in keys]  # in the order of the columns
    assert [(f.sheet, f.cell, f.importance, f.file) for f in said] == [
        (sheet.sheet, cells[0], "warning", str(changed)),
        (sheet.sheet, layout.cell(returned.code, "cum_exited_people"), "warning", str(changed)),
    ]
    assert f"「{missing.name}」" in said[0].message and "“未报”" in said[0].message
    assert f"{cells[0]}、{cells[1]}" in said[0].message and "9999" in said[0].message
    assert f"「{returned.name}」" in said[1].message and "“退回”" in said[1].message
    assert "清除" in said[0].hint and "自己的报表" in said[0].hint
    # read as nothing: no other finding on those cells (not 文本 in a number cell), totals unchanged
    assert sorted((f.rule, f.cell) for f in after.findings if f.rule != ABSENT_FILLED) == sorted(
        (f.rule, f.cell) for f in before.findings
    )
    assert after.data.rows[PP][missing.code]["exited_people"] is None
    assert after.data.rows[PP][missing.code]["exited_households"] is None
    assert after.data.totals == before.data.totals and after.data.rows == before.data.rows
    assert [(c.code, c.status) for c in after.summary.children] == [
        (c.code, c.status) for c in before.summary.children
    ]

    # one level up: the prefecture's figures for the county are the same as from the untouched file
    prefecture = kw["registry"].reporting_parent(COUNTY).code
    runs = {
        name: consolidate(tmp_path / name, prefecture, PERIOD, tmp_path / f"{name}.xlsx", workers=1, **kw)
        for name in ("plain", "typed")
    }
    plain_run, typed_run = runs["plain"], runs["typed"]
    assert typed_run.data.rows == plain_run.data.rows and typed_run.data.totals == plain_run.data.totals
    assert typed_run.levels == plain_run.levels  # the township not reported is still not reported
    up = [f for f in typed_run.findings if f.rule == ABSENT_FILLED]
    assert [(f.file, f.sheet, f.cell) for f in up] == [(f.file, f.sheet, f.cell) for f in said]
    assert not [f for f in plain_run.findings if f.rule == ABSENT_FILLED]
    status = {c.code: c.status for c in typed_run.children}
    assert status[kw["registry"].get(COUNTY).code] == "已报"  # a warning: the county's data are in
    pl = SheetLayout(build_workbook_spec(prefecture, PERIOD, **kw).sheet(PP))
    row = pl.row_index[kw["registry"].get(COUNTY).code]
    shown = openpyxl.load_workbook(typed_run.output)[sheet.sheet]
    assert shown.cell(row, pl.col_index["exited_people"]).value == before.data.totals[PP]["exited_people"]


@pytest.mark.libreoffice
def test_figures_typed_into_rows_not_reported_after_libreoffice_recalculates(county, kw, tmp_path):
    """Recalculated by LibreOffice, the county's own 合计 cell adds the typed figure (why it must be
    cleared); read back, the figure is the same warning and still counted nowhere."""
    from hbreport.checks.consolidation import ABSENT_FILLED
    from hbreport.office import recalculate

    changed = _typed_into_absent_rows(county, kw, tmp_path / "typed")
    again = recalculate(changed, tmp_path / "lo")
    sheet = build_workbook_spec(COUNTY, PERIOD, **kw).sheet(PP)
    layout = SheetLayout(sheet)
    before = read_workbook(county["summary"].output, **kw)
    shown = openpyxl.load_workbook(again, data_only=True)[sheet.sheet]
    total = shown.cell(TOTAL_ROW, layout.col_index["exited_people"]).value
    assert total == before.data.totals[PP]["exited_people"] + 9999
    after = read_workbook(again, **kw)
    assert after.data.totals == before.data.totals
    cell = layout.cell(county["towns"][0].code, "exited_people")
    said = [f for f in after.findings if f.rule == ABSENT_FILLED]
    assert len(said) == 2 and f"{cell}" in said[0].message and "9999" in said[0].message


def _report_lines(path: Path) -> list[str]:
    """A report's paragraphs and table rows (cells joined by |, a leading row number dropped)."""
    import docx

    document = docx.Document(str(path))
    lines = [p.text for p in document.paragraphs if p.text.strip()]
    for table in document.tables:
        for row in table.rows:
            lines.append(re.sub(r"^\d+\|", "", "|".join(cell.text for cell in row.cells)))
    return lines


@pytest.mark.slow
def test_the_report_of_a_workbook_typed_into_says_it_and_nothing_else_changes(county, kw, tmp_path):
    """The county's report from the workbook typed into: the same figures and sentences, two more open
    warning, and the two findings listed in the data quality table."""
    from hbreport.report import report_from_workbook

    changed = _typed_into_absent_rows(county, kw, tmp_path / "typed")
    plain = _report_lines(report_from_workbook(county["summary"].output, tmp_path / "plain.docx", **kw))
    typed = _report_lines(report_from_workbook(changed, tmp_path / "typed.docx", **kw))
    added = [line for line in typed if line not in plain]
    gone = [line for line in plain if line not in typed]
    towns = county["towns"]
    said = [line for line in added if "行在本汇总表中为" in line]
    assert len(said) == 2 and f"「{towns[0].name}」" in said[0] and f"「{towns[2].name}」" in said[1]
    assert "9999" in said[0] and all("|警告|" in line for line in said)
    # the one sentence that counts the findings: two more open warnings; every other line as it was,
    # but for findings pushed out of the first ones the table lists
    (before,) = [x for x in gone if "未说明的警告" in x]
    (after,) = [x for x in added if x not in said]
    count = re.compile(r"未说明的警告(\d+)条")
    assert int(count.search(after).group(1)) == int(count.search(before).group(1)) + 2
    assert re.sub(r"\d+", "#", after) == re.sub(r"\d+", "#", before)
    assert all("|警告|" in x for x in gone if x != before)

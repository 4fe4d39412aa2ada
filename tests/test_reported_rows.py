"""A consolidated workbook records the figures of its 已报 children's rows; a figure typed over such a
row afterwards is a warning (已报行被改) naming the cell, the child, what the consolidation had and what
is there now, and the row is read as consolidated, up to the next level. A workbook re-saved by
LibreOffice (numbers written with 15 significant digits) reads clean; one without the record (older
files) reads as before."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import openpyxl
import pytest
from consolidation_inputs import write_filled

from hbreport.baseline import load_baseline
from hbreport.catalog import load_catalog
from hbreport.checks.consolidation import REPORTED_CHANGED
from hbreport.consolidation.consolidate import consolidate
from hbreport.model.figures import rows_of
from hbreport.model.summary import Summary
from hbreport.registry import load_registry
from hbreport.spec import build_workbook_spec
from hbreport.xlsx.layout import SUMMARY_SHEET, TOTAL_ROW, SheetLayout
from hbreport.xlsx.reader import read_workbook
from hbreport.xlsx.writer import write_workbook

COUNTY, PERIOD = "421122", 2017
PP, KP = "poverty_progress", "key_projects"
#: added to a village's figure, it gives the township's total 17 significant digits (LibreOffice
#: re-saves such a number with 15)
LONG = 0.01234567890123456


@pytest.fixture(scope="module")
def kw():
    return {"registry": load_registry(), "catalog": load_catalog(), "baseline": load_baseline()}


@pytest.fixture(scope="module")
def county(tmp_path_factory, kw):
    """Red An consolidated from its townships but the first (not sent); the second's 03 form carries a
    relocation area of 17 significant digits."""
    root = tmp_path_factory.mktemp("reported")
    inbox = root / "inbox"
    inbox.mkdir()
    towns = kw["registry"].children(COUNTY)
    for town in towns[1:]:
        path, spec, values = write_filled(town.code, PERIOD, inbox, **kw)
        if town is towns[1]:
            village = spec.sheet(KP).rows[0].code
            values[KP][village]["reloc_area"] += LONG
            write_workbook(spec, path, values=values, force=True)
    summary = consolidate(inbox, COUNTY, PERIOD, root / "county.xlsx", workers=1, **kw)
    assert len(summary.received) == len(towns) - 1
    return {"root": root, "summary": summary, "towns": towns, "output": Path(summary.output)}


def _edit(county, kw, folder: Path, source: Path | None = None) -> tuple[Path, dict[str, object]]:
    """A copy of the county's workbook (in ``folder``) edited with openpyxl (which ignores the sheet
    protection): a 已报 township's figure raised by 1,000, another's overwritten with text, a third's
    cleared. The edited cells → the values the consolidation wrote there."""
    towns = county["towns"]
    sheet = build_workbook_spec(COUNTY, PERIOD, **kw).sheet(PP)
    layout = SheetLayout(sheet)
    wb = openpyxl.load_workbook(source or county["output"])
    ws = wb[sheet.sheet]
    raised, texted, cleared = (
        layout.cell(towns[3].code, "exited_people"),
        layout.cell(towns[4].code, "exited_households"),
        layout.cell(towns[5].code, "prior_exited_people"),
    )
    was = {cell: ws[cell].value for cell in (raised, texted, cleared)}
    assert all(isinstance(v, int) and v > 0 for v in was.values())
    ws[raised] = ws[raised].value + 1000
    ws[texted] = "约3000"
    ws[cleared] = None
    folder.mkdir()
    edited = folder / county["output"].name
    wb.save(edited)
    return edited, was


def test_the_record_is_the_reported_rows_as_written(county, kw):
    """The Summary part holds each 已报 township's row (not the one not sent) with the values the
    reader reads from the untouched workbook, which reads without the finding."""
    summary, towns = county["summary"], county["towns"]
    again = Summary.from_part(summary.to_part())
    assert again.figures == summary.figures
    recorded = rows_of(again.figures, PP)
    assert set(recorded) == {c.code for c in summary.received} == {t.code for t in towns[1:]}
    read = read_workbook(county["output"], **kw)
    assert read.summary.figures == summary.figures
    assert not [f for f in read.findings if f.rule == REPORTED_CHANGED]
    for form in (PP, KP):
        for code, row in rows_of(read.summary.figures, form).items():
            assert {k: read.data.rows[form][code][k] for k in row} == row, (form, code)
    assert len(str(rows_of(again.figures, KP)[towns[1].code]["reloc_area"]).replace(".", "")) > 15


def test_an_edited_reported_row_is_said_and_read_as_consolidated_up_to_the_prefecture(county, kw, tmp_path):
    towns = county["towns"]
    sheet = build_workbook_spec(COUNTY, PERIOD, **kw).sheet(PP)
    edited, was = _edit(county, kw, tmp_path / "edited")
    before, after = read_workbook(county["output"], **kw), read_workbook(edited, **kw)
    said = [f for f in after.findings if f.rule == REPORTED_CHANGED]
    raised, texted, cleared = was
    assert [(f.sheet, f.cell, f.importance, f.file) for f in said] == [
        (sheet.sheet, cell, "warning", str(edited)) for cell in (raised, texted, cleared)
    ]
    for f, town in zip(said, towns[3:6], strict=True):
        assert f"「{town.name}」" in f.message
    assert f"{raised}「本年脱贫人口」汇总时为“{was[raised]}”，现为“{was[raised] + 1000}”" in said[0].message
    assert f"{texted}「本年脱贫户数」汇总时为“{was[texted]}”，现为“约3000”" in said[1].message
    assert f"{cleared}「上年末累计脱贫人口」汇总时为“{was[cleared]}”，现为空白" in said[2].message
    assert "重新汇总" in said[0].hint and "自己的报表" in said[0].hint
    # read as consolidated: the rows, the totals, every other finding as from the untouched workbook
    # (the text in a number cell is not read, so not a finding of its own)
    assert after.data.rows == before.data.rows and after.data.totals == before.data.totals
    assert sorted((f.rule, f.cell) for f in after.findings if f.rule != REPORTED_CHANGED) == sorted(
        (f.rule, f.cell) for f in before.findings
    )

    # one level up: the county is 已报 (a warning), its row the figures its townships reported
    prefecture = kw["registry"].reporting_parent(COUNTY).code
    (tmp_path / "plain").mkdir()
    shutil.copy(county["output"], tmp_path / "plain" / edited.name)
    runs = {
        name: consolidate(tmp_path / name, prefecture, PERIOD, tmp_path / f"{name}.xlsx", workers=1, **kw)
        for name in ("plain", "edited")
    }
    plain_run, edited_run = runs["plain"], runs["edited"]
    code = kw["registry"].get(COUNTY).code
    assert {c.code: c.status for c in edited_run.children}[code] == "已报"
    assert edited_run.data.rows == plain_run.data.rows and edited_run.data.totals == plain_run.data.totals
    up = [f for f in edited_run.findings if f.rule == REPORTED_CHANGED]
    assert [(f.file, f.sheet, f.cell) for f in up] == [(f.file, f.sheet, f.cell) for f in said]
    assert not [f for f in plain_run.findings if f.rule == REPORTED_CHANGED]
    pl = SheetLayout(build_workbook_spec(prefecture, PERIOD, **kw).sheet(PP))
    ws = openpyxl.load_workbook(edited_run.output)[sheet.sheet]
    row = pl.row_index[code]
    assert ws.cell(row, pl.col_index["exited_people"]).value == before.data.totals[PP]["exited_people"]
    # the prefecture's own record holds the county's row as consolidated
    assert rows_of(edited_run.figures, PP)[code]["exited_people"] == before.data.totals[PP]["exited_people"]


def test_a_typed_over_total_is_still_a_deleted_formula(county, kw, tmp_path):
    """The county's own 合计 is a formula: typed over, it is 公式被删 (an error), and the total read is
    the rows' sum, not the figure typed."""
    sheet = build_workbook_spec(COUNTY, PERIOD, **kw).sheet(PP)
    layout = SheetLayout(sheet)
    wb = openpyxl.load_workbook(county["output"])
    cell = f"{layout.col_letter('exited_people')}{TOTAL_ROW}"
    wb[sheet.sheet][cell] = 1
    wb.save(tmp_path / "total.xlsx")
    before, after = read_workbook(county["output"], **kw), read_workbook(tmp_path / "total.xlsx", **kw)
    assert [(f.cell, f.importance) for f in after.findings if f.rule == "公式被删"] == [(cell, "error")]
    assert after.data.totals == before.data.totals


def _without_record(source: Path, target: Path) -> Path:
    """``source`` as an older version wrote it: its Summary part without the figures."""
    wb = openpyxl.load_workbook(source)
    ws = wb[SUMMARY_SHEET]
    pieces = [row[0] for row in ws.iter_rows(values_only=True) if row and isinstance(row[0], str)]
    part = json.loads("".join(pieces))
    del part["figures"]
    text = json.dumps(part, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    ws.delete_rows(1, ws.max_row)
    for i in range(0, len(text), 30000):
        ws.cell(i // 30000 + 1, 1, text[i : i + 30000])
    wb.save(target)
    return target


def test_a_workbook_without_the_record_reads_as_before(county, kw, tmp_path):
    """No record, no comparison: the edited figure is read as it stands, with no finding."""
    towns = county["towns"]
    older = _without_record(county["output"], tmp_path / "older.xlsx")
    plain = read_workbook(older, **kw)
    assert plain.summary is not None and plain.summary.figures == {}
    assert len(plain.summary.received) == len(towns) - 1
    assert plain.data.rows == read_workbook(county["output"], **kw).data.rows
    edited, was = _edit(county, kw, tmp_path / "edited", source=older)
    read = read_workbook(edited, **kw)
    assert not [f for f in read.findings if f.rule == REPORTED_CHANGED]
    raised = next(iter(was))
    assert read.data.rows[PP][towns[3].code]["exited_people"] == was[raised] + 1000
    assert [f.cell for f in read.findings if f.rule == "文本"] == [list(was)[1]]


@pytest.mark.libreoffice
def test_libreoffice_round_trip_of_the_untouched_county_gives_no_finding(county, kw, tmp_path):
    """LibreOffice re-saves the figure of 17 significant digits with 15: the same figure, no finding,
    up to the prefecture; the edited workbook re-saved still gives its two findings."""
    if shutil.which("soffice") is None and shutil.which("libreoffice") is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    from hbreport.office import recalculate

    towns = county["towns"]
    (tmp_path / "up").mkdir()
    again = recalculate(county["output"], tmp_path / "up")
    read = read_workbook(again, **kw)
    assert not [f for f in read.findings if f.rule == REPORTED_CHANGED]
    recorded = rows_of(read.summary.figures, KP)[towns[1].code]["reloc_area"]
    got = read.data.rows[KP][towns[1].code]["reloc_area"]
    assert got != recorded and abs(got - recorded) < 1e-9  # written differently, the same figure
    prefecture = kw["registry"].reporting_parent(COUNTY).code
    code = kw["registry"].get(COUNTY).code
    run = consolidate(tmp_path / "up", prefecture, PERIOD, tmp_path / "prefecture.xlsx", workers=1, **kw)
    assert {c.code: c.status for c in run.children}[code] == "已报"
    assert not [f for f in run.findings if f.rule == REPORTED_CHANGED]

    edited, was = _edit(county, kw, tmp_path / "edited")
    resaved = read_workbook(recalculate(edited, tmp_path / "lo"), **kw)
    assert [f.cell for f in resaved.findings if f.rule == REPORTED_CHANGED] == list(was)


def test_a_record_that_is_not_figures_is_no_record():
    """A row of the record holding anything but plain values (or of the wrong length) is not compared."""
    figures = {PP: {"columns": ["a", "b"], "rows": {"1": [1, "x"], "2": [1, {"b": 2}], "3": [1]}}}
    assert rows_of(figures, PP) == {"1": {"a": 1, "b": "x"}}
    assert rows_of({PP: []}, PP) == {} and rows_of({}, PP) == {}

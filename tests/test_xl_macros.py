"""The pure parts of the one-click actions (校验本表, 汇总下级, 生成报告) on real generated workbooks.

The Excel side of each action only reads the calling workbook and shows what these return; it needs
Windows Excel and is not run here.
"""

from __future__ import annotations

import openpyxl
import pytest
from consolidation_inputs import write_filled
from readback import PERIOD, TOWNSHIP, fill, generate, sha256, spec_of, valid_inputs

from hbreport.baseline import load_baseline
from hbreport.catalog import load_catalog
from hbreport.checks.check import check_files
from hbreport.registry import load_registry
from hbreport.xl import macros
from hbreport.xlsx.annotate import ISSUES_SHEET
from hbreport.xlsx.layout import SheetLayout

COUNTY = "421122"


@pytest.fixture(scope="module")
def spoiled_book(tmp_path_factory):
    """A township workbook with a rule broken and text typed into a number cell."""
    folder = tmp_path_factory.mktemp("validate")
    spec = spec_of(TOWNSHIP)
    inputs = valid_inputs(spec)
    first = spec.sheet("poverty_progress").rows[0].code
    inputs["poverty_progress"][first]["exited_households"] = 10**6
    second = spec.sheet("key_projects").rows[1].code
    inputs["key_projects"][second]["yulu_students"] = "五人"
    path = fill(generate(TOWNSHIP, folder), folder / "梅塘镇_2017.xlsx", spec, inputs)
    return path, spec


def test_validate_file_reports_what_the_next_level_up_will_see(spoiled_book):
    path, spec = spoiled_book
    before = sha256(path)
    result = macros.validate_file(path)
    assert sha256(path) == before  # the clerk's workbook is only read
    findings, _ = check_files([path])
    assert [f.to_dict() for f in result.findings] == [f.to_dict() for f in findings]
    assert result.errors >= 2 and "错误" in result.summary()
    rules = {f.rule for f in result.findings}
    assert "PP02" in rules and "文本" in rules
    progress = SheetLayout(spec.sheet("poverty_progress"))
    cell = progress.cell(spec.sheet("poverty_progress").rows[0].code, "exited_households")
    assert (spec.sheet("poverty_progress").sheet, cell, "error") in result.marks
    annotated = openpyxl.load_workbook(result.annotated)
    assert result.annotated.name == "梅塘镇_2017_问题标注.xlsx"
    assert annotated.sheetnames[0] == ISSUES_SHEET


def test_findings_rows_list_errors_first_and_say_when_all_is_well(spoiled_book):
    path, _ = spoiled_book
    result = macros.validate_file(path, annotate=False)
    rows = macros.findings_rows(result.findings)
    assert rows[0] == list(macros.RESULT_HEADINGS)
    assert len(rows) == len(result.findings) + 1
    importance = [r[1] for r in rows[1:]]
    assert importance == sorted(importance, key=lambda v: v != "错误")
    assert macros.findings_rows([])[1][5] == "未发现问题"


def test_colours_recorded_on_the_results_sheet_are_restored(spoiled_book):
    path, _ = spoiled_book
    result = macros.validate_file(path, annotate=False)
    rows = macros.findings_rows(result.findings)
    rows[1][7], rows[2][7] = "#F2F2F2", macros.NO_FILL
    restored = macros.restore_colours(rows)
    assert restored == [(rows[1][3], rows[1][4], "#F2F2F2"), (rows[2][3], rows[2][4], None)]
    assert macros.restore_colours([["not", "ours"]]) == []


def test_workbook_identity_comes_from_the_meta_sheet(spoiled_book):
    path, spec = spoiled_book
    meta = openpyxl.load_workbook(path)["_meta"]
    rows = [list(r) for r in meta.iter_rows(values_only=True)]
    assert macros.workbook_identity(rows) == (spec.unit_code, PERIOD)


@pytest.mark.slow
def test_consolidate_then_report_from_this_levels_workbook(tmp_path):
    registry, catalog, baseline = load_registry(), load_catalog(), load_baseline()
    kw = {"registry": registry, "catalog": catalog, "baseline": baseline}
    children = tmp_path / "收到的报表"
    children.mkdir()
    for township in registry.children(COUNTY):
        write_filled(township.code, PERIOD, children, **kw)
    own, spec, _ = write_filled(COUNTY, PERIOD, tmp_path, only=("infrastructure",), **kw)
    before = {p.name: sha256(p) for p in children.iterdir()}
    summary = macros.consolidate_into(own, children, spec.unit_code, PERIOD, registry=registry)
    assert {p.name: sha256(p) for p in children.iterdir() if p.name in before} == before
    assert summary.output and summary.output == str(macros.consolidated_path(own))
    assert len(summary.received) == len(registry.children(COUNTY)) and not summary.rejected
    again = macros.consolidate_into(own, children, spec.unit_code, PERIOD, registry=registry)
    assert again.output == summary.output  # a second click replaces the earlier result
    with pytest.raises(Exception, match="本工作簿所在的文件夹"):
        macros.consolidate_into(children / "x.xlsx", children, spec.unit_code, PERIOD, registry=registry)
    report = macros.report_for(summary.output, registry=registry)
    assert report == macros.report_path(summary.output) and report.stat().st_size > 10_000


def test_the_vba_buttons_call_functions_that_exist():
    import re

    from hbreport import paths

    bas = (paths.ROOT / "macros" / "hbreport.bas").read_text(encoding="ascii")
    called = re.findall(r"m\.(\w+)\(", bas)
    assert sorted(called) == ["consolidate_children", "make_report", "validate_book"]
    assert all(callable(getattr(macros, name)) for name in called)
    assert "Application.CalculateFull" in bas
    workbook = (paths.ROOT / "macros" / "ThisWorkbook.cls").read_text(encoding="ascii")
    assert "Private Sub Workbook_Open()" in workbook and "HB_RecalculateAll" in workbook
    assert "Public Sub HB_RecalculateAll()" in bas


def as_xlsm(src, dst):
    """What Import Functions leaves behind: the workbook with a VBA project, saved as .xlsm."""
    import zipfile

    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "[Content_Types].xml":
                text = data.decode().replace(
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                    "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
                )
                data = text.replace(
                    "</Types>",
                    '<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/></Types>',
                ).encode()
            elif info.filename == "xl/_rels/workbook.xml.rels":
                data = (
                    data.decode()
                    .replace(
                        "</Relationships>",
                        '<Relationship Id="rIdVBA" Type="http://schemas.microsoft.com/office/2006/relationships/'
                        'vbaProject" Target="vbaProject.bin"/></Relationships>',
                    )
                    .encode()
                )
            zout.writestr(info, data)
        zout.writestr("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0 not a real VBA project")
    return dst


@pytest.mark.slow
def test_a_macro_enabled_workbook_is_checked_as_the_xlsx_it_will_be_sent_as(spoiled_book, tmp_path):
    from hbreport.errors import HBError
    from hbreport.xlsx import safety

    path, _ = spoiled_book
    xlsm = as_xlsm(path, tmp_path / "梅塘镇_2017.xlsm")
    with pytest.raises(HBError, match="含宏"):
        safety.inspect_workbook(xlsm)
    plain = macros.macro_free_copy(xlsm, tmp_path / "copy.xlsx")
    assert safety.inspect_workbook(plain).kind == "xlsx"
    result = macros.validate_file(xlsm)
    expected = macros.validate_file(path, annotate=False)
    assert [(f.rule, f.sheet, f.cell, f.message) for f in result.findings] == [
        (f.rule, f.sheet, f.cell, f.message) for f in expected.findings
    ]
    assert {f.file for f in result.findings} == {str(xlsm)}
    assert result.annotated == tmp_path / "梅塘镇_2017_问题标注.xlsx" and result.annotated.is_file()

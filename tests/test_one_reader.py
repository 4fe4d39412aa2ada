"""One reading of a cell for forms, rosters and the xlwings macros (hbreport.coerce): the same cell
content gives the same check, importance and message on every path.

Each case is typed with openpyxl into a real generated township form and a real roster, then read by the
form reader, the roster reader and the xlwings Lite 校验本表 (which gets the values as Excel hands them:
error values as their text)."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
import readback as rb
from household_cases import crafted
from test_xl_lite import _Book

from hbreport.catalog import load_catalog
from hbreport.checks import registered
from hbreport.checks.values import (
    ERROR_VALUE,
    FORMULA_ERROR,
    FULL_WIDTH,
    NUMBER_AS_TEXT,
    OUT_OF_RANGE,
    VALUE_CHECKS,
)
from hbreport.households import read_roster, write_roster
from hbreport.registry import load_registry
from hbreport.xl import core, lite_script
from hbreport.xlsx.layout import SheetLayout
from hbreport.xlsx.reader import read_workbook

PP = "poverty_progress"
FORM_FIELD = "exited_people"  # 本年脱贫人口: a count without a max of its own
ROSTER_FIELD = "sick_members"  # 患病成员: a count

# (what is typed, the check every path names); 1e12 is past what a count cell takes on every path
CASES = [
    (1e12, OUT_OF_RANGE),
    ("1e5", NUMBER_AS_TEXT),
    ("１２", FULL_WIDTH),
    ("#N/A", ERROR_VALUE),
    ("#REF!", ERROR_VALUE),
]


@pytest.fixture(scope="module")
def form(tmp_path_factory):
    folder = tmp_path_factory.mktemp("form")
    spec = rb.spec_of(rb.TOWNSHIP)
    filled = rb.fill(rb.generate(rb.TOWNSHIP, folder), folder / "filled.xlsx", spec, rb.valid_inputs(spec))
    row = spec.sheet(PP).rows[0].code
    return filled, spec.sheet(PP).sheet, SheetLayout(spec.sheet(PP)).cell(row, FORM_FIELD)


@pytest.fixture(scope="module")
def roster(tmp_path_factory):
    registry, catalog = load_registry(), load_catalog()
    spec, values = crafted(registry, catalog)
    folder = tmp_path_factory.mktemp("roster")
    path = write_roster(spec, folder / spec.file_name(), values=values)
    hid = spec.households[0].household_id
    return path, spec.sheets[0].sheet, SheetLayout(spec.sheets[0]).cell(hid, ROSTER_FIELD)


def _typed(path: Path, sheet: str, ref: str, value, out: Path) -> Path:
    book = openpyxl.load_workbook(path)
    book[sheet][ref] = value  # openpyxl stores "#N/A" as an error value, as pasting one does
    book.save(out)
    return out


def _tail(message: str) -> str:
    """A message without the row it names (the row is named differently on a form and a roster)."""
    return message.split("」", 2)[-1].split("的「", 1)[-1].split("」", 1)[-1]


@pytest.mark.parametrize(("typed", "code"), CASES, ids=[repr(c[0]) for c in CASES])
def test_the_same_cell_content_is_the_same_finding_on_forms_rosters_and_the_macros(
    form, roster, tmp_path, typed, code
):
    path, sheet, ref = form
    form_path = _typed(path, sheet, ref, typed, tmp_path / "form.xlsx")
    on_form = [f for f in read_workbook(form_path).findings if f.cell == ref and f.rule in VALUE_CHECKS]

    book = _Book(form_path)
    lite_script.validate_workbook(book)
    on_macro = [
        row for row in book.sheets[core.RESULTS_SHEET].written[1:] if row[4] == ref and row[3] == sheet
    ]

    r_path, r_sheet, r_ref = roster
    roster_path = _typed(r_path, r_sheet, r_ref, typed, tmp_path / "roster.xlsx")
    on_roster = [f for f in read_roster(roster_path).findings if f.cell == r_ref and f.rule in VALUE_CHECKS]

    assert [(f.rule, f.importance) for f in on_form] == [(code, registered(code).importance)]
    assert [(f.rule, f.importance) for f in on_roster] == [(code, registered(code).importance)]
    # the macro also reports the row's rules the value breaks; its value check is the reader's
    macro_values = [row for row in on_macro if row[2] == code]
    assert len(macro_values) == 1 and macro_values[0][1] == "错误"
    (finding,) = on_form
    assert macro_values[0][-1] == finding.message
    assert on_roster[0].hint == finding.hint
    if code != OUT_OF_RANGE:  # the allowed range is each field's own
        assert _tail(on_roster[0].message) == _tail(finding.message)
    assert "该值未被采用" in finding.message or code == OUT_OF_RANGE


def test_an_error_value_is_an_error_and_drops_out_of_the_totals_visibly(form, tmp_path):
    path, sheet, ref = form
    clean = read_workbook(path)
    spoiled = read_workbook(_typed(path, sheet, ref, "#N/A", tmp_path / "na.xlsx"))
    (finding,) = spoiled.findings
    assert finding.rule == ERROR_VALUE and finding.importance == "error" and finding.cell == ref
    assert "#N/A" in finding.message and "没有保存" not in finding.message
    row = next(iter(clean.data.rows[PP]))
    assert spoiled.data.rows[PP][row][FORM_FIELD] is None
    assert (
        spoiled.data.totals[PP][FORM_FIELD]
        == clean.data.totals[PP][FORM_FIELD] - (clean.data.rows[PP][row][FORM_FIELD])
    )


def test_a_formula_whose_result_is_an_error_says_so_not_that_no_result_was_saved(form, tmp_path):
    path, sheet, ref = form
    out = tmp_path / "formula.xlsx"
    _typed(path, sheet, ref, "=1/0", out)
    # what Excel saves: the formula and its cached result, an error value
    import zipfile

    with zipfile.ZipFile(out) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    for name, data in parts.items():
        if name.startswith("xl/worksheets/") and b"<f>1/0</f>" in data:
            parts[name] = data.replace(b"<f>1/0</f><v></v>", b"<f>1/0</f><v>#DIV/0!</v>").replace(
                f'<c r="{ref}"'.encode(), f'<c t="e" r="{ref}"'.encode()
            )
    with zipfile.ZipFile(out, "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)
    (finding,) = read_workbook(out).findings
    assert finding.rule == FORMULA_ERROR and finding.importance == "error"
    assert "=1/0" in finding.message and "#DIV/0!" in finding.message and "没有保存" not in finding.message


def test_quoted_text_is_clipped_and_control_characters_shown(form, tmp_path):
    path, sheet, ref = form
    long_text = "很长" * 16_000 + "x_x000B_y"
    result = read_workbook(_typed(path, sheet, ref, long_text, tmp_path / "long.xlsx"))
    (finding,) = result.findings
    assert len(finding.message) < 200 and "…" in finding.message
    control = read_workbook(_typed(path, sheet, ref, "x_x000B_y", tmp_path / "ctl.xlsx"))
    (finding,) = control.findings
    assert "x\\x0by" in finding.message and "\x0b" not in finding.message


def test_a_return_copy_keeps_escaped_control_characters(form, tmp_path):
    from hbreport.xlsx.annotate import annotate_copy
    from hbreport.xlsx.cells import open_calamine

    path, sheet, ref = form
    spoiled = _typed(path, sheet, ref, "x_x000B_y", tmp_path / "ctl.xlsx")
    result = read_workbook(spoiled)
    copy = annotate_copy(spoiled, result.findings, tmp_path / "copy.xlsx")
    book = open_calamine(copy, copy.read_bytes())
    grid = book.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
    row, col = openpyxl.utils.cell.coordinate_to_tuple(ref)
    assert grid[row - 1][col - 1] == "x\x0by"  # the same text as the original holds
    issues = book.get_sheet_by_name("问题清单").to_python()
    assert any("x\\x0by" in str(v) for line in issues for v in line)

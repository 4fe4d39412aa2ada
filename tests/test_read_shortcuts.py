"""The reader's shortcuts give exactly what the long way gives.

- the safety gate hands on the bytes it checked and the XML parts it inflated (nothing is read or
  inflated twice), and they are the file's own;
- formula cells found with the expected formulas and the gate's parts are the ones found without;
  a changed formula, or the same formula escaped another way, is still read as written;
- a plainly usable cell taken at once (``SheetReader.read_values``) has the value, and the file the
  findings, that reading every cell through ``SheetReader.read_cell`` gives.
"""

from __future__ import annotations

import datetime as dt
import math
import zipfile
from pathlib import Path

import pytest
import readback as rb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hbreport.baseline import load_baseline
from hbreport.errors import HBError
from hbreport.forms import prefill_values
from hbreport.registry import load_registry
from hbreport.xlsx import safety
from hbreport.xlsx.layout import FIRST_DATA_ROW, TOTAL_ROW, SheetLayout
from hbreport.xlsx.reader import SheetReader, _formulas_as_written, _HeldCells, read_workbook
from hbreport.xlsx.sheet_formulas import formula_cells

SPEC = rb.spec_of(rb.TOWNSHIP)


@pytest.fixture(scope="module")
def filled(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("shortcuts")
    return rb.fill(rb.generate(rb.TOWNSHIP, folder), folder / "filled.xlsx", SPEC, rb.valid_inputs(SPEC))


def _areas() -> dict[str, tuple[int, int, int, int]]:
    return {
        s.sheet: (TOTAL_ROW, SheetLayout(s).last_data_row, 1, SheetLayout(s).check_col) for s in SPEC.sheets
    }


def _rewrite(src: Path, out: Path, part: str, change) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            zout.writestr(info, change(data) if info.filename == part else data)
    return out


def test_the_gate_hands_on_the_bytes_and_parts_it_checked(filled):
    checked = safety.inspect_and_read(filled)
    assert checked.data == filled.read_bytes()
    assert checked.inspection == safety.inspect_workbook(filled)
    with zipfile.ZipFile(filled) as package:
        names = {n.lower(): n for n in package.namelist()}
        assert any(n.startswith("xl/worksheets/") for n in checked.parts)
        for name, data in checked.parts.items():
            assert data == package.read(names[name]), name
        xml = [n for n in names if n.endswith((".xml", ".rels"))]
    assert sorted(checked.parts) == sorted(xml)


def test_the_gate_still_refuses_what_it_refused(tmp_path, filled):
    doctype = _rewrite(
        filled,
        tmp_path / "doctype.xlsx",
        "xl/workbook.xml",
        lambda xml: xml.replace(b"<workbook", b'<!DOCTYPE x [<!ENTITY a "b">]><workbook', 1),
    )
    for inspect in (safety.inspect_workbook, safety.inspect_and_read):
        with pytest.raises(HBError, match="DOCTYPE"):
            inspect(doctype)


@pytest.mark.parametrize(
    ("cell", "elsewhere"),
    [
        (b'<c\tr="XFD1048576">', b""),
        (b'<c\nr="XFD1048576">', b""),
        (b'<c\r\n  r="XFD1048576">', b""),
        (b'<c s="0" r="XFD1048576">', b""),
        # single quotes hide the reference from a quick look; another element's r="A1" must not make up for it
        (b"<c r='XFD1048576'>", b'<x r="A1"/>'),
    ],
    ids=["tab", "newline", "crlf", "not-first", "single-quotes"],
)
def test_a_far_cell_written_another_way_is_refused(filled, tmp_path, cell, elsewhere):
    """A value at XFD1048576 asks a reader for 17 billion cells (python-calamine aborts the process);
    the gate must see the cell however its tag is written."""
    part = _sheet_part(filled, "_meta")
    far = b'<row r="1048576">' + cell + b"<v>1</v></c></row>" + elsewhere + b"</sheetData>"
    odd = _rewrite(filled, tmp_path / "far.xlsx", part, lambda xml: xml.replace(b"</sheetData>", far))
    for inspect in (safety.inspect_workbook, safety.inspect_and_read):
        with pytest.raises(HBError) as caught:
            inspect(odd)
        assert caught.value.cell == "XFD1048576" and caught.value.sheet == "_meta"


def test_formula_cells_with_expected_texts_and_kept_parts_are_the_same(filled):
    data, areas = filled.read_bytes(), _areas()
    expected = {s.sheet: _formulas_as_written(s) for s in SPEC.sheets}
    plain = formula_cells(data, areas)
    assert plain is not None and sum(map(len, plain.values())) > 100
    assert formula_cells(data, areas, expected) == plain
    assert formula_cells(data, areas, expected, safety.inspect_and_read(filled).parts) == plain
    # every formula of the unchanged form is the expected one
    for sheet in SPEC.sheets:
        assert plain[sheet.sheet] == {at: text for at, (_, text) in expected[sheet.sheet].items()}


def _sheet_part(path: Path, sheet_name: str) -> str:
    from hbreport.xlsx.sheet_formulas import _sheet_parts

    with zipfile.ZipFile(path) as package:
        return _sheet_parts(package)[sheet_name]


def test_a_changed_formula_and_another_escaping_are_read_as_written(filled, tmp_path):
    sheet = SPEC.sheets[0]
    part = _sheet_part(filled, sheet.sheet)
    check_col = SheetLayout(sheet).check_col
    written = _formulas_as_written(sheet)
    first = FIRST_DATA_ROW
    _, check_text = written[(first, check_col)]

    def change(xml: bytes) -> bytes:
        # row 9's check formula has its first <= turned into >=; row 10's quotes are written as &quot;
        ref9 = f'<c r="{SheetLayout(sheet).check_letter}{first}"'.encode()
        start = xml.index(ref9)
        body_start = xml.index(b"<f>", start) + 3
        body_end = xml.index(b"</f>", body_start)
        body = xml[body_start:body_end]
        assert b"&lt;=" in body
        changed = xml[:body_start] + body.replace(b"&lt;=", b"&gt;=", 1) + xml[body_end:]
        ref10 = f'<c r="{SheetLayout(sheet).check_letter}{first + 1}"'.encode()
        start = changed.index(ref10)
        body_start = changed.index(b"<f>", start) + 3
        body_end = changed.index(b"</f>", body_start)
        quoted = changed[body_start:body_end].replace(b'"', b"&quot;")
        return changed[:body_start] + quoted + changed[body_end:]

    odd = _rewrite(filled, tmp_path / "odd.xlsx", part, change)
    expected = {s.sheet: _formulas_as_written(s) for s in SPEC.sheets}
    got = formula_cells(odd.read_bytes(), _areas(), expected, safety.inspect_and_read(odd).parts)
    assert got == formula_cells(odd.read_bytes(), _areas())
    assert got[sheet.sheet][(first, check_col)] == check_text.replace("<=", ">=", 1)
    assert got[sheet.sheet][(first + 1, check_col)] == written[(first + 1, check_col)][1]
    rules = {
        f.rule for f in read_workbook(odd).findings if f.cell == f"{SheetLayout(sheet).check_letter}{first}"
    }
    assert rules == {"公式被改"}


# ---------------------------------------------------------------- quick path against read_cell

RAW = st.one_of(
    st.none(),
    st.just(""),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-5, max_value=2e6).map(lambda x: float(round(x))),
    st.integers(-3, 10**6).map(float),
    st.sampled_from([0.5, -0.0, 2.0**53, 2.0**53 + 2, 1e300, 99999999.0, 1e15]),
    st.sampled_from(["是", " 否 ", "否", "是 ", "  ", "１２", "12", "abc", "=A1", " x "]),
    st.booleans(),
    st.just(dt.datetime(2017, 5, 4)),
)


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_cells_taken_at_once_are_what_reading_each_cell_gives(data):
    registry, baseline = load_registry(), load_baseline()
    prefill = prefill_values(SPEC, registry, baseline)
    for sheet in SPEC.sheets:
        layout = SheetLayout(sheet)
        width = layout.check_col
        grid = [[None] * width for _ in range(layout.last_data_row + 2)]
        typed: dict[tuple[int, int], str] = {}
        for unit in sheet.rows:
            r = layout.row_index[unit.code]
            for column in sheet.columns:
                if column.role == "derived":
                    continue
                c = layout.col_index[column.key]
                expected = prefill.get(sheet.form, {}).get(unit.code, {}).get(column.key)
                choices = [RAW] + ([st.just(float(expected))] if isinstance(expected, int) else [])
                grid[r - 1][c - 1] = data.draw(st.one_of(*choices))
                if grid[r - 1][c - 1] in (None, "") and data.draw(st.booleans()):
                    typed[(r, c)] = "=120+30"
        held = _HeldCells(typed, grid, (TOTAL_ROW, layout.last_data_row, 1, width))
        quick = SheetReader(Path("x.xlsx"), SPEC, registry)
        values = quick.read_values(sheet, grid, held, prefill.get(sheet.form, {}))
        each = SheetReader(Path("x.xlsx"), SPEC, registry)
        for unit in sheet.rows:
            r = layout.row_index[unit.code]
            for column in sheet.columns:
                if column.role == "derived":
                    continue
                c = layout.col_index[column.key]
                raw = grid[r - 1][c - 1]
                value = each.read_cell(
                    sheet, unit.code, column, r, c, raw, held, prefill.get(sheet.form, {}).get(unit.code, {})
                )
                assert _same(values[unit.code][column.key], value), (column.key, raw)
        assert [f.to_dict() for f in quick.findings] == [f.to_dict() for f in each.findings]


def test_no_cell_text_is_made_when_nothing_is_wrong(filled, monkeypatch):
    made = []
    original = SheetReader.row_label

    def counting(self, sheet, row_key):
        made.append(row_key)
        return original(self, sheet, row_key)

    monkeypatch.setattr(SheetReader, "row_label", counting)
    result = read_workbook(filled)
    assert not result.findings and not made

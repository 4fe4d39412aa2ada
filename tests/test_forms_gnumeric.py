"""Generated forms computed by a second, independent spreadsheet engine: Gnumeric must agree with
hbreport.checks.engine exactly as LibreOffice does (tests/test_forms_libreoffice.py, whose inputs and
expectations this module reuses): every derived cell, every 合计 cell, every 校验结果 cell and the
校验汇总 counts of a township, a county, a prefecture and the province; the xlwings variant (HB_
functions Gnumeric does not have, wrapped in IFERROR) gives exactly the native results there too.

The 校验汇总 counts were once array formulas (SUMPRODUCT over FIND) that Gnumeric computed as 0; they
are COUNTIFs over a hidden per-row severity cell now, which this test holds to.
"""

from __future__ import annotations

import random
from pathlib import Path

import openpyxl
import pytest
from test_forms_libreoffice import (
    PERIOD,
    SEED,
    UNITS,
    cached_formula_values,
    expected_cells,
    fill_inputs,
    fill_workbook,
    same,
)

from hbreport import gnumeric
from hbreport.baseline import load_baseline
from hbreport.catalog import load_catalog
from hbreport.errors import HBError
from hbreport.forms import prefill_values
from hbreport.registry import load_registry
from hbreport.spec import build_workbook_spec
from hbreport.xlsx.layout import TOTAL_ROW, SheetLayout
from hbreport.xlsx.writer import write_workbook

pytestmark = pytest.mark.gnumeric


@pytest.fixture(scope="module")
def recalculated(tmp_path_factory):
    """level → (spec, inputs per form/row incl. prefill, native result book, xlwings result book)."""
    registry, catalog, baseline = load_registry(), load_catalog(), load_baseline()
    base = tmp_path_factory.mktemp("gnumeric")
    rng = random.Random(SEED)
    unfired: dict[str, set[str]] = {}
    out = {}
    for level, code in UNITS.items():
        spec = build_workbook_spec(code, PERIOD, registry=registry, catalog=catalog, baseline=baseline)
        prefill = prefill_values(spec, registry, baseline)
        filled = fill_inputs(spec, prefill, rng, unfired)
        inputs = {
            s.form: {
                u.code: {**prefill.get(s.form, {}).get(u.code, {}), **filled[s.form].get(u.code, {})}
                for u in s.rows
            }
            for s in spec.sheets
        }
        books = []
        for variant, xlwings in (("native", False), ("xlwings", True)):
            blank = write_workbook(
                spec, base / "blank" / f"{level}_{variant}.xlsx", values=prefill, xlwings=xlwings
            )
            target = base / "filled" / f"{level}_{variant}.xlsx"
            target.parent.mkdir(exist_ok=True)
            fill_workbook(blank, target, spec, filled)
            assert cached_formula_values(target) == 0  # every result below comes from Gnumeric
            result = gnumeric.recalculate(target, base / "out")
            books.append(openpyxl.load_workbook(result, data_only=True))
        out[level] = (spec, inputs, *books)
    missed = {form: sorted(ids) for form, ids in unfired.items() if ids}
    assert not missed, f"rules never broken by the generated inputs: {missed}"
    return out


@pytest.mark.slow
@pytest.mark.parametrize("level", list(UNITS))
def test_gnumeric_computes_what_the_engine_computes(level, recalculated):
    spec, inputs, native, _ = recalculated[level]
    checked = counts = 0
    for sheet in spec.sheets:
        ws = native[sheet.sheet]
        s = SheetLayout(sheet).summary_row
        for cell, want in expected_cells(sheet, inputs[sheet.form]).items():
            got = ws[cell].value
            assert same(got, want), f"{sheet.sheet}!{cell}: Gnumeric {got!r}, engine {want!r}"
            checked += 1
            counts += cell in (f"C{s + 1}", f"C{s + 2}") and bool(want)
    assert checked > 50 and counts >= 2  # the 校验汇总 counts are among them, and not all zero


@pytest.mark.parametrize("level", list(UNITS))
def test_gnumeric_xlwings_workbook_falls_back_to_exactly_the_native_results(level, recalculated):
    spec, _inputs, native, with_udfs = recalculated[level]
    compared = 0
    for sheet in spec.sheets:
        a, b = native[sheet.sheet], with_udfs[sheet.sheet]
        L = SheetLayout(sheet)
        for row in a.iter_rows(min_row=TOTAL_ROW, max_row=L.summary_row + 3, max_col=L.severity_col):
            for cell in row:
                other = b[cell.coordinate].value
                assert other == cell.value, f"{sheet.sheet}!{cell.coordinate}: {other!r} != {cell.value!r}"
                compared += cell.value is not None
    assert compared > 50


def test_a_missing_ssconvert_is_a_chinese_message(tmp_path, monkeypatch):
    monkeypatch.setenv(gnumeric.SSCONVERT_ENV, str(tmp_path / "没有这个程序"))
    source = tmp_path / "表.xlsx"
    source.write_bytes(b"PK")
    with pytest.raises(HBError) as caught:
        gnumeric.recalculate(source, tmp_path / "out")
    assert "Gnumeric" in str(caught.value) and "apt-get install gnumeric" in str(caught.value)
    assert Path(source).read_bytes() == b"PK"


def test_a_form_issued_before_the_severity_column_reads_as_before(tmp_path):
    """The hidden column is not part of the layout: a form without it (as issued before) gives the same
    values and findings, and the same layout fingerprint."""
    from hbreport.xlsx.reader import read_workbook

    registry, catalog, baseline = load_registry(), load_catalog(), load_baseline()
    spec = build_workbook_spec(
        UNITS["township"], PERIOD, registry=registry, catalog=catalog, baseline=baseline
    )
    prefill = prefill_values(spec, registry, baseline)
    filled = fill_inputs(spec, prefill, random.Random(SEED), {})
    new = write_workbook(spec, tmp_path / "new" / "表.xlsx", values=prefill)
    fill_workbook(new, new, spec, filled)
    old = tmp_path / "old" / "表.xlsx"
    old.parent.mkdir()
    book = openpyxl.load_workbook(new)
    for sheet in spec.sheets:
        ws, L = book[sheet.sheet], SheetLayout(sheet)
        assert ws.column_dimensions[L.severity_letter].hidden
        severity = str(ws[f"{L.severity_letter}{L.row_index[sheet.rows[0].code]}"].value)
        assert severity.startswith("=IF(OR(") or not sheet.rules  # a form without rules has no severity
        ws.delete_cols(L.severity_col)
    book.save(old)
    a = read_workbook(new, registry=registry, catalog=catalog, baseline=baseline)
    b = read_workbook(old, registry=registry, catalog=catalog, baseline=baseline)
    assert a.data.rows == b.data.rows and a.data.rows
    assert [f.to_dict() for f in a.findings] == [
        {**f.to_dict(), "file": a.findings[i].file} for i, f in enumerate(b.findings)
    ]

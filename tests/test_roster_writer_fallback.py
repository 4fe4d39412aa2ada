"""The roster writer's shortcuts into XlsxWriter (shared row formulas, blanks and shared strings written
straight out) are used only with the XlsxWriter releases they were written for. With any other release
the writer takes XlsxWriter's own paths: this test forces that path and holds the two rosters equal,
cell by cell as a spreadsheet program sees them, and equal as the roster reader reads them."""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
import pytest
from household_cases import CASES, crafted

import hbreport.households.roster as roster_module
import hbreport.xlsx.writer as writer_module
from hbreport.households import read_roster, write_roster


def _sheets(path: Path) -> dict[str, dict]:
    """What a spreadsheet program shows: every cell (formulas as text, shared ones expanded), the
    validations, the conditional formats, sheet visibility and protection."""
    book = openpyxl.load_workbook(path)
    out = {}
    for ws in book.worksheets:
        out[ws.title] = {
            "cells": {c.coordinate: c.value for row in ws.iter_rows() for c in row if c.value is not None},
            "locked": sorted(c.coordinate for row in ws.iter_rows() for c in row if not c.protection.locked),
            "validations": sorted(
                (str(v.sqref), v.type, v.formula1, v.formula2) for v in ws.data_validations.dataValidation
            ),
            "conditional": sorted(
                (str(rng.sqref), rule.type, tuple(rule.formula or ()))
                for rng in ws.conditional_formatting
                for rule in rng.rules
            ),
            "state": ws.sheet_state,
            "protected": ws.protection.sheet,
        }
    return out


def _has_shared_formulas(path: Path) -> bool:
    with zipfile.ZipFile(path) as z:
        return any(b't="shared"' in z.read(n) for n in z.namelist() if n.startswith("xl/worksheets/"))


def _write_both(tmp_path: Path, spec, values, monkeypatch) -> tuple[Path, Path]:
    fast = write_roster(spec, tmp_path / "fast" / spec.file_name(), values=values)
    assert writer_module._TESTED, "the installed XlsxWriter is one the shortcuts were written for"
    with monkeypatch.context() as m:
        m.setattr(writer_module, "_TESTED", False)
        roster_module._book_class.cache_clear()
        roster_module._roster_sheet_class.cache_clear()
        try:
            plain = write_roster(spec, tmp_path / "plain" / spec.file_name(), values=values)
        finally:
            roster_module._book_class.cache_clear()
            roster_module._roster_sheet_class.cache_clear()
    return fast, plain


@pytest.mark.parametrize("case", [None, CASES[0], CASES[-1]], ids=["clean", CASES[0].name, CASES[-1].name])
def test_the_roster_written_without_shortcuts_is_the_same_roster(
    registry, catalog, tmp_path, monkeypatch, case
):
    spec, values = crafted(registry, catalog, case)
    fast, plain = _write_both(tmp_path, spec, values, monkeypatch)
    shared = [_has_shared_formulas(p) for p in (fast, plain)]
    assert shared == [True, False]  # the shortcuts were taken in one and not the other
    a, b = _sheets(fast), _sheets(plain)
    assert a.keys() == b.keys()
    for name in a:
        assert a[name]["cells"] == b[name]["cells"], name
        assert a[name] == b[name], name
    read_fast = read_roster(fast, registry=registry, catalog=catalog)
    read_plain = read_roster(plain, registry=registry, catalog=catalog)
    assert read_fast.rows == read_plain.rows
    assert [(f.rule, f.cell, f.message) for f in read_fast.findings] == [
        (f.rule, f.cell, f.message) for f in read_plain.findings
    ]
    if case is None:
        assert read_fast.findings == []
    else:
        assert read_fast.findings, case.name  # the planted mistake is found in both


def test_a_formula_of_digits_is_not_taken_for_a_row_of_a_shared_formula(tmp_path):
    """The shortcut for the rows of a shared formula (the sheet's marker and the formula's index)
    leaves alone a formula that is only digits: ``=10`` stays the formula 10."""
    path = tmp_path / "digits.xlsx"
    book = roster_module._book_class()(str(path), {"in_memory": True})
    ws = book.add_worksheet("s")
    fmt = book.add_format({"locked": False})
    ws.write_formula(0, 0, "=10", fmt, 10)
    ws.write_formula(1, 0, "=2017", fmt, 2017)
    book.close()
    with zipfile.ZipFile(path) as z:
        xml = z.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>10</f><v>10</v>" in xml
    assert "<f>2017</f><v>2017</v>" in xml
    assert "shared" not in xml

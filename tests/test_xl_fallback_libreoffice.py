"""The ``--xlwings`` workbook where xlwings is absent: LibreOffice does not know the HB_ functions, so every
``IFERROR(HB_…(…), native)`` cell must show the native result — the same value as the plain workbook and
as the Python engine. And the HB_ functions themselves, called with the arguments those cells name (read
from the recalculated workbook), must return that same value: Excel with xlwings and LibreOffice
without it show one answer.
"""

from __future__ import annotations

import math
import random
import re
from typing import Any

import openpyxl
import pytest
from readback import PERIOD, TOWNSHIP, fill, valid_inputs

from hbreport import office
from hbreport.baseline import load_baseline
from hbreport.checks import engine
from hbreport.checks.xlsemantics import XLError
from hbreport.forms import prefill_values
from hbreport.registry import load_registry
from hbreport.spec import TOTAL, build_workbook_spec
from hbreport.xl import udfs
from hbreport.xlsx.layout import TOTAL_ROW, SheetLayout
from hbreport.xlsx.writer import completion_value, status_columns, write_workbook

pytestmark = pytest.mark.libreoffice

UNITS = (TOWNSHIP, "421122")
SEED = 2017
CALL = re.compile(r"^=IFERROR\((HB_[A-Z_]+)\(")
CELL = re.compile(
    r"^(?:'?(?P<sheet>[^'!]+)'?!)?\$?(?P<c1>[A-Z]+)\$?(?P<r1>\d+)(?::\$?(?P<c2>[A-Z]+)\$?(?P<r2>\d+))?$"
)


def spoiled(spec, rng: random.Random) -> dict[str, dict[str, dict[str, Any]]]:
    """Valid inputs with every third row spoiled: a huge number, text, a blank or zero in one field."""
    values = valid_inputs(spec)
    for sheet in spec.sheets:
        keys = [c.key for c in sheet.input_columns]
        for i, unit in enumerate(sheet.rows):
            if i % 3 == 1:
                row = values[sheet.form][unit.code]
                for key in rng.sample(keys, k=min(2, len(keys))):
                    if sheet.column(key).field.type == "choice":
                        row[key] = rng.choice(["是", "否", None])
                    else:
                        row[key] = rng.choice([10**6, "12a", None, 0])
    return values


def hb_call(formula: Any) -> tuple[str, str] | None:
    """(function name, argument text) of a cell written as ``=IFERROR(HB_…(…),native)``."""
    m = CALL.match(formula) if isinstance(formula, str) else None
    if not m:
        return None
    depth, quoted = 1, False
    for i in range(m.end(), len(formula)):
        ch = formula[i]
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in "()":
            depth += 1 if ch == "(" else -1
            if depth == 0:
                return m[1], formula[m.end() : i]
    raise AssertionError(f"unbalanced HB_ call: {formula}")


def split_arguments(text: str) -> list[str]:
    """Top-level comma-separated arguments of a formula call (quotes and parentheses respected)."""
    out, depth, quoted, current = [], 0, False, ""
    for ch in text:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
        if ch == "," and not quoted and depth == 0:
            out.append(current)
            current = ""
        else:
            current += ch
    return [*out, current]


def excel_value(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    return float(value)


def argument(text: str, book, sheet_name: str) -> Any:
    """An HB_ call's argument as Excel passes it: text, a number, or a range's values as 2-D rows."""
    text = text.strip()
    if text.startswith('"'):
        return text[1:-1].replace('""', '"')
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return float(text)
    m = CELL.match(text)
    assert m, text
    ws = book[m["sheet"] or sheet_name]
    first = f"{m['c1']}{m['r1']}"
    if not m["c2"]:
        return excel_value(ws[first].value)
    rows = ws[f"{first}:{m['c2']}{m['r2']}"]
    return [[excel_value(c.value) for c in row] for row in rows]


def same(got: Any, want: Any) -> bool:
    if isinstance(want, XLError):
        return got == str(want)
    if isinstance(want, float | int) and not isinstance(want, bool):
        return isinstance(got, float | int) and math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12)
    if want in (None, ""):
        return got in (None, "")
    return got == want


@pytest.fixture(scope="module")
def recalculated(tmp_path_factory):
    """[(spec, inputs incl. prefill, formulas of the xlwings file, LibreOffice's native and xlwings results)]"""
    registry, baseline = load_registry(), load_baseline()
    base = tmp_path_factory.mktemp("xl_fallback")
    rng = random.Random(SEED)
    cases, sources = [], []
    for code in UNITS:
        spec = build_workbook_spec(code, PERIOD, registry=registry, baseline=baseline)
        prefill = prefill_values(spec, registry, baseline)
        inputs = spoiled(spec, rng)
        files = {}
        for variant, xlwings in (("native", False), ("xlwings", True)):
            blank = write_workbook(
                spec, base / f"blank_{code}_{variant}.xlsx", values=prefill, xlwings=xlwings
            )
            files[variant] = fill(blank, base / f"{code}_{variant}.xlsx", spec, inputs)
            sources.append(files[variant])
        full = {
            s.form: {
                u.code: {**prefill.get(s.form, {}).get(u.code, {}), **inputs.get(s.form, {}).get(u.code, {})}
                for u in s.rows
            }
            for s in spec.sheets
        }
        cases.append((spec, full, files))
    results = office.convert_many(sources, "xlsx", base / "out", recalc=True)
    books = {p.stem: openpyxl.load_workbook(p, data_only=True) for p in results}
    return [
        (
            spec,
            full,
            openpyxl.load_workbook(files["xlwings"]),
            books[files["native"].stem],
            books[files["xlwings"].stem],
        )
        for spec, full, files in cases
    ]


def engine_values(sheet, inputs) -> dict[str, Any]:
    """cell → what the engine computes, for the cells the writer wraps in HB_ calls."""
    L = SheetLayout(sheet)
    out: dict[str, Any] = {}
    total = engine.total_row(sheet, [inputs[u.code] for u in sheet.rows])
    for unit in sheet.rows:
        row = engine.compute_row(sheet, inputs[unit.code])
        out[f"{L.check_letter}{L.row_index[unit.code]}"] = engine.check_text(sheet, row)
        for status, _rate, _expected in status_columns(sheet):
            out[L.cell(unit.code, status.key)] = row[status.key]
    for status, rate, expected in status_columns(sheet):
        out[L.cell(TOTAL, status.key)] = total[status.key]
        out[f"H{L.summary_row + 3}"] = completion_value(total[rate.key], total[expected.key])
    return out


def test_every_hb_cell_falls_back_to_the_native_and_engine_value(recalculated):
    kinds: dict[str, int] = {}
    for spec, inputs, formulas, native, with_udfs in recalculated:
        for sheet in spec.sheets:
            want = engine_values(sheet, inputs[sheet.form])
            ws = formulas[sheet.sheet]
            for row in ws.iter_rows(min_row=TOTAL_ROW):
                for cell in row:
                    m = hb_call(cell.value)
                    if not m:
                        continue
                    kinds[m[0]] = kinds.get(m[0], 0) + 1
                    at = cell.coordinate
                    got = with_udfs[sheet.sheet][at].value
                    assert got == native[sheet.sheet][at].value, f"{sheet.sheet}!{at}"
                    assert at in want, f"{sheet.sheet}!{at} calls {m[0]} where no HB_ call was expected"
                    assert same(got, want[at]), (
                        f"{sheet.sheet}!{at}: LibreOffice {got!r}, engine {want[at]!r}"
                    )
    assert (
        kinds.get("HB_CHECK", 0) > 20 and kinds.get("HB_STATUS", 0) > 5 and kinds.get("HB_COMPLETION", 0) >= 2
    )


def test_the_hb_functions_return_what_the_fallback_shows(recalculated):
    """Each HB_ call evaluated in Python with its arguments read from the recalculated workbook."""
    compared = nonblank = 0
    for spec, _inputs, formulas, _native, with_udfs in recalculated:
        for sheet in spec.sheets:
            for row in formulas[sheet.sheet].iter_rows(min_row=TOTAL_ROW):
                for cell in row:
                    m = hb_call(cell.value)
                    if not m:
                        continue
                    args = [argument(a, with_udfs, sheet.sheet) for a in split_arguments(m[1])]
                    got = getattr(udfs, m[0])(*args)
                    shown = with_udfs[sheet.sheet][cell.coordinate].value
                    assert same(got, shown), (
                        f"{sheet.sheet}!{cell.coordinate}: {m[0]} {got!r}, cell {shown!r}"
                    )
                    compared += 1
                    nonblank += shown not in (None, "")
    assert compared > 30 and nonblank > 10

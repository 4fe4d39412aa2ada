"""Generated forms computed by a real spreadsheet engine: LibreOffice must agree with hbreport.checks.engine.

For a township, a county, a prefecture and the province of the sample: write the form, fill its
input cells with a deterministic mix of valid values, rule-breaking values, text and blanks (every
rule of every form fires at least once), save with openpyxl (formulas kept, cached values dropped),
let LibreOffice recalculate everything, and compare every derived cell, every 合计 cell, every
校验结果 cell and the 校验汇总 counts with what the Python engine computes for the same inputs. The
xlwings variant (HB_ functions wrapped in IFERROR) must give exactly the native results there.
"""

from __future__ import annotations

import math
import random
import re
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from hbreport import office
from hbreport.baseline import load_baseline
from hbreport.catalog import load_catalog
from hbreport.checks import engine
from hbreport.checks.xlsemantics import XLError
from hbreport.forms import prefill_values
from hbreport.registry import load_registry
from hbreport.spec import TOTAL, SheetSpec, build_workbook_spec
from hbreport.xlsx.layout import TOTAL_ROW, SheetLayout
from hbreport.xlsx.writer import completion_value, status_columns, write_workbook

pytestmark = pytest.mark.libreoffice

PERIOD = 2017
UNITS = {
    "township": "421122100000",
    "county": "421122000000",
    "prefecture": "421100000000",
    "province": "420000000000",
}
SEED = 20170101
ATTEMPTS = 300  # random rows tried per row when looking for one that breaks a rule not yet broken
TEXT_IN_NUMBER = "12a"  # text typed where a number belongs: every formula must show the same error


def random_value(field, rng: random.Random) -> Any:
    roll = rng.random()
    if roll < 0.08:
        return None
    if field.type == "choice":
        return rng.choice(field.choices)
    if roll < 0.16:
        return 0
    if field.type == "integer":
        high = int(field.max) if field.max is not None else 3000
        return rng.randint(1, 30) if roll < 0.55 else rng.randint(1, high)
    high = field.max * 0.6 if field.max is not None else 5000.0
    return round(rng.uniform(0, high), rng.choice((0, 1, 2, 3)))


def fill_inputs(spec, prefill, rng: random.Random, unfired: dict[str, set[str]]) -> dict:
    """Input values per form and row; greedily makes rows break rules not yet broken (``unfired``)."""
    filled: dict[str, dict[str, dict[str, Any]]] = {}
    for sheet in spec.sheets:
        rows: dict[str, dict[str, Any]] = {}
        todo = unfired.setdefault(sheet.form, {r.id for r in sheet.rules})
        for i, unit in enumerate(sheet.rows):
            base = dict(prefill.get(sheet.form, {}).get(unit.code, {}))
            if i % 7 == 3:  # a row left entirely blank
                rows[unit.code] = {}
                continue
            best, best_fired = None, set()
            for _ in range(ATTEMPTS):
                candidate = {c.key: random_value(c.field, rng) for c in sheet.input_columns}
                fired = {
                    rule.id
                    for rule, _ in engine.check_row(sheet, engine.compute_row(sheet, {**base, **candidate}))
                }
                if best is None or len(fired & todo) > len(best_fired & todo):
                    best, best_fired = candidate, fired
                if not todo or best_fired >= todo:
                    break
            if i % 7 == 5:  # text where a number belongs
                numeric = [c.key for c in sheet.input_columns if c.field.numeric]
                if numeric:
                    best[numeric[i % len(numeric)]] = TEXT_IN_NUMBER
            todo -= best_fired
            rows[unit.code] = best
        filled[sheet.form] = rows
    return filled


def fill_workbook(src: Path, dst: Path, spec, filled) -> None:
    wb = openpyxl.load_workbook(src)
    for sheet in spec.sheets:
        ws = wb[sheet.sheet]
        L = SheetLayout(sheet)
        for code, row in filled[sheet.form].items():
            for key, value in row.items():
                if value is not None:
                    ws[L.cell(code, key)] = value
    wb.save(dst)


def cached_formula_values(path: Path) -> int:
    """How many formula cells in ``path`` carry a cached value (``<f>…</f><v>something</v>``)."""
    count = 0
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/sheet"):
                count += len(re.findall(r"</f>\s*<v>[^<]", z.read(name).decode("utf-8")))
    return count


@pytest.fixture(scope="module")
def recalculated(tmp_path_factory):
    """level → (spec, inputs per form/row incl. prefill, native result book, xlwings result book)."""
    registry, catalog, baseline = load_registry(), load_catalog(), load_baseline()
    base = tmp_path_factory.mktemp("lo")
    rng = random.Random(SEED)
    unfired: dict[str, set[str]] = {}
    cases, sources = {}, []
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
        for variant, xlwings in (("native", False), ("xlwings", True)):
            blank = write_workbook(
                spec, base / "blank" / f"{level}_{variant}.xlsx", values=prefill, xlwings=xlwings
            )
            target = base / "filled" / f"{level}_{variant}.xlsx"
            target.parent.mkdir(exist_ok=True)
            fill_workbook(blank, target, spec, filled)
            assert cached_formula_values(target) == 0  # every result below comes from LibreOffice
            sources.append(target)
        cases[level] = (spec, inputs)
    missed = {form: sorted(ids) for form, ids in unfired.items() if ids}
    assert not missed, f"rules never broken by the generated inputs: {missed}"
    results = office.convert_many(sources, "xlsx", base / "out", recalc=True)
    books = {p.stem: openpyxl.load_workbook(p, data_only=True) for p in results}
    return {
        level: (spec, inputs, books[f"{level}_native"], books[f"{level}_xlwings"])
        for level, (spec, inputs) in cases.items()
    }


def same(got: Any, want: Any) -> bool:
    """A LibreOffice result read back with openpyxl against the engine's Python value."""
    if isinstance(want, XLError):
        return got == str(want)
    if want is None or want == "":
        return got in (None, "")
    if isinstance(want, bool):
        return got is want
    if isinstance(want, int | float):
        return (
            isinstance(got, int | float)
            and not isinstance(got, bool)
            and math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12)
        )
    return got == want


def expected_cells(sheet: SheetSpec, inputs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """cell → the value the engine computes, for every formula cell of the table and 校验汇总."""
    L = SheetLayout(sheet)
    out: dict[str, Any] = {}
    computed = {}
    for unit in sheet.rows:
        row = engine.compute_row(sheet, inputs[unit.code])
        computed[unit.code] = row
        for col in sheet.derived_columns:
            out[L.cell(unit.code, col.key)] = row[col.key]
        out[f"{L.check_letter}{L.row_index[unit.code]}"] = engine.check_text(sheet, row)
    total = engine.total_row(sheet, [inputs[u.code] for u in sheet.rows])
    for col in sheet.columns:
        out[L.cell(TOTAL, col.key)] = total[col.key]
    # 校验汇总: rows with an error / a warning, share of input cells filled, completion vs plan
    s = L.summary_row
    failing = {
        code: {rule.importance for rule, _ in engine.check_row(sheet, row)} for code, row in computed.items()
    }
    # a row with text in a number cell says so alone, and counts as a row with an error
    text = {
        code: any(isinstance(row.get(k), str) for k, _ in sheet.number_inputs)
        for code, row in computed.items()
    }
    out[f"C{s + 1}"] = sum(text[c] or "error" in imps for c, imps in failing.items())
    out[f"C{s + 2}"] = sum(not text[c] and "warning" in imps for c, imps in failing.items())
    cells = len(sheet.input_columns) * len(sheet.rows)
    filled = sum(1 for u in sheet.rows for c in sheet.input_columns if inputs[u.code].get(c.key) is not None)
    out[f"C{s + 3}"] = filled / cells if cells else ""
    for _status, rate, expected in status_columns(sheet)[:1]:
        out[f"H{s + 1}"] = total[rate.key]
        out[f"H{s + 2}"] = total[expected.key]
        out[f"H{s + 3}"] = completion_value(total[rate.key], total[expected.key])
    return out


@pytest.mark.parametrize("level", list(UNITS))
def test_libreoffice_computes_what_the_engine_computes(level, recalculated):
    spec, inputs, native, _ = recalculated[level]
    checked = 0
    for sheet in spec.sheets:
        ws = native[sheet.sheet]
        for cell, want in expected_cells(sheet, inputs[sheet.form]).items():
            got = ws[cell].value
            assert same(got, want), f"{sheet.sheet}!{cell}: LibreOffice {got!r}, engine {want!r}"
            checked += 1
    assert checked > 50


@pytest.mark.parametrize("level", list(UNITS))
def test_the_inputs_exercise_errors_warnings_blanks_and_text(level, recalculated):
    spec, inputs, native, _ = recalculated[level]
    texts = []
    for sheet in spec.sheets:
        ws = native[sheet.sheet]
        L = SheetLayout(sheet)
        texts += [ws.cell(L.row_index[u.code], L.check_col).value or "" for u in sheet.rows]
        assert ws.cell(TOTAL_ROW, 1).value == "合计"
    assert any(texts) and any(not t for t in texts)
    values = [v for form in inputs.values() for row in form.values() for v in row.values()]
    assert None in values and TEXT_IN_NUMBER in values


@pytest.mark.parametrize("level", list(UNITS))
def test_xlwings_workbook_falls_back_to_exactly_the_native_results(level, recalculated):
    spec, _inputs, native, with_udfs = recalculated[level]
    compared = 0
    for sheet in spec.sheets:
        a, b = native[sheet.sheet], with_udfs[sheet.sheet]
        L = SheetLayout(sheet)
        for row in a.iter_rows(min_row=TOTAL_ROW, max_row=L.summary_row + 3, max_col=L.last_col):
            for cell in row:
                other = b[cell.coordinate].value
                assert other == cell.value, f"{sheet.sheet}!{cell.coordinate}: {other!r} != {cell.value!r}"
                compared += cell.value is not None
    assert compared > 50

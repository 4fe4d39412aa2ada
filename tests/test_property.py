"""Properties over random content: whatever a clerk (or a script) puts into the input cells of a
township's form, the reader answers with findings or an HBError, never another exception; what it
accepts is what was typed; and the county's 合计 is the sum of exactly the values the reader accepted
in the children it consolidated.

The blank forms are generated once per module; every example fills them anew with openpyxl.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import corpus
import openpyxl
import pytest
import readback
from county_totals import COUNTY, PERIOD, assert_county_holds, county_input_expected
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from hbreport.checks.values import VALUE_CHECKS
from hbreport.consolidation.consolidate import consolidate
from hbreport.errors import HBError
from hbreport.forms import generate_forms
from hbreport.registry import load_registry
from hbreport.spec import build_workbook_spec
from hbreport.xlsx.layout import SheetLayout
from hbreport.xlsx.reader import read_workbook

TOWNSHIPS = (corpus.FORM_TOWNSHIP, corpus.OTHER_TOWNSHIP)  # 梅塘镇 (15 villages), 石坪镇
SETTINGS = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)

# ---------------------------------------------------------------- what goes into a cell

TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=12)
WILD = st.one_of(
    st.none(),
    st.just(""),
    st.sampled_from([" ", "\u3000", "  \t "]),  # blanks only: a warning, counted as empty
    st.integers(-1000, 100_000),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.floats(-1e4, 1e6),
    TEXT,
    st.sampled_from(["NaN", "inf", "-inf", "#N/A", "1,234", "１２３", "'42", "约300", *corpus.FORMULA_LIKE]),
    st.booleans(),
    st.dates(dt.date(1900, 3, 1), dt.date(2100, 1, 1)),
    st.datetimes(dt.datetime(1900, 3, 1), dt.datetime(2100, 1, 1)),
    st.sampled_from(["是", "否"]),
)
"""Ints (small, negative, beyond 2**64), floats (negative, huge, tiny), text (formula-like, numbers
as text, full-width digits), empty strings, blanks, None, booleans, dates."""


@pytest.fixture(scope="module")
def blanks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The generated, prefilled township workbooks (bytes), by 9-digit code."""
    folder = tmp_path_factory.mktemp("blank")
    registry = load_registry()
    out = {}
    for code in TOWNSHIPS:
        (path,) = generate_forms("township", PERIOD, under=code, out_dir=folder, registry=registry)
        out[code] = path.read_bytes()
    return out


def input_cells(code: str) -> list[tuple[str, str, str, str, str]]:
    """(form, sheet, row code, field, A1 cell) of every input cell of ``code``'s workbook."""
    spec = build_workbook_spec(code, PERIOD)
    cells = []
    for sheet in spec.sheets:
        layout = SheetLayout(sheet)
        for row in sheet.rows:
            for col in sheet.input_columns:
                cells.append((sheet.form, sheet.sheet, row.code, col.key, layout.cell(row.code, col.key)))
    return cells


def child_values(data: st.DataObject, code: str) -> dict[tuple[str, str, str], Any]:
    """A child's typed values: rule-abiding inputs sprinkled with wild ones, or wild throughout."""
    valid = readback.valid_inputs(build_workbook_spec(code, PERIOD))
    cells = input_cells(code)
    mode = data.draw(st.sampled_from(["clean", "sprinkled", "wild"]), label=f"{code} mode")
    typed = {(form, row, key): valid[form][row][key] for form, _, row, key, _ in cells}
    if mode == "clean":
        return typed
    if mode == "sprinkled":
        picks = data.draw(st.lists(st.sampled_from(cells), min_size=1, max_size=8), label=f"{code} cells")
        blanks_only = data.draw(st.booleans(), label=f"{code} blanks only")
        values = st.sampled_from([None, "", " ", "\u3000"]) if blanks_only else WILD
        for form, _, row, key, _ in picks:
            typed[(form, row, key)] = data.draw(values, label=f"{code} {form} {row} {key}")
        return typed
    return {
        (form, row, key): data.draw(WILD, label=f"{code} {form} {row} {key}")
        for form, _, row, key, _ in cells
    }


def fill(blank: bytes, code: str, typed: dict[tuple[str, str, str], Any], path: Path) -> Path:
    """Type ``typed`` into the input cells of the blank workbook; text always as text."""
    book = openpyxl.load_workbook(io.BytesIO(blank))
    for form, sheet, row, key, ref in input_cells(code):
        value = typed[(form, row, key)]
        cell = book[sheet][ref]
        cell.value = value
        if isinstance(value, str):
            cell.data_type = "s"  # as Excel keeps an entry typed after an apostrophe: never a formula
    book.save(path)
    return path


def normal(value: Any) -> Any:
    """What the reader should hold for a typed value it accepts."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def not_accepted(findings) -> set[tuple[str, str]]:
    """(sheet, cell) of every value the reader says it did not take as typed."""
    return {(f.sheet, f.cell) for f in findings if f.rule in VALUE_CHECKS and f.cell}


def read_child(path: Path, code: str, typed: dict, context: dict):
    """Read a filled child and check the reader's side of the property; the result (None on HBError)."""
    try:
        result = read_workbook(path, **context)
    except HBError as refused:  # a refusal is an answer too, as long as it says where and what to do
        assert refused.file == str(path) and refused.hint
        return None
    refused_cells = not_accepted(result.findings)
    event(f"values not accepted: {'some' if refused_cells else 'none'}")
    for form, sheet, row, key, ref in input_cells(code):
        if (sheet, ref) in refused_cells:
            continue
        held, wanted = result.data.rows[form][row][key], normal(typed[(form, row, key)])
        assert held == pytest.approx(wanted) if isinstance(wanted, float) else held == wanted, (sheet, ref)
    for f in result.findings:
        assert f.message and f.hint and f.file == str(path)
    return result


# ---------------------------------------------------------------- the properties


@pytest.mark.slow
@SETTINGS
@given(data=st.data())
def test_the_reader_answers_any_content(
    blanks: dict[str, bytes], context: dict, tmp_path: Path, data: st.DataObject
) -> None:
    code = data.draw(st.sampled_from(TOWNSHIPS), label="township")
    typed = child_values(data, code)
    path = fill(blanks[code], code, typed, tmp_path / f"{code}.xlsx")
    before = path.read_bytes()
    read_child(path, code, typed, context)
    assert path.read_bytes() == before


@pytest.mark.slow
@SETTINGS
@given(data=st.data())
def test_county_totals_are_the_sums_of_what_the_reader_accepted(
    blanks: dict[str, bytes], context: dict, tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    folder = tmp_path_factory.mktemp("children")
    accepted: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
    for code in TOWNSHIPS:
        typed = child_values(data, code)
        path = fill(blanks[code], code, typed, folder / f"{code}.xlsx")
        result = read_child(path, code, typed, context)
        if result is None or result.errors:
            continue  # refused or returned: not consolidated
        refused_cells = not_accepted(result.findings)
        values: dict[str, dict[str, dict[str, Any]]] = {}
        for form, sheet, row, key, ref in input_cells(code):
            value = None if (sheet, ref) in refused_cells else normal(typed[(form, row, key)])
            values.setdefault(form, {}).setdefault(row, {})[key] = value
        if any(v is not None for rows in values.values() for cells in rows.values() for v in cells.values()):
            accepted[code] = values  # a form with nothing typed (or nothing kept) is 空表, not consolidated

    out = folder.parent / f"{folder.name}_county.xlsx"
    summary = consolidate(
        folder, COUNTY, PERIOD, out, workers=1, annotate_dir=folder.parent / f"{folder.name}_back", **context
    )
    event(f"children consolidated: {len(accepted)}")
    consolidated = {c.code[:9] for c in summary.received}
    assert consolidated == set(accepted)
    if not accepted:  # nothing to add up: no county workbook to be forwarded by mistake
        assert summary.output is None and not out.exists()
        return
    absent = tuple(code + "000" for code in TOWNSHIPS if code not in accepted)
    assert_county_holds(out, county_input_expected(accepted), absent=absent, at_least=1)

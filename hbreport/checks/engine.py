"""The form engine: derived columns, the 合计 row and row checks, each defined once and given both as
Python values and as Excel formula text (through the rule compiler), so the workbook and the Python
side cannot disagree.

Values follow spreadsheet semantics: a blank is ``None``; aggregates skip text, as SUM/MIN/MAX/
COUNTIF do; derived values are computed in column order, so a formula may use earlier derived columns.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache, lru_cache
from typing import Any

from openpyxl.utils import get_column_letter

from hbreport.spec import Column, Field, SheetSpec
from hbreport.xlsx.layout import FIRST_FIELD_COL, TOTAL_ROW, SheetLayout

TEXT_IN_NUMBER = "填的是文字，应填数字"  # the 校验结果 for a number cell holding text


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _num(v: Any) -> float:
    return float(v) if _is_number(v) else 0.0


def _clean(v: Any) -> Any:
    """Turn float results that are whole numbers into ints, so 3.0 and 3 compare and print alike."""
    if isinstance(v, float) and v.is_integer() and abs(v) < 2**53:
        return int(v)
    return v


@cache
def _expr(text: str):
    from hbreport.checks.rules import Expr

    return Expr.parse(text)


def compute_row(sheet: SheetSpec, values: Mapping[str, Any]) -> dict[str, Any]:
    """Inputs (and prefilled values) of one row → all columns, derived ones computed."""
    get = values.get
    row: dict[str, Any] = {key: get(key) for key in sheet.given_keys}
    for col in sheet.derived_columns:
        row[col.key] = _clean(_expr(col.formula).evaluate(row))
    return row


def aggregate(field: Field, column_values: list[Any], weights: list[Any] | None = None) -> Any:
    """One column's 合计 by the field's aggregation type (derived columns are not aggregated)."""
    agg = field.aggregation
    if agg in ("sum", "min", "max"):
        # numbers only, as SUM/MIN/MAX skip text and logical values (bool is an int in Python)
        nums = [float(v) for v in column_values if isinstance(v, int | float) and not isinstance(v, bool)]
    if agg == "sum":
        return _clean(sum(nums))
    if agg == "weighted_mean":
        ws = weights or []
        denom = sum(_num(w) for w in ws)
        if denom == 0:
            return ""
        return sum(_num(v) * _num(w) for v, w in zip(column_values, ws, strict=True)) / denom
    if agg == "min":
        return _clean(min(nums)) if nums else 0
    if agg == "max":
        return _clean(max(nums)) if nums else 0
    if agg == "count_if":
        want = str(field.equals).casefold()
        return sum(1 for v in column_values if v is not None and str(v).strip().casefold() == want)
    if agg == "last":
        present = [v for v in column_values if v not in (None, "")]
        return present[-1] if present else None
    return None


def total_row(
    sheet: SheetSpec, rows: Iterable[Mapping[str, Any]], *, computed: bool = False
) -> dict[str, Any]:
    """The 合计 row: every non-derived column aggregated, derived columns recomputed on the totals.

    count_if columns count on the 合计 row (the number of villages that 达到出列标准, …). Pass
    ``computed=True`` when the rows come from :func:`compute_row` already (saves computing them twice)."""
    rows = list(rows) if computed else [compute_row(sheet, r) for r in rows]
    total: dict[str, Any] = {}
    for col in sheet.columns:
        f = col.field
        if f.aggregation == "derived":
            continue
        weights = [r.get(f.weight) for r in rows] if f.weight else None
        total[col.key] = aggregate(f, [r.get(col.key) for r in rows], weights)
    for col in sheet.columns:
        if col.field.aggregation == "derived":
            total[col.key] = _clean(_expr(col.formula).evaluate(total))
    return total


def row_filled(sheet: SheetSpec, row: Mapping[str, Any] | None) -> bool:
    """A row holds reported data when any input cell is filled (prefilled baselines do not count)."""
    return bool(row) and any(row.get(c.key) not in (None, "") for c in sheet.input_columns)


def parent_values(sheet: SheetSpec, total: Mapping[str, Any], n_rows: int) -> dict[str, Any]:
    """A child's 合计 as the values of its row on the parent's form (rollup_to, count_rows_as)."""
    out: dict[str, Any] = {}
    for col in sheet.columns:
        if col.field.aggregation == "derived":
            continue
        out[col.field.parent_key] = total.get(col.key)
    if sheet.count_rows_as:
        out[sheet.count_rows_as] = n_rows
    return out


def check_row(sheet: SheetSpec, row: Mapping[str, Any]) -> list[tuple[Any, str]]:
    """(rule, status) for every rule that does not pass on a computed row: status 'fail' or 'invalid'."""
    out = []
    for rule in sheet.rules:
        status = rule.check(row)
        if status in ("fail", "invalid"):
            out.append((rule, status))
    return out


def check_text(sheet: SheetSpec, row: Mapping[str, Any]) -> str:
    """The text the 校验结果 cell shows for this row ('' when every rule passes). A number cell that
    holds text is said first and alone (「本年脱贫人口」填的是文字，应填数字；): the rules cannot be
    checked on it, and another rule's message would point the clerk elsewhere."""
    from hbreport.checks.rules import row_check_python

    texts = [
        f"「{label}」{TEXT_IN_NUMBER}；"
        for key, label in sheet.number_inputs
        if isinstance(row.get(key), str)
    ]
    if texts:
        return "".join(texts)
    return row_check_python(sheet.rules, row)


# ---------------------------------------------------------------- Excel side


# Formula text depends only on the expression, the column letters and the row number, so it is made once
# per process and shared by every workbook of the same form (the reader and the writer ask for it per cell).


@cache
def _letters(column_keys: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    return tuple((key, get_column_letter(FIRST_FIELD_COL + i)) for i, key in enumerate(column_keys))


_ROW = "\x00"  # stands for the row number in a row template; no formula text holds it


@lru_cache(maxsize=4096)
def _formula_template(formula: str, letters: tuple[tuple[str, str], ...]) -> str:
    cols = dict(letters)
    return _no_marker(_expr(formula).to_excel(lambda key: f"{cols[key]}{_ROW}"), formula.count(_ROW))


@lru_cache(maxsize=4096)
def _checks_template(rules: tuple, letters: tuple[tuple[str, str], ...], numbers: tuple = ()) -> str:
    from hbreport.checks.rules import excel_text, row_check_formula

    cols = dict(letters)
    text = row_check_formula(rules, lambda key: f"{cols[key]}{_ROW}") if rules else '""'
    if numbers:  # a number cell holding text is said first and alone (ISTEXT before any rule)
        cells = [(f"{cols[key]}{_ROW}", label) for key, label in numbers]
        test = ",".join(f"ISTEXT({c})" for c, _ in cells)
        said = "&".join(
            f'IF(ISTEXT({c}),{excel_text(f"「{label}」{TEXT_IN_NUMBER}；")},"")' for c, label in cells
        )
        text = f"IF(OR({test}),{said},{text})"
    return _no_marker(text, sum(r.expr.count(_ROW) + r.message.count(_ROW) for r in rules))


def _no_marker(template: str, in_source: int) -> str:
    if in_source:
        raise ValueError("a formula or rule text holds the NUL character")
    return template


def _on_row(template: str, row_number: int) -> str:
    """A row template's formula on ``row_number``: compiled once per form, made per row by replacing."""
    return template.replace(_ROW, str(row_number))


def _formula_on_row(formula: str, letters: tuple[tuple[str, str], ...], row_number: int) -> str:
    return _on_row(_formula_template(formula, letters), row_number)


def _checks_on_row(rules: tuple, letters: tuple[tuple[str, str], ...], row_number: int) -> str:
    return _on_row(_checks_template(rules, letters), row_number)


ROW_MARK = _ROW


def derived_template(layout: SheetLayout, col: Column) -> str:
    """A derived cell's data-row formula with :data:`ROW_MARK` where the row number goes."""
    return _formula_template(col.formula, _letters(layout.spec.column_keys))


def derived_formula(layout: SheetLayout, col: Column, row_number: int) -> str:
    """Formula text (no '=') of a derived cell on a data row or the 合计 row."""
    if row_number == TOTAL_ROW and col.field.aggregation != "derived":
        return total_formula(layout, col)
    return _on_row(derived_template(layout, col), row_number)


def total_formula(layout: SheetLayout, col: Column) -> str:
    """Formula text (no '=') of a 合计 cell, mirroring :func:`total_row`."""
    f = col.field
    rng = layout.data_range(col.key)
    if f.aggregation == "derived":
        return _formula_on_row(col.formula, _letters(layout.spec.column_keys), TOTAL_ROW)
    if f.aggregation == "sum":
        return f"SUM({rng})"
    if f.aggregation == "weighted_mean":
        wrng = layout.data_range(f.weight)
        if ":" not in rng or rng.split(":")[0] == rng.split(":")[1]:
            # one row (a unit's own form): Gnumeric's SUMPRODUCT of a single blank cell is #VALUE!
            v, w = rng.split(":")[0], wrng.split(":")[0]
            return f'IF(SUM({wrng})=0,"",IF(ISNUMBER({v}),{v}*{w}/SUM({wrng}),0))'
        return f'IF(SUM({wrng})=0,"",SUMPRODUCT({rng},{wrng})/SUM({wrng}))'
    if f.aggregation == "min":
        return f"MIN({rng})"
    if f.aggregation == "max":
        return f"MAX({rng})"
    if f.aggregation == "count_if":
        return f'COUNTIF({rng},"{f.equals}")'
    if f.aggregation == "last":
        last = layout.last_data_row
        return f"{layout.col_letter(col.key)}{last}" if last > TOTAL_ROW else '""'
    return '""'


def check_template(layout: SheetLayout) -> str:
    """The 校验结果 formula of a data row with :data:`ROW_MARK` where the row number goes."""
    spec = layout.spec
    if not spec.rules and not spec.number_inputs:
        return '""'
    return _checks_template(tuple(spec.rules), _letters(spec.column_keys), spec.number_inputs)


def check_formula(layout: SheetLayout, row_number: int) -> str:
    """Formula text (no '=') of the 校验结果 cell of a data row."""
    return _on_row(check_template(layout), row_number)

"""A roster's derived column and row rules computed by column over all its households at once.

The roster's formulas (达到脱贫标准) and rules (HR01–HR25) are the same expressions the workbook
holds; :mod:`hbreport.checks.rules_columnar` evaluates each over the township's households as arrays, with
exactly the row-by-row semantics (tests/test_rules_columnar.py).
"""

from __future__ import annotations

import operator
from collections import Counter
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from typing import Any

import numpy as np

from hbreport.checks.engine import TEXT_IN_NUMBER, _clean, _expr, aggregate
from hbreport.checks.rules_columnar import FAIL, INVALID, Table, evaluate_columns, rule_statuses
from hbreport.model.values import FormData
from hbreport.spec import SheetSpec, WorkbookSpec

Rows = dict[str, dict[str, Any]]


class ColumnRows(MutableMapping):
    """{row code: every column} kept as the table's columns, each row's dict made only when one is
    first asked for: the reader's own checks and the store read the columns (:func:`column_of`), and
    a township's rows are seldom wanted one by one when it is consolidated."""

    def __init__(self, codes: list[str], table: Table) -> None:
        self.codes, self.table = codes, table
        self._rows: Rows | None = None

    def _made(self) -> Rows:
        if self._rows is None:
            keys = list(self.table.columns)
            self._rows = {
                code: dict(zip(keys, values, strict=True))
                for code, *values in zip(self.codes, *self.table.columns.values(), strict=True)
            }
        return self._rows

    def column(self, key: str) -> list[Any]:
        """One value per row, in row order (None where the row has no such column): the table's own
        list while no row has been made, to be read, not changed."""
        if self._rows is None:
            values = self.table.columns.get(key)
            return [None] * len(self.codes) if values is None else values  # type: ignore[return-value]
        return [row.get(key) for row in self._rows.values()]

    def __getitem__(self, code: str) -> dict[str, Any]:
        return self._made()[code]

    def __setitem__(self, code: str, row: dict[str, Any]) -> None:
        self._made()[code] = row

    def __delitem__(self, code: str) -> None:
        del self._made()[code]

    def __iter__(self) -> Iterator[str]:
        return iter(self.codes if self._rows is None else self._rows)

    def __len__(self) -> int:
        return len(self.codes if self._rows is None else self._rows)

    def __repr__(self) -> str:
        return repr(self._made())


class InputColumns(dict):
    """A sheet's inputs given by column, {field: one value per row of the sheet, in row order}, where
    :func:`compute_rows` takes {row code: {field: value}}."""


def column_of(rows: Mapping[str, Mapping[str, Any]], key: str) -> list[Any]:
    """The values of one column of ``rows``, in row order."""
    if isinstance(rows, ColumnRows):
        return rows.column(key)
    return [row.get(key) for row in rows.values()]


def compute_rows(
    sheet: SheetSpec,
    inputs: Mapping[str, Mapping[str, Any]],
    tables: dict[str, Table] | None = None,
    *,
    by_column: bool = False,
) -> Rows:
    """{row code: every column}: inputs and prefilled values as given, derived columns computed by
    column (what :func:`hbreport.checks.engine.compute_row` gives row by row). ``tables``: where to keep the
    sheet's columns (every column, by form) for the rules and the 合计 row; ``by_column``: the rows
    as :class:`ColumnRows`."""
    codes = [r.code for r in sheet.rows]
    columns: dict[str, list[Any]]
    if isinstance(inputs, InputColumns):
        columns = {key: inputs[key] if key in inputs else [None] * len(codes) for key in sheet.given_keys}
    else:
        empty: Mapping[str, Any] = {}
        given = [inputs.get(code, empty) for code in codes]
        columns = {key: [row.get(key) for row in given] for key in sheet.given_keys}
    table = Table(columns, len(codes))
    for col in sheet.derived_columns:
        columns[col.key] = evaluate_columns(_expr(col.formula), table)
    if tables is not None:
        tables[sheet.form] = table
    if by_column:
        return ColumnRows(codes, table)  # type: ignore[return-value]
    keys = list(columns)
    return {
        code: dict(zip(keys, values, strict=True))
        for code, *values in zip(codes, *columns.values(), strict=True)
    }


def form_data(
    spec: WorkbookSpec,
    inputs: Mapping[str, Rows],
    tables: dict[str, Table] | None = None,
    *,
    by_column: bool = False,
    **kw: Any,
) -> FormData:
    """:meth:`FormData.from_inputs` with each sheet's rows and 合计 computed by column (``tables``:
    where to keep each sheet's columns; ``by_column``: rows as :class:`ColumnRows`)."""
    data = FormData(spec=spec, **kw)
    tables = {} if tables is None else tables
    for sheet in spec.sheets:
        data.rows[sheet.form] = compute_rows(sheet, inputs.get(sheet.form, {}), tables, by_column=by_column)
        data.totals[sheet.form] = total_of_columns(sheet, tables[sheet.form])
    return data


def total_of_columns(sheet: SheetSpec, table: Table) -> dict[str, Any]:
    """:func:`hbreport.checks.engine.total_row` of computed rows, from their columns: the same
    :func:`~hbreport.checks.engine.aggregate`, with a column not added up passed over, a weight's
    numbers taken once for every column it weighs, and a 是/否 column counted by its distinct values."""
    columns, n = table.columns, table.n
    total: dict[str, Any] = {}
    weights: dict[str, list[float]] = {}
    for col in sheet.columns:
        f = col.field
        if f.aggregation == "derived":
            continue
        values = columns[col.key]
        if f.aggregation == "weighted_mean":
            if f.weight not in weights:
                weights[f.weight] = _numbers(columns.get(f.weight) or [None] * n)
            total[col.key] = _weighted_mean(_numbers(values), weights[f.weight])
        elif f.aggregation == "count_if":
            total[col.key] = _count_if(f, values)
        elif f.aggregation in _AGGREGATED:
            total[col.key] = aggregate(f, list(values))
        else:
            total[col.key] = None  # what aggregate gives a column not added up
    for col in sheet.columns:
        if col.field.aggregation == "derived":
            total[col.key] = _clean(_expr(col.formula).evaluate(total))
    return total


_AGGREGATED = frozenset({"sum", "min", "max", "last"})


def _numbers(values: Sequence[Any]) -> list[float]:
    """``engine._num`` of every value: the number as a float, 0.0 for anything else (a column of
    numbers alone converted at once, each as ``float`` converts it)."""
    if _NUMBER_TYPES.issuperset(map(type, values)):
        return np.array(values, dtype=float).tolist()
    return [float(v) if isinstance(v, int | float) and not isinstance(v, bool) else 0.0 for v in values]


_NUMBER_TYPES = frozenset({int, float})


def _weighted_mean(values: list[float], weights: list[float]) -> Any:
    """``aggregate``'s weighted mean of numbers taken by :func:`_numbers` (summed in the same order)."""
    denom = sum(weights)
    if denom == 0:
        return ""
    return sum(map(operator.mul, values, weights)) / denom


def _count_if(field, values: Sequence[Any]) -> int:
    """``aggregate``'s count_if, the comparison made once per distinct value (texts and blanks)."""
    want = str(field.equals).casefold()
    try:
        distinct = Counter(values)
    except TypeError:
        distinct = None
    if distinct is None or not all(v is None or type(v) is str for v in distinct):
        return aggregate(field, list(values))  # numbers or booleans: 1, 1.0 and True are one key
    return sum(k for v, k in distinct.items() if v is not None and v.strip().casefold() == want)


def failures(
    sheet: SheetSpec, rows: Mapping[str, Mapping[str, Any]], table: Table | None = None
) -> list[tuple[int, Any, str]]:
    """(row index, rule, "fail" | "invalid") for every rule not passing on a row, in row then rule
    order (as :func:`hbreport.checks.engine.check_row` gives them row by row). ``table``: the rows' columns
    when :func:`compute_rows` kept them."""
    codes = [r.code for r in sheet.rows]
    n = len(codes)
    if table is None:
        listed = [rows[code] for code in codes]
        needed = {name for rule in sheet.rules for name in rule.compiled().fields}
        table = Table({name: [row.get(name) for row in listed] for name in needed}, n)
    columns = table
    found: list[tuple[int, int, Any, str]] = []
    for order, rule in enumerate(sheet.rules):
        status = rule_statuses(rule, columns)
        for i in np.flatnonzero((status == FAIL) | (status == INVALID)).tolist():
            found.append((i, order, rule, "fail" if status[i] == FAIL else "invalid"))
    found.sort(key=lambda f: (f[0], f[1]))
    return [(i, rule, outcome) for i, _, rule, outcome in found]


def check_texts(
    sheet: SheetSpec, rows: Mapping[str, Mapping[str, Any]], table: Table | None = None
) -> dict[str, str]:
    """{row code: what its 校验结果 cell shows} ('' when every rule passes), as
    :func:`hbreport.checks.engine.check_text` gives it row by row: a number cell holding text is said first
    and alone, else every rule that does not pass."""
    codes = [r.code for r in sheet.rows]
    said: dict[int, list[str]] = {}
    for key, label in sheet.number_inputs:
        text = f"「{label}」{TEXT_IN_NUMBER}；"
        for i, code in enumerate(codes):
            if isinstance(rows[code].get(key), str):
                said.setdefault(i, []).append(text)
    parts: dict[int, list[str]] = {}
    for i, rule, outcome in failures(sheet, rows, table):
        parts.setdefault(i, []).append(rule.fail_text if outcome == "fail" else rule.invalid_text)
    return {code: "".join(said[i] if i in said else parts.get(i, ())) for i, code in enumerate(codes)}

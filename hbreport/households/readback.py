"""Cell-level reading of a roster sheet: structure, formulas, values (typed and validated), rules.

Same contract as the form reader (``hbreport.xlsx.reader``): only input and prefilled cells are read,
every value that cannot be used becomes a Finding naming the household, the cell and what to do, and
every rule runs on every row in Python. Kept lean because a province reads 1.3 million rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from openpyxl.utils import get_column_letter

from hbreport.checks import cells as cell_checks
from hbreport.checks import quote
from hbreport.checks.engine import ROW_MARK, check_template, derived_template, total_formula
from hbreport.coerce import EXACT, KIND_CHOICE, KIND_NUMBER, cell_text, plain
from hbreport.households.columns import failures
from hbreport.spec import TOTAL, Column, SheetSpec
from hbreport.xlsx.cells import _UNREAD, at, fields_in_order, normal_formula, read_cell
from hbreport.xlsx.layout import CODE_COL, FIRST_DATA_ROW, NAME_COL, TOTAL_ROW, SheetLayout
from hbreport.xlsx.reader import SheetReader, _input_plan, _planned

if TYPE_CHECKING:
    from hbreport.households.spec import RosterSpec

RULE_HINTS = {
    "error": "请核对该户数据并改正后重新报送",
    "warning": "请核实；确属实际情况的，在表下“说明”处写明原因",
}
STRUCTURE_HINT = "请勿增删行列、调换行序；请使用上级下发的原台账重新填报，或把改动恢复原样"


def _by_value(values: Sequence[Any], quick: Callable[[Any], Any]) -> tuple[list[Any], bool]:
    """(``[quick(v) for v in values]``, whether any of them is ``_UNREAD``), worked out once per distinct
    value when there are few; a column whose few values each read as the value itself (a trimmed text
    or choice, a fraction) is copied as it is. ``quick`` must give one result for values that compare
    equal across types (1, 1.0, True), as it does when it reads only text, or when the values are only
    floats and blanks."""
    try:
        distinct = set(values)
    except TypeError:  # a value that cannot be a key
        distinct = None
    if distinct is None or 2 * len(distinct) > len(values):
        got = list(map(quick, values))
        return got, _UNREAD in got
    once = {v: quick(v) for v in distinct}
    if all(v is w for v, w in once.items()):
        return list(values), False
    return list(map(once.__getitem__, values)), _UNREAD in once.values()


_FLOATS = frozenset({float, type(None)})
_STR = frozenset({str})


def _number(low: float, high: float, whole: bool) -> Callable[[Any], Any]:
    def quick(x: Any) -> Any:
        if type(x) is float and low <= x <= high and (not whole or x.is_integer()):
            return int(x) if x.is_integer() and -EXACT < x < EXACT else x
        return _UNREAD

    return quick


def _numbers(raw: Sequence[Any], low: float, high: float, whole: bool) -> tuple[list[Any], bool]:
    """(``list(map(_number(low, high, whole), raw))``, whether any is ``_UNREAD``) for a column of
    floats and blanks, by array (a blank is NaN there, outside any bounds, as ``quick`` leaves it);
    bounds a float cannot hold exactly are left to ``quick``."""
    if float(low) != low or float(high) != high:
        quick = _number(low, high, whole)
        got = list(map(quick, raw))
        return got, _UNREAD in got
    a = np.array(raw, dtype=float)
    with np.errstate(invalid="ignore"):
        integer = np.isfinite(a) & (a == np.floor(a))  # float.is_integer
        ok = (low <= a) & (a <= high)
        if whole:
            ok &= integer
        exact = integer & (-EXACT < a) & (a < EXACT)
    if exact.all():
        got = a.astype(np.int64).tolist()
    elif not exact.any():
        got = a.tolist()
    else:
        ints = np.where(exact, a, 0.0).astype(np.int64).tolist()
        got = [i if e else x for i, x, e in zip(ints, a.tolist(), exact.tolist(), strict=True)]
    unread = not ok.all()
    if unread:
        for i in np.flatnonzero(~ok).tolist():
            got[i] = _UNREAD
    return got, unread


def _texts(raw: Sequence[Any]) -> tuple[list[Any], bool]:
    """(``list(map(_text, raw))``, whether any is ``_UNREAD``): a column of texts none of them blank is
    each text stripped, at once."""
    if _STR.issuperset(map(type, raw)):
        stripped = list(map(str.strip, raw))
        if all(stripped):
            return stripped, False
    return _by_value(raw, _text)


def _choice(choices: frozenset, x: Any) -> Any:
    return x.strip() if type(x) is str and x.strip() in choices else _UNREAD


def _text(x: Any) -> Any:
    return x.strip() if type(x) is str and x.strip() else _UNREAD


def _same(got: list[Any], want: list[Any]) -> bool:
    """Every value equal to the one wanted, and of its type (the common case, found at once)."""
    return got == want and list(map(type, got)) == list(map(type, want))


def _column_shows(values: list[list[Any]], col: int, texts: list[Any]) -> bool:
    """Whether column ``col`` of the household rows holds exactly ``texts`` (one per row, each a text
    without blanks around it): then each cell's text (``cell_text(at(…))``) is that text. False does
    not say a cell differs: the caller then looks cell by cell."""
    lines = values[FIRST_DATA_ROW - 1 : FIRST_DATA_ROW - 1 + len(texts)]
    if len(lines) != len(texts) or any(len(line) < col for line in lines):
        return False
    shown = [line[col - 1] for line in lines]
    return (
        shown == texts and all(type(t) is str and t for t in texts) and list(map(str.strip, texts)) == texts
    )


class RosterSheetReader(SheetReader):
    """Reads the roster sheet of one workbook and collects findings: the form reader
    (:class:`hbreport.xlsx.reader.SheetReader`: findings, column headings, cells) with households for rows."""

    rule_hints = RULE_HINTS

    def __init__(self, path: Path, spec: RosterSpec) -> None:
        super().__init__(path, spec, registry=None)
        self.sheet = spec.sheets[0]
        self.layout = SheetLayout(self.sheet)
        self.names = {r.code: r.name for r in self.sheet.rows}

    def row_label(self, sheet: SheetSpec, household_id: str) -> str:
        if household_id == TOTAL:
            return "合计行"
        return f"「{self.names.get(household_id, '')}」户（户编号 {household_id}）"

    # -- structure

    def check_structure(self, sheet: SheetSpec, values: list[list[Any]]) -> None:
        """Headings, column codes and household ids where the spec puts them; HBError at the first difference."""
        self.check_columns(sheet, values, STRUCTURE_HINT)
        codes = [row.code for row in sheet.rows]
        if not _column_shows(values, CODE_COL, codes):
            self._check_codes(sheet, values)
        self.check_end(
            sheet,
            values,
            "台账最后一户之后多出一行「{}」：插入了行",
            "请删除多出的行；新识别的户须先录入建档立卡系统，由上级重新下发台账",
        )

    def _check_codes(self, sheet: SheetSpec, values: list[list[Any]]) -> None:
        """Each household id where the spec puts it, cell by cell: HBError at the first difference."""
        for i, row in enumerate(sheet.rows):
            r = FIRST_DATA_ROW + i
            found = cell_text(at(values, r, CODE_COL))
            if found != row.code:
                raise self.fail(
                    sheet,
                    f"B{r}",
                    f"第 {r} 行应为户编号 {row.code}（{row.name}），表中为「{found or '空'}」：台账中插入、删除或调换了行",
                    STRUCTURE_HINT,
                )

    def check_formulas(
        self,
        sheet: SheetSpec,
        cells: Mapping[tuple[int, int], Any],
        written: Mapping[tuple[int, int], tuple[bytes, str]] | None = None,
    ) -> None:
        """Derived, 合计 and 校验结果 cells must still hold their formulas. ``written``: (row, col) →
        (bytes, '=' + formula) given to ``sheet_formulas.formula_cells``, which hands back that very
        text object for a cell holding those bytes (or, with a ``RowFormulas``, its ``as_written`` for
        a cell pointing at the shared formula written): such a cell is passed without comparing texts."""
        L = self.layout
        names = {L.col_index[c.key]: c.field.label for c in sheet.columns}
        names[L.check_col] = "校验结果"
        rows = range(FIRST_DATA_ROW, L.last_data_row + 1)
        written = written or {}

        as_written = getattr(written, "as_written", None)  # a RowFormulas: see its docstring
        text = getattr(written, "text", None)

        def add_row_formulas(c: int, template: str) -> None:
            for r in rows:
                held = cells.get((r, c))
                if as_written is not None and held is as_written:
                    continue  # a shared formula, the one written
                if held is not None:
                    known = text((r, c)) if text is not None else (written.get((r, c)) or (None, None))[1]
                    if held is known:
                        continue  # the formula written, unchanged (the common case)
                expected[(r, c)] = template.replace(ROW_MARK, str(r))

        expected: dict[tuple[int, int], str] = {}
        for col in sheet.columns:
            c = L.col_index[col.key]
            expected[(TOTAL_ROW, c)] = total_formula(L, col)
            if col.role == "derived":
                add_row_formulas(c, derived_template(L, col))
        add_row_formulas(L.check_col, check_template(L))
        for (r, c), formula in expected.items():
            held = cells.get((r, c))
            if (
                type(held) is str
                and held[:1] == "="
                and len(held) == len(formula) + 1
                and held.endswith(formula)
            ):
                continue  # the formula written, unchanged (the common case)
            cell = f"{get_column_letter(c)}{r}"
            who = "合计行" if r == TOTAL_ROW else self.row_label(sheet, sheet.rows[r - FIRST_DATA_ROW].code)
            what = f"{who}的「{names[c]}」"
            if isinstance(held, str) and held.startswith("="):
                if held[1:] != formula and normal_formula(formula) != normal_formula(held):
                    self.report(
                        sheet, cell, cell_checks.FORMULA_CHANGED, what=what, formula=quote(held), doc="台账"
                    )
                continue
            how = "删除" if held in (None, "") else f"改成了直接键入的「{quote(cell_text(held))}」"
            self.report(sheet, cell, cell_checks.FORMULA_REPLACED, what=what, how=how, doc="台账")

    # -- values

    def check_prefill(
        self, sheet: SheetSpec, household_id: str, column: Column, cell: str, value: Any, expected: Any
    ) -> Any:
        """A prefilled cell must still hold what the export gave; the export is what counts."""
        if plain(value) == plain(expected):
            return expected
        self.report(
            sheet,
            cell,
            cell_checks.PREFILL_CHANGED,
            what=f"{self.row_label(sheet, household_id)}的「{column.field.label}」",
            kind="值",
            expected=plain(expected) or "空白",
            shown="空白" if value is None else quote(plain(value)),
            fix="请在建档立卡系统中更正后由上级重新下发台账",
        )
        return expected

    def read_columns(
        self, sheet: SheetSpec, grid: list[list[Any]], prefill: Mapping[str, Sequence[Any]], **cells: Any
    ) -> dict[str, list[Any]]:
        """:meth:`read_values` by column: {field: one value per household, in row order}. ``prefill``:
        the export's prefilled values by column, {field: one value per row} (:func:`prefill_columns`),
        each compared whole with the column read. The quick path of :func:`hbreport.xlsx.cells.read_rows`
        is taken a column at a time; the cells it leaves, and prefilled values differing from the export's,
        are then read one by one as ``read_rows`` reads them, in row then column order, so the findings
        come in the same order. ``cells``: ``held`` and ``errors`` as read_values takes them."""
        plan = _planned("inputs", sheet, _input_plan)
        ctx = self.cells(sheet, cells.get("held") or {}, cells.get("errors"))
        codes = [r.code for r in sheet.rows]
        n = len(codes)
        if any(len(values) != n for values in prefill.values()):
            raise ValueError("the prefilled columns must have a value for every row of the sheet")
        lines = grid[FIRST_DATA_ROW - 1 : FIRST_DATA_ROW - 1 + n]
        lines += [()] * (n - len(lines))
        widths = {len(line) for line in lines}
        by_column = list(zip(*lines, strict=True)) if len(widths) == 1 else None  # calamine: all as wide
        blank = [None] * n
        columns: dict[str, list[Any]] = {}
        raws: list[Sequence[Any]] = []
        later: list[tuple[int, int]] = []  # (household, plan entry) to read one by one
        for p, (column, c, kind, low, high, whole, choices) in enumerate(plan):
            j = c - 1
            if by_column is None:
                raw: Sequence[Any] = [line[j] if j < len(line) else None for line in lines]
            else:
                raw = by_column[j] if j < len(by_column) else blank
            if kind is KIND_NUMBER:  # a finite float within bounds, whole for counts
                if _FLOATS.issuperset(map(type, raw)):
                    got, unread = _numbers(raw, low, high, whole)
                else:
                    got = list(map(_number(low, high, whole), raw))
                    unread = _UNREAD in got
            elif kind is KIND_CHOICE:  # a handful of distinct values: each looked at once
                got, unread = _by_value(raw, partial(_choice, choices))
            else:
                got, unread = _texts(raw)
            if unread:
                later += [(i, p) for i, v in enumerate(got) if v is _UNREAD]
            if column.role == "prefill" and not _same(got, want := prefill.get(column.key, blank)):
                later += [
                    (i, p)
                    for i, (v, w) in enumerate(zip(got, want, strict=True))
                    if v is not _UNREAD and not (type(v) is type(w) and v == w)
                ]
            columns[column.key] = got
            raws.append(raw)
        for i, p in sorted(later):
            column, c = plan[p][0], plan[p][1]
            r, got = FIRST_DATA_ROW + i, columns[column.key]
            if got[i] is not _UNREAD:  # a prefilled value that is not the export's
                cell = f"{get_column_letter(c)}{r}"
                got[i] = ctx.check_prefill(codes[i], column, cell, got[i], prefill.get(column.key, blank)[i])
                continue
            raw = raws[p][i]
            if (raw is None or raw == "") and column.role == "input" and (r, c) not in ctx.errors:
                typed = ctx.held.get((r, c))
                if not (type(typed) is str and typed[:1] == "="):
                    got[i] = None
                    continue
            got[i] = read_cell(ctx, codes[i], column, r, c, raw, {k: v[i] for k, v in prefill.items()})
        return columns

    def check_names(self, sheet: SheetSpec, values: list[list[Any]], expected: Mapping[str, str]) -> None:
        if _column_shows(values, NAME_COL, list(map(expected.get, (row.code for row in sheet.rows)))):
            return  # every name as the export gives it
        for i, row in enumerate(sheet.rows):
            r = FIRST_DATA_ROW + i
            shown = cell_text(at(values, r, NAME_COL))
            want = expected.get(row.code)
            if want is not None and shown != want:
                self.report(
                    sheet,
                    f"A{r}",
                    cell_checks.PREFILL_CHANGED,
                    what=f"户编号 {row.code} 的「户主姓名」",
                    kind="户主姓名",
                    expected=want,
                    shown=quote(shown) or "空白",
                    fix="请在建档立卡系统中更正后由上级重新下发台账",
                )

    # -- rules

    def check_rules(self, sheet: SheetSpec, rows: Mapping[str, Mapping[str, Any]], table=None) -> None:
        """Every rule by column over the households (``table``: their columns, when already made)."""
        L = self.layout
        order: dict[str, list[str]] = {}  # each failing rule's cells, in the order of its expression
        for i, rule, status in failures(sheet, rows, table):
            r = FIRST_DATA_ROW + i
            keys = order.get(rule.id)
            if keys is None:
                keys = order[rule.id] = [k for k in fields_in_order(rule) if k in L.col_index]
            cells = [f"{L.col_letter(k)}{r}" for k in keys]
            self.add_rule(sheet, sheet.rows[i].code, rule, status, cells)

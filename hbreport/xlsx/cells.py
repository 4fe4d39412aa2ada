"""Opening a workbook's bytes, reading its cell values (:func:`read_rows`: input and prefilled cells
through the one coercion, :mod:`hbreport.coerce`) and naming the cells of a rule's finding: what the
form reader (``hbreport.xlsx.reader``) and the roster reader (``hbreport.households``) share.

Values come from a python-calamine grid (a list of rows, each a list of cell values, "" for an empty
cell); openpyxl (read-only) opens a package only where formulas must be read and the sheet XML is
written an unusual way. Failures raise :class:`HBError` naming the file and what to do.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import python_calamine
from openpyxl.utils import get_column_letter

from hbreport.checks.xlsemantics import XLError
from hbreport.coerce import EXACT, KIND_CHOICE, KIND_NUMBER, coerce, error_code
from hbreport.coerce import plan as coerce_plan
from hbreport.errors import HBError
from hbreport.xlsx import safety

if TYPE_CHECKING:
    from hbreport.checks.rules import Rule


def open_calamine(path: Path, data: bytes):
    """The workbook ``data`` (the bytes of ``path``) opened with python-calamine."""
    try:
        return python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    except python_calamine.PasswordError:
        raise HBError(
            "工作簿设置了打开密码，无法读取", file=path, hint="请取消打开密码后重新保存再报送"
        ) from None
    except (python_calamine.CalamineError, ValueError) as exc:
        raise HBError(f"工作簿内容无法解析（{exc}）", file=path, hint=safety.RESEND_HINT) from None


def calamine_sheet(path: Path, book, name: str, too_many_rows_hint: str):
    """The sheet ``name`` of a calamine ``book`` (it must be there), refused past ``safety.MAX_ROWS`` rows."""
    try:
        ws = book.get_sheet_by_name(name)
    except python_calamine.CalamineError as exc:
        raise HBError(f"工作表无法读取（{exc}）", file=path, sheet=name, hint=safety.RESEND_HINT) from None
    if ws.height > safety.MAX_ROWS:
        raise HBError(
            f"工作表有 {ws.height} 行，超过上限 {safety.MAX_ROWS} 行",
            file=path,
            sheet=name,
            hint=too_many_rows_hint,
        )
    return ws


def open_openpyxl(path: Path, data: bytes):
    """The workbook ``data`` (the bytes of ``path``) opened with openpyxl, read-only, formulas as text."""
    from openpyxl import load_workbook

    try:
        return load_workbook(io.BytesIO(data), read_only=True, data_only=False, keep_links=False)
    except Exception as exc:  # openpyxl raises many types on malformed parts
        raise HBError(
            f"工作簿内容无法解析（{type(exc).__name__}: {exc}）", file=path, hint=safety.RESEND_HINT
        ) from None


def at(values: list[list[Any]], row: int, col: int) -> Any:
    """The value at 1-based (row, col) of a calamine grid; None for an empty cell."""
    if row - 1 >= len(values):
        return None
    line = values[row - 1]
    if col - 1 >= len(line):
        return None
    value = line[col - 1]
    return None if value == "" else value


@lru_cache(maxsize=1 << 15)  # the same formula texts recur in every workbook of a form
def normal_formula(text: str) -> str:
    """Formula text compared loosely: no '=', no _xlfn. prefixes, no blanks, upper case, TRUE() as TRUE
    (LibreOffice writes TRUE() and FALSE(), and lower-cases unknown function names)."""
    text = text.lstrip("=")
    text = re.sub(r"_xlfn\.|_xlws\.", "", text, flags=re.IGNORECASE)
    text = re.sub(r"\s+", "", text).upper()
    return text.replace("TRUE()", "TRUE").replace("FALSE()", "FALSE")


def fields_in_order(rule: Rule) -> list[str]:
    """The rule's fields in the order they first appear in its expression (the cells its finding names)."""
    text = rule.expr
    positions = {}
    for key in rule.compiled().fields:
        m = re.search(rf"(?<![\w.]){re.escape(key)}(?!\w)", text)
        positions[key] = m.start() if m else len(text)
    return sorted(positions, key=lambda k: (positions[k], k))


_UNREAD = object()  # a cell the quick path leaves to :func:`hbreport.coerce.coerce`

#: per input or prefill column: (column, sheet column, *``coerce.plan(column.field)``)
InputPlan = tuple[tuple[Any, int, str, float, float, bool, frozenset], ...]


def input_plan(sheet: Any, col_index: Mapping[str, int]) -> InputPlan:
    """What a reader takes at once from each input and prefill column of ``sheet``."""
    return tuple(
        (column, col_index[column.key], *coerce_plan(column.field))
        for column in sheet.columns
        if column.role != "derived"
    )


@dataclass(frozen=True)
class CellContext:
    """What reading a sheet's cells needs besides the grid: ``held``, (row, col) → a formula typed into
    the cell ('=…'); ``errors``, (row, col) → the error value a cell holds (python-calamine reads it as
    empty); ``label(code)`` names a row; ``add(cell, message, code, hint, importance)`` records a finding;
    ``check_prefill(code, column, cell, value, expected)`` gives the value used for a prefilled cell."""

    held: Mapping[tuple[int, int], Any]
    errors: Mapping[tuple[int, int], str]
    label: Callable[[str], str]
    add: Callable[[str, str, str, str, str], None]
    check_prefill: Callable[[str, Any, str, Any, Any], Any]


def read_cell(ctx: CellContext, code: str, column: Any, r: int, c: int, raw: Any, expected_row: Any) -> Any:
    """One input or prefilled cell through :func:`hbreport.coerce.coerce`, with a finding for what
    makes its value unusable."""
    cell = f"{get_column_letter(c)}{r}"
    if raw == "":
        raw = None
    typed = ctx.held.get((r, c)) if raw is None else None
    formula = typed if isinstance(typed, str) and typed.startswith("=") else None
    error = ctx.errors.get((r, c))
    if raw is None and formula is None and error is None:
        error = error_code(typed)  # a package read by openpyxl: an error value is its text
    if error is not None and raw is None:
        raw = XLError(error)
    value, issue = coerce(raw, column.field, formula)
    if issue is not None:
        what = f"{ctx.label(code)}的「{column.field.label}」"
        ctx.add(cell, issue.message(what), issue.code, issue.hint, issue.importance)
    if column.role == "prefill" and expected_row is not None:
        expected = expected_row.get(column.key)
        if issue is not None and expected is not None:
            return expected  # already reported as unusable; the prefilled value is what counts
        return ctx.check_prefill(code, column, cell, value, expected)
    return value


def read_rows(
    values: list[list[Any]],
    first_row: int,
    row_codes: Sequence[str],
    plan: InputPlan,
    prefill: Mapping[str, Mapping[str, Any]],
    ctx: CellContext,
) -> dict[str, dict[str, Any]]:
    """{row code: {field: value}} for the input and prefill cells of a form's or roster's rows: the one
    reading of cells that forms and rosters share.

    A plainly usable value (a number within bounds, a listed choice, text) is taken at once; every other
    cell goes through :func:`read_cell`. A row with ``prefill[code]`` has its prefilled cells held to it."""
    held, errors = ctx.held, ctx.errors
    out: dict[str, dict[str, Any]] = {}
    for i, code in enumerate(row_codes):
        r = first_row + i
        line = values[r - 1] if r - 1 < len(values) else ()
        width = len(line)
        expected_row = prefill.get(code)
        row: dict[str, Any] = {}
        for column, c, kind, low, high, whole, choices in plan:
            raw = line[c - 1] if c - 1 < width else None
            if kind is KIND_NUMBER:
                # a finite float within bounds (NaN and infinity fail the comparison), whole for counts
                if type(raw) is float and low <= raw <= high and (not whole or raw.is_integer()):
                    value = int(raw) if raw.is_integer() and -EXACT < raw < EXACT else raw
                else:
                    value = _UNREAD
            elif kind is KIND_CHOICE:
                value = raw.strip() if type(raw) is str and raw.strip() in choices else _UNREAD
            else:
                value = raw.strip() if type(raw) is str and raw.strip() else _UNREAD
            if value is _UNREAD:
                if (raw is None or raw == "") and column.role == "input" and (r, c) not in errors:
                    typed = held.get((r, c))
                    if not (type(typed) is str and typed[:1] == "="):
                        row[column.key] = None
                        continue
                row[column.key] = read_cell(ctx, code, column, r, c, raw, expected_row)
                continue
            if expected_row is not None and column.role == "prefill":
                expected = expected_row.get(column.key)
                if not (type(value) is type(expected) and value == expected):
                    value = ctx.check_prefill(code, column, f"{get_column_letter(c)}{r}", value, expected)
            row[column.key] = value
        out[code] = row
    return out

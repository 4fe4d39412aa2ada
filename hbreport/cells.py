"""Opening a workbook's bytes, reading its cell values and naming the cells of a rule's finding: what
the form reader (``hbreport.reader``) and the roster reader (``hbreport.households``) share.

Values come from a python-calamine grid (a list of rows, each a list of cell values, "" for an empty
cell); openpyxl (read-only) opens a package only where formulas must be read and the sheet XML is
written an unusual way. Failures raise :class:`HBError` naming the file and what to do.
"""

from __future__ import annotations

import io
import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import python_calamine

from . import safety
from .errors import HBError

if TYPE_CHECKING:
    from .rules import Rule

EXACT = 2**53  # every whole number below this size is exact as a float


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


def cell_text(value: Any) -> str:
    """A cell value as text; whole numbers without '.0' (codes and years are often stored as numbers)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def plain(value: Any, limit: float = EXACT) -> str:
    """A number as a person writes it: 12 not 12.0. A whole float of ``limit`` or more keeps Python's
    form (1e+17); the roster reader passes ``math.inf`` and so writes every whole float in digits."""
    if isinstance(value, float) and value.is_integer() and abs(value) < limit:
        return str(int(value))
    return "" if value is None else str(value)


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

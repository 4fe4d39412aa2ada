"""One coercion of a raw cell to a field's value, for every path that reads cells: the form reader
(:mod:`hbreport.xlsx.reader`), the roster reader (:mod:`hbreport.households.readback`) and the xlwings
functions (:mod:`hbreport.xl.core`).

A raw cell is what a spreadsheet holds: None or "" (empty), a float, a bool, text, a date or time, or a
spreadsheet error (:class:`~hbreport.checks.xlsemantics.XLError`, ``#N/A`` pasted as a value or a formula's
result). :func:`coerce` gives the value the field takes, or None with a :class:`CellIssue` naming the
registered check (:mod:`hbreport.checks.values`) that says what is wrong. :func:`plan` gives what a
reader may take at once without asking (a number within bounds, a listed choice, text): the same bounds.

Pure Python (no file formats): the xlwings Lite bundle carries it too.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import sys
import unicodedata
from typing import Any

from hbreport.checks.registry import quote, registered
from hbreport.checks.values import (
    BAD_CHOICE,
    DATE,
    DECIMAL,
    ERROR_VALUE,
    FORMULA_ERROR,
    FORMULA_UNSAVED,
    FULL_WIDTH,
    LOGICAL,
    NEGATIVE,
    NOT_FINITE,
    NUMBER_AS_TEXT,
    OUT_OF_RANGE,
    SPACES,
    TEXT,
)
from hbreport.checks.xlsemantics import ERROR_CODES, XLError

EXACT = 2**53  # every whole number below this size is exact as a float
COUNT_MAX = 99_999_999  # what a count cell takes where its field sets no max (the form's data validation too)
KIND_NUMBER, KIND_CHOICE, KIND_TEXT = "number", "choice", "text"


def cell_text(value: Any) -> str:
    """A cell value as text; whole numbers without '.0' (codes and years are often stored as numbers)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def plain(value: Any, limit: float = EXACT) -> str:
    """A number as a person writes it: 12 not 12.0 (a whole float of ``limit`` or more keeps 1e+17)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < limit:
        return str(int(value))
    return "" if value is None else str(value)


def error_code(value: Any) -> str | None:
    """The spreadsheet error ``value`` stands for (``#N/A``): an XLError, or text that is exactly an
    error code, as openpyxl and xlwings hand over an error cell; None for anything else."""
    if isinstance(value, XLError):
        return value.code
    if isinstance(value, str) and value.strip().upper() in ERROR_CODES:
        return value.strip().upper()
    return None


def bounds(field: Any) -> tuple[float | None, float]:
    """(lowest, highest) value a numeric field takes: its own min/max; without a max, what the form's
    data validation allows for a count, and what a float holds exactly for an amount."""
    high = field.max if field.max is not None else COUNT_MAX if field.type == "integer" else EXACT
    return field.min, high


def plan(field: Any) -> tuple[str, float, float, bool, frozenset[str]]:
    """(kind, low, high, whole, choices): a reader takes at once a float in [low, high] (whole for a
    count), a listed choice or non-blank text; everything else goes through :func:`coerce`."""
    if field.type == "choice":
        return KIND_CHOICE, 0.0, 0.0, False, frozenset(c for c in field.choices if c)
    if field.type == "text":
        return KIND_TEXT, 0.0, 0.0, False, frozenset()
    low, high = bounds(field)
    low = -sys.float_info.max if low is None else float(low)
    return KIND_NUMBER, low, min(float(high), sys.float_info.max), field.type == "integer", frozenset()


class CellIssue:
    """Why a cell's value cannot be used (or, for a warning, was taken as blank): a registered check
    and the fields of its message."""

    __slots__ = ("code", "fields")

    def __init__(self, code: str, **fields: Any) -> None:
        self.code = code
        self.fields = fields

    @property
    def importance(self) -> str:
        return registered(self.code).importance

    def message(self, what: str) -> str:
        """The message, ``what`` naming the cell as the reader does (「城关镇」（420102001）行的「…」)."""
        return registered(self.code).message(what=what, **self.fields)

    @property
    def hint(self) -> str:
        return registered(self.code).hint_text(**self.fields)

    def __repr__(self) -> str:
        return f"CellIssue({self.code!r}, {self.fields!r})"


def coerce(raw: Any, field: Any, formula: str | None = None) -> tuple[Any, CellIssue | None]:
    """``raw`` as ``field``'s value: (value, None), or (None, issue) when it cannot be used.

    ``formula``: the formula the cell holds, when a clerk typed one into an input cell (its saved result
    is ``raw``; None or "" means the file holds no result). ``field`` needs type, min, max, choices, unit."""
    if isinstance(raw, XLError):
        if formula:
            return None, CellIssue(FORMULA_ERROR, formula=quote(formula), text=raw.code)
        return None, CellIssue(ERROR_VALUE, text=raw.code)
    if raw is None or raw == "":
        if formula:
            return None, CellIssue(FORMULA_UNSAVED, formula=quote(formula))
        return None, None
    if isinstance(raw, str) and not raw.strip():
        return None, CellIssue(SPACES)
    kind = field.type
    if kind == "text":
        return cell_text(raw), None
    if kind == "choice":
        text = str(raw).upper() if isinstance(raw, bool) else cell_text(raw)
        if text in field.choices:
            return text, None
        choices = [c for c in field.choices if c]
        return None, CellIssue(
            BAD_CHOICE,
            text=quote(text),
            choices="、".join(choices),
            options="或".join(f"“{c}”" for c in choices),
        )
    unit = f"（{field.unit}）" if field.unit and field.unit != "%" else ""
    if isinstance(raw, bool):
        return None, CellIssue(LOGICAL, unit=unit, text=str(raw).upper())
    if isinstance(raw, dt.date | dt.datetime | dt.time | dt.timedelta):
        shown = raw.isoformat() if hasattr(raw, "isoformat") else str(raw)
        return None, CellIssue(DATE, unit=unit, text=shown)
    if isinstance(raw, str):
        return None, _text_in_number(raw, unit)
    if not isinstance(raw, int | float):
        return None, CellIssue(TEXT, unit=unit, text=quote(raw))
    value = int(raw) if isinstance(raw, float) and raw.is_integer() and abs(raw) < EXACT else raw
    return _checked_number(value, field)


def exported(raw: Any, field: Any, aliases: dict[str, str] | None = None) -> tuple[Any, CellIssue | None]:
    """A value of an exported table (a CSV's text or an XLSX cell) as ``field``'s value, by :func:`coerce`:
    in a number field, text that is a plain number (``3,218.5``: a CSV holds nothing else) is that
    number; a choice is compared in its half-width form (（五保） is (五保)) after ``aliases`` (another
    system's word for a listed choice)."""
    if isinstance(raw, str):
        text = raw.strip()
        if field.type == "choice":
            text = unicodedata.normalize("NFKC", text)
            raw = (aliases or {}).get(text, text)
        elif field.type != "text":
            number = text.replace(",", "")
            if _NUMBER_TEXT.fullmatch(number) and not number.endswith("%"):
                value = float(number)
                raw = int(value) if value.is_integer() and abs(value) < EXACT else value
    return coerce(raw, field)


def _text_in_number(raw: str, unit: str) -> CellIssue:
    text = raw.strip()
    ascii_text = unicodedata.normalize("NFKC", text).replace(",", "").strip()
    if _NUMBER_TEXT.fullmatch(ascii_text):
        if ascii_text != text.replace(",", ""):
            return CellIssue(FULL_WIDTH, text=quote(text))
        return CellIssue(NUMBER_AS_TEXT, text=quote(text))
    return CellIssue(TEXT, unit=unit, text=quote(text))


_NUMBER_TEXT = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?%?")


def _checked_number(value: int | float, field: Any) -> tuple[Any, CellIssue | None]:
    low, high = bounds(field)
    if isinstance(value, float) and not math.isfinite(value):
        return None, CellIssue(NOT_FINITE, text=str(value))
    if low is not None and low >= 0 and value < 0:
        return value, CellIssue(NEGATIVE, text=plain(value))
    if field.type == "integer" and isinstance(value, float) and not value.is_integer():
        return value, CellIssue(DECIMAL, unit_word=field.unit or "个", text=str(value))
    if (low is not None and value < low) or value > high:
        allowed = (
            f"允许范围（{'' if low is None else plain(low)}—{plain(high)}{field.unit}）"
            if high < EXACT
            else "数值能精确表示的范围"
        )
        return value, CellIssue(OUT_OF_RANGE, text=plain(value), allowed=allowed)
    return value, None

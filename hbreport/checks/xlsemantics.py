"""Spreadsheet value semantics in Python, matching LibreOffice Calc 7.4 (and Excel where they agree).

Values are ``None`` (a blank cell), ``bool``, ``float``, ``str`` or :class:`XLError`. A field that
stands for a column is a :class:`Ref` of several cells. Every function here returns an
``XLError`` instead of raising.

What the tests established about LibreOffice, and where Excel differs:

- Text in arithmetic is converted when it is an unambiguous number: ``"12"``, ``" 12 "``,
  ``"1,000"``, ``"1e3"``, ``"50%"``, ``"TRUE"`` (1), ISO dates ``"2016-01-01"`` (a day serial).
  ``"12a"``, ``"  "``, ``""``, full-width digits ``"１２"`` and an exponent with a percent sign
  (``"1e3%"``) give ``#VALUE!``. Text beyond the largest number (``"1e999"``, ``"-1e999"`` too)
  reads as the largest number, 1.7976931348623157e308; text below the smallest normal number
  (``"1e-310"``) reads as 0. LibreOffice also
  reads locale forms (``"$5"``, ``"(5)"``, ``"5-"``, ``"12:30"``, ``"1 1/2"``, ``"01/02/2016"``);
  here those give ``#VALUE!``.
- Booleans are numbers: ``TRUE = 1`` is TRUE, ``ISNUMBER(TRUE)`` is TRUE, MIN/SUM/COUNT count
  boolean cells (Excel says FALSE, FALSE and ignores them).
- Comparisons never convert: a number is less than any text, a blank compares as 0 with a
  number and as ``""`` with text; text compares case-insensitively (``"ABC" = "abc"``, but
  ``"１２" <> "12"``). Ordering of text (``<``) approximates LibreOffice's collator (punctuation,
  then digits, then Latin letters, then other scripts such as Chinese, by code point).
- Numbers compare and add with LibreOffice's tolerance (``0.1 + 0.2 = 0.3`` is TRUE,
  ``0.1 + 0.2 - 0.3`` is 0); ROUND rounds half away from zero on the 15-digit value.
- Errors: an error computed inside an argument wins over a problem met while converting one
  (a cell holding an error, or text that is no number): ``"a" + 1/0`` is ``#DIV/0!`` (Excel:
  ``#VALUE!``); a problem in a cell wins over text given directly; otherwise the leftmost
  wins. MOD checks its divisor first. When two different errors meet in one formula,
  LibreOffice's choice depends on details of its evaluation stack that are not copied here, so
  the error code may differ (both sides still give an error).
- MIN/MAX/SUM given text directly (not through a cell) give ``#VALUE!`` in LibreOffice; AND/OR
  given text directly give ``#VALUE!`` even for ``"TRUE"`` (Excel accepts both). A field passed
  on by IF or IFERROR still counts as a cell.
- LEN of a number uses the number's text, which agrees with LibreOffice for numbers of at most
  15 significant digits from 0.0001 up to 10^15.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
import re
import sys
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

ERROR_CODES = ("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A")


@dataclass(frozen=True)
class XLError:
    """A spreadsheet error value such as ``#DIV/0!``; equal when the codes are equal."""

    code: str

    def __post_init__(self) -> None:
        if self.code not in ERROR_CODES:
            raise ValueError(f"unknown spreadsheet error code {self.code!r}")

    def __str__(self) -> str:
        return self.code


VALUE = XLError("#VALUE!")
DIV0 = XLError("#DIV/0!")
NUM = XLError("#NUM!")
NA = XLError("#N/A")

Value = None | bool | float | str | XLError


class Ref(NamedTuple):
    """The cells a field name refers to: one cell, or a column for aggregates."""

    cells: tuple[Value, ...]


_EXCEL_EPOCH = dt.date(1899, 12, 30)
_E48 = 2.0**-48


def is_blank(value: Any) -> bool:
    """A blank cell: None, or NaN (how pandas marks a missing value)."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def from_python(value: Any) -> Value:
    """Turn a value read from a workbook (or given by a caller) into a cell value."""
    if is_blank(value):
        return None
    if isinstance(value, bool | str | XLError):
        return value
    if isinstance(value, numbers.Real | Decimal):
        try:
            as_float = float(value)
        except OverflowError:
            return NUM
        return as_float if math.isfinite(as_float) else NUM
    if isinstance(value, dt.datetime):
        delta = value - dt.datetime(1899, 12, 30, tzinfo=value.tzinfo)
        return delta.days + delta.seconds / 86400 + delta.microseconds / 86400e6
    if isinstance(value, dt.date):
        return float((value - _EXCEL_EPOCH).days)
    if isinstance(value, dt.time):
        return (value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6) / 86400
    raise TypeError(f"not a spreadsheet value: {value!r}")


def to_python(value: Value) -> Any:
    """What a formula cell holding ``value`` shows: blank as 0, whole numbers as ``int``."""
    if value is None:
        return 0
    if isinstance(value, float):
        if not math.isfinite(value):
            return NUM
        if value.is_integer() and abs(value) < 2**53:
            return int(value)
    return value


def number(value: float) -> float | XLError:
    """A computed number, or ``#NUM!`` when it overflowed."""
    return value if math.isfinite(value) else NUM


# --- text to number ------------------------------------------------------------------

_SPACES = " \u00a0"
_NUMBER = re.compile(
    r"""(?P<sign>[+-]?)[ \u00a0]*
        (?P<body>(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]*)?|\.[0-9]+)
        (?P<exp>[eE][+-]?[0-9]+)?
        [ \u00a0]*(?P<pct>%?)""",
    re.VERBOSE,
)
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})")


def text_to_number(text: str) -> float | None:
    """The number a text stands for when used in arithmetic, or None (see module notes)."""
    stripped = text.strip(_SPACES)
    upper = stripped.upper()
    if upper in ("TRUE", "FALSE"):
        return 1.0 if upper == "TRUE" else 0.0
    match = _NUMBER.fullmatch(stripped)
    if match:
        body = match["body"].replace(",", "")
        if match["exp"] and ("," in match["body"] or match["pct"]):
            return None
        value = float(body + (match["exp"] or ""))
        if math.isinf(value):
            return sys.float_info.max  # LibreOffice 7.4: the largest number, whatever the sign
        if value < sys.float_info.min:
            value = 0.0  # below the smallest normal number: LibreOffice reads 0
        if match["pct"]:
            value /= 100
        return -value if match["sign"] == "-" else value
    match = _ISO_DATE.fullmatch(stripped)
    if match:
        try:
            day = dt.date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            return None
        return float((day - _EXCEL_EPOCH).days)
    return None


# --- conversions ---------------------------------------------------------------------


def scalar(value: Value | Ref) -> Value:
    """One cell's value; a multi-cell reference used where one value is needed is ``#VALUE!``."""
    if isinstance(value, Ref):
        return value.cells[0] if len(value.cells) == 1 else VALUE
    return value


def to_number(value: Value | Ref) -> float | XLError:
    """Value as a number for arithmetic: blank is 0, TRUE is 1, text is converted or ``#VALUE!``."""
    value = scalar(value)
    if value is None:
        return 0.0
    if isinstance(value, XLError):
        return value
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, str):
        converted = text_to_number(value)
        return VALUE if converted is None else converted
    return value


def to_bool(value: Value | Ref) -> bool | XLError:
    """Value as a condition (IF, NOT): blank is FALSE, numbers are TRUE unless 0."""
    converted = to_number(value)
    return converted if isinstance(converted, XLError) else converted != 0


def _is_representable_integer(x: float) -> bool:
    return x < 2**53 and x.is_integer()


def approx_equal(a: float, b: float) -> bool:
    """LibreOffice's ``rtl::math::approxEqual``: equal but for the last 4 bits of precision."""
    if a == b:
        return True
    if a == 0.0 or b == 0.0 or math.copysign(1, a) != math.copysign(1, b):
        return False
    diff = abs(a - b)
    if not math.isfinite(diff):
        return False
    a, b = abs(a), abs(b)
    if diff >= a * _E48 or diff >= b * _E48:
        return False
    return not (_is_representable_integer(a) and _is_representable_integer(b))


_APPROX_LIMIT = 2.0**41  # approx_value leaves numbers above this as they are


def approx_value(x: float) -> float:
    """``x`` rounded to 15 significant digits, as LibreOffice's ``rtl::math::approxValue``."""
    if x == 0.0 or not math.isfinite(x) or x > _APPROX_LIMIT:
        return x
    magnitude = abs(x)
    fraction_bits = magnitude.as_integer_ratio()[1].bit_length() - 1
    if _is_representable_integer(magnitude) or fraction_bits <= 11:
        return x
    exponent = 14 - math.floor(math.log10(magnitude))
    if abs(exponent) > 308:
        return x  # near the smallest normal number: 10^exponent is infinite, as LibreOffice bails out
    scale = 10.0 ** abs(exponent)
    scaled = magnitude * scale if exponent >= 0 else magnitude / scale
    if not math.isfinite(scaled):
        return x
    scaled = math.floor(scaled + 0.5)  # std::round on a positive number
    result = scaled / scale if exponent >= 0 else scaled * scale
    return math.copysign(result, x) if math.isfinite(result) else x


def approx_floor(x: float) -> float:
    """``floor(approx_value(x))``."""
    if 0.0 < x <= _APPROX_LIMIT:
        whole = math.floor(x)
        # approx_value moves x by less than 1e-14 of it (15 significant digits, then float rounding)
        # and never below the integer under it: with the next integer further away, nothing to do
        if whole + 1 - x > x * 1e-13:
            return float(whole)
    return float(math.floor(approx_value(x)))


def round_half_away(x: float, places: int) -> float:
    """LibreOffice's ``rtl::math::round`` (corrected mode): half away from zero on the 15-digit value."""
    if x == 0.0 or not math.isfinite(x):
        return x
    magnitude = abs(x)
    if places >= 0 and (magnitude >= 2.0**52 or _is_representable_integer(magnitude)):
        return x
    scale = 1.0
    if places != 0:
        if places > 0:
            places = min(places, 53 - math.frexp(magnitude)[1])  # decimals the precision holds
        if abs(places) > 308:
            return 0.0 if places < 0 else x
        scale = 10.0 ** abs(places)
        magnitude = magnitude / scale if places < 0 else magnitude * scale
        if not math.isfinite(magnitude):
            return x
    if magnitude < 2.0**52:
        magnitude = approx_floor(magnitude + 0.5)
    if places != 0:
        magnitude = magnitude * scale if places < 0 else magnitude / scale
    return math.copysign(magnitude, x) if math.isfinite(magnitude) else x


# --- operators -----------------------------------------------------------------------


def add(a: float, b: float) -> float | XLError:
    if (a < 0 < b or b < 0 < a) and approx_equal(a, -b):
        return 0.0
    return number(a + b)


def subtract(a: float, b: float) -> float | XLError:
    if (a < 0 and b < 0 or a > 0 and b > 0) and approx_equal(a, b):
        return 0.0
    return number(a - b)


def multiply(a: float, b: float) -> float | XLError:
    return number(a * b)


def divide(a: float, b: float) -> float | XLError:
    return DIV0 if b == 0 else number(a / b)


ARITHMETIC = {"+": add, "-": subtract, "*": multiply, "/": divide}


def compare(a: Value, b: Value, equality: bool = False) -> int | XLError:
    """-1, 0 or 1 as LibreOffice orders two cell values (numbers before text, no conversion).

    Text is equal when equal but for case (``equality=True``, for = and <>); for ordering it is
    compared by :func:`collation_key`, which also ignores width (``"１２"`` is neither less nor
    greater than ``"12"``).
    """
    for value in (a, b):
        if isinstance(value, XLError):
            return value
    if a is None and b is None:
        return 0
    if a is None:
        a = "" if isinstance(b, str) else 0.0
    if b is None:
        b = "" if isinstance(a, str) else 0.0
    a_text, b_text = isinstance(a, str), isinstance(b, str)
    if a_text and b_text:
        if equality:
            return 0 if a.lower() == b.lower() else 1
        left, right = collation_key(a), collation_key(b)
        return 0 if left == right else (-1 if left < right else 1)
    if a_text != b_text:
        return 1 if a_text else -1
    left, right = float(a), float(b)
    if approx_equal(left, right):
        return 0
    return -1 if left < right else 1


def _script_group(char: str) -> int:
    category = unicodedata.category(char)
    if category[0] in "ZPSC":
        return 0  # spaces, punctuation, symbols
    if category[0] == "N":
        return 1
    return 2 if ord(char) < 0x0530 else 3  # Latin, Greek, Cyrillic before other scripts (CJK …)


def collation_key(text: str) -> tuple:
    """Sort key close to LibreOffice's collator: letters first, then accents; case and width ignored."""
    folded = unicodedata.normalize("NFKD", text.lower())
    letters = tuple((_script_group(c), c) for c in folded if not unicodedata.combining(c))
    return letters, folded


COMPARISONS = {
    "=": lambda c: c == 0,
    "<>": lambda c: c != 0,
    "<": lambda c: c < 0,
    "<=": lambda c: c <= 0,
    ">": lambda c: c > 0,
    ">=": lambda c: c >= 0,
}


# --- functions -----------------------------------------------------------------------
# Each takes already evaluated arguments (values, or Ref for field names) and returns a value.
# The caller has already returned the first error computed inside an argument.

Arg = Value | Ref


def _cells(args: Sequence[Arg]) -> list[tuple[Value, bool]]:
    """Flatten arguments into (value, came_from_a_cell) pairs."""
    flat: list[tuple[Value, bool]] = []
    for arg in args:
        if isinstance(arg, Ref):
            flat.extend((cell, True) for cell in arg.cells)
        else:
            flat.append((arg, False))
    return flat


def convert_numbers(args: Sequence[Arg]) -> list[float] | XLError:
    """Convert operands of an operator or a function of numbers.

    A problem read from a cell (an error, text that is no number) wins over text given directly;
    among cells the leftmost wins.
    """
    numbers: list[float] = []
    cell_error = direct_error = None
    for arg in args:
        converted = to_number(arg)
        if isinstance(converted, XLError):
            if isinstance(arg, Ref):
                cell_error = cell_error or converted
            else:
                direct_error = direct_error or converted
        else:
            numbers.append(converted)
    return cell_error or direct_error or numbers


def _numbers(args: Sequence[Arg]) -> list[float] | XLError:
    """Numbers for MIN/MAX/SUM, read right to left as LibreOffice does.

    Cells skip blanks and text; an error cell (the first of a column) replaces an error met so
    far; text given directly is ``#VALUE!`` unless an error was met, and ends the reading.
    """
    numbers: list[float] = []
    error = None
    for arg in reversed(args):
        if isinstance(arg, Ref):
            for cell in arg.cells:
                if isinstance(cell, XLError):
                    error = cell
                    break
                if isinstance(cell, bool | float):
                    numbers.append(float(cell))
        elif isinstance(arg, str):
            error = error or VALUE
            break
        elif isinstance(arg, bool | float):
            numbers.append(float(arg))
    return error or numbers


def fn_sum(*args: Arg) -> Value:
    numbers = _numbers(args)
    return numbers if isinstance(numbers, XLError) else number(math.fsum(numbers))


def fn_min(*args: Arg) -> Value:
    numbers = _numbers(args)
    return numbers if isinstance(numbers, XLError) else min(numbers, default=0.0)


def fn_max(*args: Arg) -> Value:
    numbers = _numbers(args)
    return numbers if isinstance(numbers, XLError) else max(numbers, default=0.0)


def fn_count(*args: Arg) -> Value:
    count = 0
    for value, from_cell in _cells(args):
        if isinstance(value, bool | float) or (
            isinstance(value, str) and not from_cell and text_to_number(value) is not None
        ):
            count += 1
    return float(count)


def fn_countif(cells: Arg, criterion: Arg) -> Value:
    """COUNTIF with a plain criterion: a number matches numbers, a text matches text (any case)."""
    found = 0
    for value, _ in _cells([cells]):
        if isinstance(criterion, str):
            found += isinstance(value, str) and value.lower() == criterion.lower()
        else:
            found += isinstance(value, bool | float) and approx_equal(float(value), float(criterion))
    return float(found)


def _logical(args: Sequence[Arg]) -> list[bool] | XLError:
    """Truth values for AND/OR, read right to left; the first problem met is the result.

    Cells skip blanks and text; text given directly is ``#VALUE!``; nothing to judge is ``#VALUE!``.
    """
    truths = []
    for arg in reversed(args):
        cells = arg.cells if isinstance(arg, Ref) else (arg,)
        for cell in cells:
            if isinstance(cell, XLError):
                return cell
            if isinstance(cell, str) and not isinstance(arg, Ref):
                return VALUE
            if isinstance(cell, bool | float):
                truths.append(cell != 0)
    return truths or VALUE


def fn_and(*args: Arg) -> Value:
    truths = _logical(args)
    return truths if isinstance(truths, XLError) else all(truths)


def fn_or(*args: Arg) -> Value:
    truths = _logical(args)
    return truths if isinstance(truths, XLError) else any(truths)


def fn_not(value: Arg) -> Value:
    truth = to_bool(value)
    return truth if isinstance(truth, XLError) else not truth


def _numeric(function):
    """Wrap a function of floats so its arguments are converted first (see :func:`convert_numbers`)."""

    def wrapped(*args: Arg) -> Value:
        numbers = convert_numbers(args)
        return numbers if isinstance(numbers, XLError) else function(*numbers)

    wrapped.__name__ = function.__name__
    wrapped.__doc__ = function.__doc__
    wrapped.__wrapped__ = function  # for callers that have plain numbers already
    return wrapped


@_numeric
def fn_abs(x: float) -> Value:
    return abs(x)


@_numeric
def fn_int(x: float) -> Value:
    """Round down to an integer, on the 15-digit value (``INT(0.1*3*10)`` is 3)."""
    return approx_floor(x)


@_numeric
def fn_round(x: float, digits: float) -> Value:
    """Round half away from zero: ``ROUND(2.5, 0)`` is 3, ``ROUND(-2.5, 0)`` is -3, ``ROUND(1.005, 2)`` 1.01."""
    places = math.trunc(digits)
    if not -32768 <= places <= 32767:
        return VALUE
    return round_half_away(x, places)


def fn_mod(a: Arg, b: Arg) -> Value:
    """Remainder with the divisor's sign; the divisor is converted and checked first."""
    divisor = to_number(b)
    if isinstance(divisor, XLError):
        return divisor
    if divisor == 0:
        return DIV0
    dividend = to_number(a)
    if isinstance(dividend, XLError):
        return dividend
    quotient = dividend / divisor
    if not math.isfinite(quotient):
        return VALUE
    result = subtract(dividend, approx_floor(quotient) * divisor)
    if isinstance(result, XLError):
        return VALUE
    if (divisor > 0 and 0 <= result < divisor) or (divisor < 0 and divisor < result <= 0):
        return result
    return VALUE


def fn_isblank(value: Arg) -> Value:
    return scalar(value) is None


def fn_isnumber(value: Arg) -> Value:
    return isinstance(scalar(value), bool | float)


def number_text(x: float) -> str:
    """A number as LibreOffice writes it in General format (15 significant digits)."""
    if x == 0:
        return "0"
    exact = Decimal(f"{x:.15g}")
    exponent = exact.adjusted()
    if -14 <= exponent <= 15:
        text = format(exact, "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    mantissa = format(exact.scaleb(-exponent), "f")
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}E{'-' if exponent < 0 else '+'}{abs(exponent):03d}"


def fn_len(value: Arg) -> Value:
    """Length of the text (UTF-16 units, as the spreadsheet counts); numbers by their text."""
    value = scalar(value)
    if isinstance(value, XLError):
        return value
    if value is None:
        return 0.0
    if isinstance(value, bool):
        text = "1" if value else "0"
    elif isinstance(value, float):
        text = number_text(value)
    else:
        text = value
    return float(len(text.encode("utf-16-le")) // 2)


# name: (function, fewest arguments, most arguments or None, whether errors pass through it)
FUNCTIONS: dict[str, tuple[Any, int, int | None, bool]] = {
    "AND": (fn_and, 1, None, True),
    "OR": (fn_or, 1, None, True),
    "NOT": (fn_not, 1, 1, True),
    "MIN": (fn_min, 1, None, True),
    "MAX": (fn_max, 1, None, True),
    "SUM": (fn_sum, 1, None, True),
    "ABS": (fn_abs, 1, 1, True),
    "ROUND": (fn_round, 2, 2, True),
    "INT": (fn_int, 1, 1, True),
    "MOD": (fn_mod, 2, 2, True),
    "LEN": (fn_len, 1, 1, True),
    "COUNTIF": (fn_countif, 2, 2, True),
    "COUNT": (fn_count, 1, None, False),
    "ISBLANK": (fn_isblank, 1, 1, False),
    "ISNUMBER": (fn_isnumber, 1, 1, False),
}

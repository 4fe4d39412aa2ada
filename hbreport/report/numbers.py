"""Chinese figures as an official report writes them: 390万人, 312.35万人, 300亿元, 35.2%, 2017年12月31日.

Each formatter takes a plain number (or None) and returns text; None and blanks come back as the
placeholder 「—」. The same functions are the Jinja filters of the report template, so the text of
a report and the tests that check it agree by construction.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

BLANK = "—"
WAN = 10_000
YI_IN_WAN = 10_000  # 1亿 = 10000万


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def decimal_text(value: float, places: int = 2) -> str:
    """A number with at most ``places`` decimals, trailing zeros dropped: 312.350 → '312.35', 390.0 → '390'."""
    text = f"{round(float(value), places):.{places}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def integer_text(value: Any) -> str:
    """Whole numbers without separators, the way Chinese statistical tables print them: 3900000."""
    if not is_number(value):
        return BLANK
    return str(int(round(value)))


def wan(value: Any, places: int = 2) -> str:
    """A count in 万, no unit: 3900000 → '390', 3123456 → '312.35'."""
    if not is_number(value):
        return BLANK
    return decimal_text(value / WAN, places)


def count_text(value: Any, unit: str = "", *, places: int = 2) -> str:
    """A count with its unit, switching to 万 from ten thousand: 3900000 人 → '390万人', 8765 人 → '8765人'."""
    return _scaled(value, unit, f"万{unit}", WAN, places)


def _scaled(value: Any, unit: str, large_unit: str, step: float, places: int) -> str:
    """``value`` in ``unit``, or from ``step`` up in ``large_unit`` (``value / step`` of them)."""
    if not is_number(value):
        return BLANK
    if abs(value) >= step:
        return f"{decimal_text(value / step, places)}{large_unit}"
    return f"{decimal_text(value, places)}{unit}"


def people(value: Any) -> str:
    """Persons: '390万人', '8765人'."""
    return count_text(value, "人")


def households(value: Any) -> str:
    """Households: '30.63万户', '512户'."""
    return count_text(value, "户")


def units(value: Any, unit: str = "个") -> str:
    """Villages, counties, schools: plain integers with their measure word: '4613个'."""
    if not is_number(value):
        return BLANK
    return f"{decimal_text(value, 2)}{unit}"


def money_wan(value_wan: Any) -> str:
    """An amount given in 万元: from 1亿 up in 亿元, else in 万元: 3000000 → '300亿元', 512.5 → '512.5万元'."""
    return _scaled(value_wan, "万元", "亿元", YI_IN_WAN, 2)


def money_yuan(value_yuan: Any) -> str:
    """An amount given in 元: '3000元', '1.25万元', '3.2亿元'."""
    if not is_number(value_yuan):
        return BLANK
    if abs(value_yuan) >= WAN:
        return money_wan(value_yuan / WAN)
    return f"{decimal_text(value_yuan, 2)}元"


def percent(ratio: Any, places: int = 1) -> str:
    """A fraction as a percentage: 0.35 → '35%', 0.3521 → '35.2%'."""
    if not is_number(ratio):
        return BLANK
    return f"{decimal_text(ratio * 100, places)}%"


def points(ratio_gap: Any, places: int = 1) -> str:
    """A difference of two fractions in percentage points, unsigned: -0.053 → '5.3个百分点'."""
    if not is_number(ratio_gap):
        return BLANK
    return f"{decimal_text(abs(ratio_gap) * 100, places)}个百分点"


def date_text(value: dt.date | str | None) -> str:
    """Arabic dates without leading zeros: 2017-12-31 → '2017年12月31日'."""
    if value is None or value == "":
        return BLANK
    if isinstance(value, str):
        value = dt.date.fromisoformat(value)
    return f"{value.year}年{value.month}月{value.day}日"


def period_end(year: int) -> dt.date:
    """The last day of an annual reporting period."""
    return dt.date(year, 12, 31)


#: the readable form of a value in each unit (any other: its number, then the unit)
_IN_UNIT = {
    "人": people,
    "户": households,
    "万元": money_wan,
    "元": money_yuan,
    "%": percent,
    "人次": lambda value: count_text(value, "人次"),
}


def with_unit(value: Any, unit: str) -> str:
    """A value of a data element in its own unit, choosing the readable form for people, 户, 元, 万元."""
    if not is_number(value):
        return BLANK
    shown = _IN_UNIT.get(unit)
    return shown(value) if shown is not None else f"{decimal_text(value, 2)}{unit}"


#: the formatters under their Jinja filter names
FILTERS = {
    "int": integer_text,
    "wan": wan,
    "people": people,
    "households": households,
    "units": units,
    "money_wan": money_wan,
    "money_yuan": money_yuan,
    "pct": percent,
    "points": points,
    "date": date_text,
    "with_unit": with_unit,
    "num": decimal_text,
}

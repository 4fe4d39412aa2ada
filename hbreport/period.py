"""Reporting periods. A period is a calendar year of the plan (annual reports, 2016–2020)."""

from __future__ import annotations

import re

from hbreport.errors import HBError

_PERIOD = re.compile(r"^\s*(\d{4})\s*年?\s*$")


def parse_period(text: str | int) -> int:
    """'2017', '2017年' or 2017 → 2017; anything else is an HBError."""
    m = _PERIOD.match(str(text))
    if not m:
        raise HBError(f"报告期「{text}」无法识别", hint="报告期写四位年份，例如 2017")
    year = int(m.group(1))
    if not 2000 <= year <= 2100:
        raise HBError(f"报告期「{text}」超出范围", hint="报告期写四位年份，例如 2017")
    return year


def period_label(year: int) -> str:
    """2017 → '2017年'."""
    return f"{year}年"

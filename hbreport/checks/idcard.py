"""The 18-digit resident ID number (公民身份号码, GB 11643-1999): a pure check, no heavy imports.

The number is 6 digits of the administrative code where it was issued, 8 digits of the birth date
(YYYYMMDD), 3 digits of sequence and one check character computed with ISO 7064 MOD 11-2
(``X`` stands for 10). :func:`validate_id` returns ``None`` for a valid number and otherwise a
Chinese reason a clerk can act on. It never raises.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Any

# ISO 7064 MOD 11-2 weights of the first 17 digits: 2**(17 - i) mod 11
WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
CHECK_CHARS = "10X98765432"  # index: weighted sum mod 11
# First two digits: the province-level codes of GB/T 2260 (and 71 台湾, 81 香港, 82 澳门)
PROVINCE_PREFIXES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 71 81 82".split()
)
EARLIEST_BIRTH = dt.date(1900, 1, 1)

__all__ = ["check_char", "validate_id"]


def check_char(first17: str) -> str:
    """The check character of 17 digits (ISO 7064 MOD 11-2)."""
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def validate_id(text: Any, *, today: dt.date | None = None) -> str | None:
    """``None`` when ``text`` is a valid 18-digit resident ID number, else why not (Chinese)."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return "证件号码为空"
    if isinstance(text, bool):
        return "证件号码不能是逻辑值"
    if isinstance(text, int | float):
        return (
            "证件号码被存成了数字（Excel 只保留15位有效数字，后几位已经丢失）；"
            "请把该单元格设为“文本”格式后重新输入"
        )
    if not isinstance(text, str):
        return "证件号码应为文字"
    if text != text.strip() or any(ch.isspace() for ch in text):
        return "证件号码中有空格，请删去"
    if unicodedata.normalize("NFKC", text) != text:
        return "证件号码含有全角字符，请改用半角数字和字母"
    if len(text) == 15 and text.isdigit():
        return "这是15位的旧身份证号码，请换用18位号码"
    if len(text) != 18:
        return f"证件号码应为18位，这里是{len(text)}位"
    body, last = text[:17], text[17]
    if not (body.isascii() and body.isdigit()):
        return "证件号码前17位应全是数字"
    if last == "x":
        return "证件号码末位的 X 应为大写"
    if not (last.isdigit() or last == "X"):
        return f"证件号码末位应为数字或 X，这里是「{last}」"
    if body[:2] not in PROVINCE_PREFIXES:
        return f"证件号码前两位「{body[:2]}」不是有效的省级行政区划代码"
    try:
        born = dt.date(int(body[6:10]), int(body[10:12]), int(body[12:14]))
    except ValueError:
        return f"证件号码第7—14位「{body[6:14]}」不是有效的出生日期"
    if not EARLIEST_BIRTH <= born <= (today or dt.date.today()):
        return f"证件号码中的出生日期 {born:%Y年%m月%d日} 不合理"
    expected = check_char(body)
    if last != expected:
        return f"证件号码校验码不符：按前17位计算末位应为 {expected}，这里是 {last}，请核对是否有数字录错"
    return None

"""A blank form: a workbook received with nothing typed in it is 空表 — not reported data, not zeros.

One test for `check` and `consolidate`: every form of the workbook that has rows has no row with an
input filled (prefilled baselines do not count; a typed 0 does)."""

from __future__ import annotations

from .engine import row_filled
from .findings import Finding
from .values import FormData

RULE_BLANK = "空表"


def blank_sheets(data: FormData) -> list:
    """The sheets of ``data`` that have rows but none of them filled."""
    return [
        s
        for s in data.spec.sheets
        if s.rows and not any(row_filled(s, data.rows.get(s.form, {}).get(u.code)) for u in s.rows)
    ]


def is_blank(data: FormData) -> bool:
    """Whether nothing at all was typed in the workbook's forms."""
    with_rows = [s for s in data.spec.sheets if s.rows]
    return bool(with_rows) and len(blank_sheets(data)) == len(with_rows)


def blank_form_finding(data: FormData, path: str) -> Finding | None:
    """The 空表 warning for a workbook with nothing typed in it, or None."""
    if not is_blank(data):
        return None
    name = data.spec.unit_name
    return Finding(
        message=f"「{name}」的报表中没有填报任何数据（各表的填报格全为空），是空表，不作为已报数据",
        importance="warning",
        rule=RULE_BLANK,
        file=path,
        unit_code=data.unit_code,
        unit_name=name,
        hint=f"请{name}填好后重新报送；数据为零的格请填 0，不要空着",
    )

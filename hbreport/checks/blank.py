"""A blank form: a workbook received with nothing typed in it is 空表 — not reported data, not zeros.

One test for `check` and `consolidate`: every form of the workbook that has rows has no row with an
input filled (prefilled baselines do not count; a typed 0 does)."""

from __future__ import annotations

from hbreport.checks import finding
from hbreport.checks.consolidation import BLANK
from hbreport.checks.engine import row_filled
from hbreport.model.findings import Finding
from hbreport.model.values import FormData

RULE_BLANK = BLANK


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
    return finding(BLANK, file=path, unit_code=data.unit_code, unit_name=name, unit=name)

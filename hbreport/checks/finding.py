"""A finding of a registered check, made at the place given (every module that reports one uses it)."""

from __future__ import annotations

from hbreport.checks.registry import registered
from hbreport.model.findings import Finding


def finding(
    code: str,
    /,
    *,
    file: str | None = None,
    unit_code: str | None = None,
    unit_name: str | None = None,
    sheet: str | None = None,
    cell: str | None = None,
    **fields: object,
) -> Finding:
    """A finding of the registered check ``code``: its importance, its message and hint made from
    ``fields``, at the place given."""
    check = registered(code)
    return Finding(
        message=check.message(**fields),
        importance=check.importance,
        rule=code,
        file=file,
        unit_code=unit_code,
        unit_name=unit_name,
        sheet=sheet,
        cell=cell,
        hint=check.hint_text(**fields) or None,
    )

"""One registry of checks (:mod:`hbreport.checks.registry`): code, importance, message template, hint.

Each module here registers its checks when imported; importing this package registers them all.
See docs/customize.md for adding one.
"""

from __future__ import annotations

from hbreport.checks import cells, consolidation, files, households, values  # noqa: F401  (each registers its checks)
from hbreport.checks.registry import CHECKS, FORM_RULE_CODE, Check, quote, register, registered, shown_code
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


__all__ = [
    "CHECKS",
    "FORM_RULE_CODE",
    "Check",
    "Finding",
    "finding",
    "quote",
    "register",
    "registered",
    "shown_code",
]

"""One registry of checks (:mod:`hbreport.checks.registry`): code, importance, message template, hint.

Each module here registers its checks when imported; importing this package registers them all.
See docs/customize.md for adding one.
"""

from __future__ import annotations

from hbreport.checks import cells, consolidation, files, households, values  # noqa: F401  (each registers its checks)
from hbreport.checks.finding import finding
from hbreport.checks.registry import CHECKS, FORM_RULE_CODE, Check, quote, register, registered, shown_code
from hbreport.model.findings import Finding

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

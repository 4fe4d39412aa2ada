"""The registry of checks: every problem the project reports has one entry here.

A check is a code a clerk reads (a word: 文本、重复、预填被改), an importance (错误 or 警告), a Chinese
message template and a hint (处理办法). Readers, ``check``, ``consolidate`` and roster consolidation
make their findings from these entries, so the same problem reads the same everywhere. Text a user
typed is quoted through :func:`quote` (clipped, control characters shown as escapes).

Pure Python (no file formats): the xlwings Lite bundle carries it too.
"""

from __future__ import annotations

from dataclasses import dataclass

ERROR, WARNING = "error", "warning"
QUOTE_LIMIT = 60  # characters of a user's text quoted in a message
FORM_RULE_CODE = "表内审核"  # what a form's own rule (PP01, IS08 …) is called where a clerk reads it


@dataclass(frozen=True)
class Check:
    """One registered check: ``template`` and ``hint`` are ``str.format`` texts over named fields."""

    code: str
    importance: str
    template: str
    hint: str
    about: str = ""  # one line for docs/customize.md: what the check finds

    def message(self, **fields: object) -> str:
        return self.template.format(**fields)

    def hint_text(self, **fields: object) -> str:
        return self.hint.format(**fields)


CHECKS: dict[str, Check] = {}


def register(code: str, importance: str, template: str, hint: str, about: str = "") -> str:
    """Add a check to the registry and return its code; a code is registered once."""
    if code in CHECKS:
        raise ValueError(f"check code {code!r} is registered twice")
    if importance not in (ERROR, WARNING):
        raise ValueError(f"check {code!r}: importance must be error or warning, not {importance!r}")
    CHECKS[code] = Check(code, importance, template, hint, about)
    return code


def registered(code: str) -> Check:
    """The check registered under ``code`` (KeyError for a code nobody registered)."""
    return CHECKS[code]


def shown_code(rule: str) -> str:
    """What a finding's rule is called where a clerk reads it: a registered code as it is, a form's
    rule id (PP01) as :data:`FORM_RULE_CODE`."""
    if not rule or rule in CHECKS:
        return rule
    return FORM_RULE_CODE


def quote(value: object, limit: int = QUOTE_LIMIT) -> str:
    """A user's text as a message quotes it: stripped, control characters written as ``\\x0b``, at most
    ``limit`` characters (a cell holds 32,767; a message needs enough to find it)."""
    text = "" if value is None else str(value).strip()
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    if any(ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0 or ch in "\ufffe\uffff" for ch in text):
        text = "".join(
            f"\\x{ord(ch):02x}"
            if ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0
            else "?"
            if ch in "\ufffe\uffff"
            else ch
            for ch in text
        )
    return text

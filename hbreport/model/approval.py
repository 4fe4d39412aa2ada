"""The approval a workbook carries in its identity: who approved it, when, and what they approved.

``hbreport approve`` writes an approved copy whose ``_meta`` sheet holds the stamp (the ``approval.*``
rows): the approver, the time, the note, and :func:`content_digest` of the data values as read — the
values of every row's input and prefilled cells and the rows' explanations (说明), with the unit,
period and layout. The stamp is bound to that content, not to the bytes of the file, so it survives
any save that keeps the values (LibreOffice, Excel, WPS) and fails as soon as one value is changed.
The digest is made here and only here: the approving and the checking of a stamp cannot disagree.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hbreport.model.values import FormData

PREFIX = "approval."
BY, AT, NOTE, DIGEST = (PREFIX + k for k in ("by", "at", "note", "digest"))
KEYS = (BY, AT, NOTE, DIGEST)
APPROVED, CHANGED, NOT_APPROVED = "已审核", "审核后被改动", "未审核"  # a return's approval, as shown
DIGEST_METHOD = "values-sha256-1"
"""How :func:`content_digest` is made; written before the digest, so a later method is told apart."""


def _canonical(value: Any) -> Any:
    """A value as the digest sees it: a blank as None, a whole number as int, others to 12 digits."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        number = float(value)
        if not math.isfinite(number):
            return str(number)
        return int(number) if number.is_integer() else float(f"{number:.12g}")
    return str(value).strip()


def content_digest(data: FormData, notes: Mapping[str, Mapping[str, str]] | None = None) -> str:
    """``<method>:<sha256>`` of the unit, period and layout, every row's given values (inputs and
    prefill, in form, row and column order; derived columns follow from them) and the rows' 说明."""
    spec = data.spec
    notes = notes or {}
    payload: list[Any] = [spec.unit_code, spec.period, spec.layout_hash]
    for sheet in spec.sheets:
        rows = data.rows.get(sheet.form, {})
        form_notes = notes.get(sheet.form, {})
        payload.append(
            [
                sheet.form,
                [
                    [
                        unit.code,
                        [_canonical(rows.get(unit.code, {}).get(k)) for k in sheet.given_keys],
                        (form_notes.get(unit.code) or "").strip(),
                    ]
                    for unit in sheet.rows
                ],
            ]
        )
    blob = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return f"{DIGEST_METHOD}:{hashlib.sha256(blob.encode('utf-8')).hexdigest()}"


@dataclass(frozen=True)
class Stamp:
    """An approval carried in a workbook. ``valid``: its digest equals the digest of the values read
    now (False: the values were changed after the approval)."""

    by: str
    at: str
    note: str
    digest: str
    valid: bool = True

    def rows(self) -> list[tuple[str, str]]:
        """The ``_meta`` rows (key, value) that carry this stamp."""
        return [(BY, self.by), (AT, self.at), (NOTE, self.note), (DIGEST, self.digest)]

    def to_dict(self) -> dict[str, Any]:
        return {"by": self.by, "at": self.at, "note": self.note, "valid": self.valid}

    def shown(self) -> str:
        """In Chinese: 已审核（李四，2018-01-08 审核：已电话核实）, or that it was changed after approval."""
        when = self.at.replace("T", " ")[:16]
        if not self.valid:
            return f"审核后被改动（{self.by} 于 {when} 审核时的数据与现在的数据不同）"
        return f"已审核（{self.by}，{when}" + (f"；{self.note}" if self.note else "") + "）"


def stamp_in(meta: Mapping[str, str], data: FormData, notes: Mapping[str, Mapping[str, str]]) -> Stamp | None:
    """The stamp ``meta`` (a workbook's ``_meta``) carries, checked against ``data`` and ``notes`` as
    read; None when the workbook carries none (a stamp missing its approver or digest is none)."""
    by, digest = meta.get(BY, "").strip(), meta.get(DIGEST, "").strip()
    if not by or not digest:
        return None
    return Stamp(
        by,
        meta.get(AT, "").strip(),
        meta.get(NOTE, "").strip(),
        digest,
        digest == content_digest(data, notes),
    )

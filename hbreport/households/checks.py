"""Checks of the national screening catalogue that a row formula cannot make (Python side).

The row rules of the roster template (ID check digit, required fields, income range, an exited
household below the line, in a dilapidated house or without safe water, 因病/因学 consistency) run
in the workbook and in the reader. Here are the checks across rows and files:

- an ID that passes the check digit but names no province or no real birth date (idcard.validate_id);
- the same ID on two households of one roster (here); the same ID in two townships is found when
  rosters are consolidated, in the store, across the batch and what is already stored for the period
  (``RosterStore.shared_ids``, check :data:`hbreport.checks.households.DUPLICATE_ACROSS`).
"""

from __future__ import annotations

from collections import defaultdict

from ..checks import quote, registered
from ..checks.households import DUPLICATE_ID, ID_DETAIL
from ..findings import Finding
from ..idcard import validate_id
from ..rules import fn_idcheck


def _finding(roster, cell: str | None, code: str, **fields: object) -> Finding:
    check = registered(code)
    return Finding(
        message=check.message(**fields),
        importance=check.importance,
        rule=code,
        file=roster.file_label,
        unit_code=roster.spec.unit_code,
        unit_name=roster.spec.unit_name,
        sheet=roster.spec.sheets[0].sheet,
        cell=cell,
        hint=check.hint_text(**fields),
    )


def screen_roster(roster) -> list[Finding]:
    """ID details and duplicate IDs within one roster (RosterData)."""
    findings: list[Finding] = []
    names = {r.code: r.name for r in roster.spec.sheets[0].rows}
    by_id: dict[str, list[str]] = defaultdict(list)
    for hid, row in roster.rows.items():
        number = row.get("id_number")
        if not number:
            continue
        by_id[number].append(hid)
        if fn_idcheck(number):  # the row rule passed: look closer
            reason = validate_id(number)
            if reason:
                findings.append(
                    _finding(
                        roster,
                        roster.cell(hid, "id_number"),
                        ID_DETAIL,
                        who=f"「{names[hid]}」户（户编号 {hid}）",
                        reason=reason,
                    )
                )
    for number, hids in by_id.items():
        if len(hids) < 2:
            continue
        cells = "、".join(f"{roster.cell(h, 'id_number')}（{names[h]}，户编号 {h}）" for h in hids)
        for hid in hids:
            findings.append(
                _finding(
                    roster,
                    roster.cell(hid, "id_number"),
                    DUPLICATE_ID,
                    number=quote(number),
                    times=len(hids),
                    cells=cells,
                )
            )
    return findings

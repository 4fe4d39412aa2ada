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

import datetime as dt
from collections import defaultdict
from functools import lru_cache

from hbreport.checks import quote, registered
from hbreport.checks.households import DUPLICATE_ID, ID_DETAIL
from hbreport.checks.idcard import EARLIEST_BIRTH, PROVINCE_PREFIXES, validate_id
from hbreport.checks.rules_columnar import idcheck
from hbreport.households.columns import column_of
from hbreport.model.findings import Finding


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


def _plausible(number: str, today: dt.date) -> bool:
    """For an ID whose check character is right (IDCHECK): what else :func:`validate_id` asks of it, a
    province code and a real birth date, worked out once per birth date."""
    return number[:2] in PROVINCE_PREFIXES and _birth_ok(number[6:14], today)


@lru_cache(maxsize=1 << 16)
def _birth_ok(digits: str, today: dt.date) -> bool:
    try:
        born = dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return False
    return EARLIEST_BIRTH <= born <= today


def screen_roster(roster) -> list[Finding]:
    """ID details and duplicate IDs within one roster (RosterData)."""
    findings: list[Finding] = []
    names = {r.code: r.name for r in roster.spec.sheets[0].rows}
    by_id: dict[str, list[str]] = defaultdict(list)
    numbers = list(zip(roster.rows, column_of(roster.rows, "id_number"), strict=True))
    passed = idcheck([n if type(n) is str else "" for _, n in numbers]).tolist()  # by column
    today = dt.date.today()
    for (hid, number), checked in zip(numbers, passed, strict=True):
        if not number:
            continue
        by_id[number].append(hid)
        if checked and not _plausible(number, today):  # the row rule passed: look closer
            reason = validate_id(number, today=today)
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

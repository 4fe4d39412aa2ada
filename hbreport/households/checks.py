"""Checks of the national screening catalogue that a row formula cannot make (Python side).

The row rules of the roster template (ID check digit, required fields, income range, an exited
household below the line, in a dilapidated house or without safe water, 因病/因学 consistency) run
in the workbook and in the reader. Here are the checks across rows and files:

- an ID that passes the check digit but names no province or no real birth date (idcard.validate_id);
- the same ID on two households of one roster, and across the rosters being consolidated (and the
  rosters already in the store for the same period).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from ..findings import Finding
from ..idcard import validate_id
from ..rules import fn_idcheck

RULE_ID_DETAIL = "HH_ID"
RULE_DUPLICATE = "HH_DUP"
RULE_DUPLICATE_ACROSS = "HH_DUP_ACROSS"
DUPLICATE_HINT = "同一人只能在一户中登记：请核实证件号码是否录错，或是否重复识别，在建档立卡系统中更正"


def _finding(
    roster, cell: str | None, message: str, rule: str, hint: str, importance: str = "error"
) -> Finding:
    return Finding(
        message=message,
        importance=importance,
        rule=rule,
        file=roster.file_label,
        unit_code=roster.spec.unit_code,
        unit_name=roster.spec.unit_name,
        sheet=roster.spec.sheets[0].sheet,
        cell=cell,
        hint=hint,
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
                        f"「{names[hid]}」户（户编号 {hid}）：{reason}",
                        RULE_ID_DETAIL,
                        "请核对证件号码，在建档立卡系统中更正",
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
                    f"证件号码 {number} 在本台账中出现 {len(hids)} 次：{cells}",
                    RULE_DUPLICATE,
                    DUPLICATE_HINT,
                )
            )
    return findings


def duplicates_across(
    rosters: Sequence, stored: Mapping[str, Iterable[tuple[str, str, str, int]]] | None = None
) -> list[Finding]:
    """IDs that appear in more than one roster of the batch, or in a roster and in the store.

    ``stored`` maps an ID number to (township code, household id, file, row number) of households
    already in the store for the same period (other townships, see ``RosterStore.id_places``). Each
    finding names every place the ID occurs, file and cell.
    """
    if not rosters:
        return []
    letter = rosters[0].layout.col_letter("id_number")
    places: dict[str, list[tuple[object, str]]] = defaultdict(list)
    for roster in rosters:
        for hid, row in roster.rows.items():
            number = row.get("id_number")
            if number:
                places[number].append((roster, hid))
    findings: list[Finding] = []
    for number, where in places.items():
        townships = {r.spec.unit_code for r, _ in where}
        extra = list((stored or {}).get(number, ()))
        extra = [e for e in extra if e[0] not in townships]
        if len(townships) + len({e[0] for e in extra}) < 2:
            continue
        described = [
            f"{Path(r.file_label).name} {r.cell(h, 'id_number')}（{r.spec.unit_name}，户编号 {h}）"
            for r, h in where
        ] + [f"{Path(file).name} {letter}{row}（已入库，户编号 {h}）" for _, h, file, row in extra]
        text = "；".join(described)
        for roster, hid in where:
            findings.append(
                _finding(
                    roster,
                    roster.cell(hid, "id_number"),
                    f"证件号码 {number} 同时出现在 {len(described)} 处：{text}",
                    RULE_DUPLICATE_ACROSS,
                    DUPLICATE_HINT,
                )
            )
    return findings

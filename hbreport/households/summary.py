"""The 村汇总 sheet: per village counts from the roster, as COUNTIFS/SUMIFS formulas and in Python.

These counts are what the roster feeds into the township's statistical forms (the dynamic
adjustment of 建档立卡 data):

======================  ==========================================  ===================================
村汇总 column           households counted (脱贫标志 / 脱贫年度)    form cell it must equal
======================  ==========================================  ===================================
本年脱贫户数            已脱贫(…) with 脱贫年度 = the period          鄂扶贫01表 exited_households
本年脱贫人口            their 家庭人口                               鄂扶贫01表 exited_people
返贫人口                脱贫标志 = 返贫, 家庭人口                     鄂扶贫01表 returned_people
新识别人口              新识别 = 是, 家庭人口                         鄂扶贫01表 new_people
未脱贫户数（含返贫）    脱贫标志 = 未脱贫 or 返贫                     鄂扶贫02表 remaining_poor_households
======================  ==========================================  ===================================

:func:`village_summary` is the Python side of the same formulas; ``hbreport.households.adjust.reconcile``
compares it with the township's form.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hbreport.checks.rules import excel_text
from hbreport.households.spec import RosterSpec
from hbreport.xlsx.layout import SheetLayout

SUMMARY_SHEET = "村汇总"
TITLE_ROW, INFO_ROW, HEADER_ROW, TOTAL_ROW, FIRST_ROW = 1, 2, 3, 4, 5
NAME_COL, CODE_COL, FIRST_COL = 1, 2, 3  # 1-based


@dataclass(frozen=True)
class SummaryColumn:
    key: str
    label: str
    unit: str
    form_field: tuple[str, str] | None  # (form, field) on the township's statistical forms
    kind: str  # "count" (households) | "people" (sum of 家庭人口)
    statuses: str  # "all" | "exited" | "returned" | "new" | "remaining"


SUMMARY_COLUMNS: tuple[SummaryColumn, ...] = (
    SummaryColumn("households", "户数", "户", None, "count", "all"),
    SummaryColumn("people", "人数", "人", None, "people", "all"),
    SummaryColumn(
        "exited_households",
        "本年脱贫户数",
        "户",
        ("poverty_progress", "exited_households"),
        "count",
        "exited",
    ),
    SummaryColumn(
        "exited_people", "本年脱贫人口", "人", ("poverty_progress", "exited_people"), "people", "exited"
    ),
    SummaryColumn("returned_households", "返贫户数", "户", None, "count", "returned"),
    SummaryColumn(
        "returned_people", "返贫人口", "人", ("poverty_progress", "returned_people"), "people", "returned"
    ),
    SummaryColumn("new_households", "新识别户数", "户", None, "count", "new"),
    SummaryColumn("new_people", "新识别人口", "人", ("poverty_progress", "new_people"), "people", "new"),
    SummaryColumn(
        "remaining_households",
        "未脱贫户数（含返贫）",
        "户",
        ("village_exit", "remaining_poor_households"),
        "count",
        "remaining",
    ),
    SummaryColumn("remaining_people", "未脱贫人口（含返贫）", "人", None, "people", "remaining"),
)


def _criteria(spec: RosterSpec, statuses: str) -> list[list[tuple[str, Any]]]:
    """For each COUNTIFS term: the (field, criterion) pairs beyond the village (summed over terms)."""
    cfg = spec.config
    if statuses == "all":
        return [[]]
    if statuses == "exited":
        return [[("exit_status", s), ("exit_year", spec.period)] for s in cfg.exited_statuses]
    if statuses == "returned":
        return [[("exit_status", cfg.returned_status)]]
    if statuses == "new":
        return [[("newly_identified", "是")]]
    if statuses == "remaining":
        return [[("exit_status", s)] for s in cfg.remaining_statuses]
    raise ValueError(statuses)


def _matches(row: Mapping[str, Any], pairs: list[tuple[str, Any]]) -> bool:
    for key, want in pairs:
        value = row.get(key)
        if isinstance(want, str):
            if not (isinstance(value, str) and value.casefold() == want.casefold()):
                return False
        elif not (isinstance(value, int | float) and not isinstance(value, bool) and value == want):
            return False
    return True


def village_summary(spec: RosterSpec, rows: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, int]]:
    """{village code: {column key: count}} for every village of the township, as the formulas compute."""
    out = {v.code: dict.fromkeys((c.key for c in SUMMARY_COLUMNS), 0) for v in spec.villages}
    terms = {c.statuses: _criteria(spec, c.statuses) for c in SUMMARY_COLUMNS}
    for row in rows.values():
        village = row.get("village_code")
        counts = out.get(village) if isinstance(village, str) else None
        if counts is None:
            continue
        size = row.get("household_size")
        people = size if isinstance(size, int | float) and not isinstance(size, bool) else 0
        for col in SUMMARY_COLUMNS:
            hits = sum(_matches(row, pairs) for pairs in terms[col.statuses])
            counts[col.key] += hits * (1 if col.kind == "count" else people)
    for counts in out.values():
        for key, value in counts.items():
            counts[key] = int(value) if float(value).is_integer() else value
    return out


def summary_total(summary: Mapping[str, Mapping[str, int]]) -> dict[str, int]:
    return {c.key: sum(v[c.key] for v in summary.values()) for c in SUMMARY_COLUMNS}


def summary_row(spec: RosterSpec, village_code: str) -> int:
    """1-based row of a village on the 村汇总 sheet."""
    return FIRST_ROW + [v.code for v in spec.villages].index(village_code)


def summary_cell(spec: RosterSpec, village_code: str, key: str) -> str:
    from openpyxl.utils import get_column_letter

    col = FIRST_COL + [c.key for c in SUMMARY_COLUMNS].index(key)
    return f"{get_column_letter(col)}{summary_row(spec, village_code)}"


def summary_formula(spec: RosterSpec, column: SummaryColumn, row: int) -> str:
    """The formula (no '=') of one village's cell: COUNTIFS/SUMIFS over the roster sheet."""
    sheet = spec.sheets[0]
    layout = SheetLayout(sheet)
    quoted = "'" + sheet.sheet.replace("'", "''") + "'!"

    def rng(key: str) -> str:
        return quoted + layout.data_range(key, absolute=True)

    village = f"$B{row}"
    terms = []
    for pairs in _criteria(spec, column.statuses):
        args = [rng("village_code"), village]
        for key, want in pairs:
            args += [rng(key), excel_text(want) if isinstance(want, str) else str(int(want))]
        if column.kind == "count":
            terms.append(f"COUNTIFS({','.join(args)})")
        else:
            terms.append(f"SUMIFS({rng('household_size')},{','.join(args)})")
    return "+".join(terms)

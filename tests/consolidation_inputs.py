"""Deterministic filled workbooks for the consolidation tests: what clerks would type, rule-abiding.

Every value is a small function of the unit code, so a test can recompute what the consolidated
totals must be straight from the inputs it wrote (sums of village values, counts of 是, maxima),
without going through the consolidator.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from readback import domain_row

from hbreport.forms import prefill_values
from hbreport.spec import WorkbookSpec, build_workbook_spec
from hbreport.xlsx.writer import write_workbook

YES, NO = "是", "否"
Values = dict[str, dict[str, dict[str, Any]]]


def seed(code: str) -> int:
    """A small stable number from a unit code."""
    return sum(int(ch) * (i + 3) for i, ch in enumerate(code[-9:]))


def people(code: str, base_people: int | None) -> dict[str, Any]:
    """鄂扶贫01表 inputs for one row: about 60% of the baseline exited by now, a few returned and new."""
    b = int(base_people or 0)
    k = seed(code)
    prior = min(b, (b * 3 + 9) // 10)
    exited = min(b - prior, (b * 3 + 9) // 10)
    return {
        "prior_exited_people": prior,
        "exited_households": (exited + 2) // 3,
        "exited_people": exited,
        "returned_people": min(prior, k % 3),
        "new_people": k % 2,
    }


def village_exit(code: str, income_base: float) -> dict[str, Any]:
    """鄂扶贫02表 inputs for one poor village (a township's form): exited before, applying and meeting
    the standard, not meeting it, or meeting it without applying — in turn."""
    k = seed(code)
    kind = k % 4
    meets = kind != 2
    return {
        "remaining_poor_households": 0 if meets else 3 + k % 5,
        "village_population": 400 + 37 * (k % 23),
        "village_income": round(income_base * (0.75 + 0.01 * (k % 20)), 2) if meets else 5000 + k,
        "collective_income": 6 + k % 4 if meets else 2,
        "infrastructure_ok": YES if meets else NO,
        "services_ok": YES if meets or k % 2 else NO,
        "exited_before": YES if kind == 0 else NO,
        "apply_exit": YES if kind == 1 else NO,
    }


def key_projects(code: str) -> dict[str, Any]:
    """鄂扶贫03表 inputs for one row (every fifth row left blank, as on real forms)."""
    k = seed(code)
    if k % 5 == 0:
        return {}
    types = [k % 3, k % 2, 1, k % 4 // 3]
    households = sum(types)
    reloc_people = households * 3 + k % 4
    students, loans, pv, stations = k % 6, k % 5, k % 4, k % 2
    return {
        "reloc_households": households,
        "reloc_people": reloc_people,
        "reloc_area": round(reloc_people * (18 + k % 7) + 0.5, 1),
        "reloc_type_50": types[0],
        "reloc_type_75": types[1],
        "reloc_type_100": types[2],
        "reloc_type_125": types[3],
        "reloc_other": 0,
        "dilapidated_renovated": k % 9,
        "yulu_students": students,
        "yulu_transferred": students // 2,
        "yulu_subsidy": students * (3000 + 100 * (k % 10)),
        "loan_households": loans,
        "loan_amount": round(loans * (2 + 0.5 * (k % 7)), 2),
        "loan_max_term": 1 + k % 3 if loans else None,
        "pv_households": pv,
        "pv_household_kw": pv * (3 + k % 3),
        "pv_stations": stations,
        "pv_station_kw": stations * (60 + 5 * (k % 8)),
        "ecommerce_eligible": 1,
        "ecommerce_villages": k % 2,
        "network_villages": 1,
        "tourism_villages": k % 3 // 2,
        "training_person_times": 10 + k % 40,
    }


def infrastructure(code: str, *, self_row: bool) -> dict[str, Any]:
    """鄂扶贫04表 inputs: a county's own row (通高速公路 是/否) or a county's row on a prefecture's form."""
    k = seed(code)
    merged, poor, villages = 20 + k % 30, 5000 + 97 * k, 10 + k % 20
    children, age, households = 800 + 13 * k, 600 + 11 * k, 20000 + 101 * k
    row: dict[str, Any] = {
        "merged_villages": merged,
        "merged_villages_paved": merged - k % 5,
        "rural_population": 100000 + 1000 * k,
        "irrigated_area": 80000.0 + 500 * k,
        "poor_people_total": poor,
        "safe_water_people": poor - k % 50,
        "ncms_people": poor - poor // 100,
        "poor_villages_total": villages,
        "power_living_villages": villages,
        "power_production_villages": villages - k % 3,
        "schools_renovated": k % 7,
        "kindergartens_built": k % 4,
        "preschool_children": children,
        "preschool_enrolled": children - k % 60,
        "highschool_age": age,
        "highschool_enrolled": age - k % 40,
        "households_total": households,
        "broadcast_households": households - 7 * (k % 30),
    }
    if self_row:
        row["highway_connected"] = YES if k % 3 else NO
        row.update(
            exit_applying=YES if k % 4 == 1 else NO,
            rural_income=9000.0 + k,
            fiscal_revenue_per_capita=1500.0 + k,
        )
    else:
        row["counties_highway"] = 1 if k % 3 else 0
        row["counties_exit_applying"] = k % 2
    return row


def village_counts(poor_villages: int | None) -> dict[str, Any]:
    """鄂扶贫02表 inputs for a row above the township: villages counted, consistent with the rules."""
    p = int(poor_villages or 0)
    return {
        "villages_exited_prior": p // 4,
        "villages_applying": p // 5,
        "villages_meeting": p // 3,
        "villages_infrastructure_ok": p // 2,
        "villages_services_ok": p // 2,
    }


def inputs_for(
    spec: WorkbookSpec, prefill: Values, income_base: float, only: tuple[str, ...] | None = None
) -> Values:
    """Values for every row of the forms of ``spec`` (all, or ``only`` these), prefilled baseline included."""
    values: Values = {}
    for sheet in spec.sheets:
        if only is not None and sheet.form not in only:
            values[sheet.form] = {code: dict(row) for code, row in prefill.get(sheet.form, {}).items()}
            continue
        keys = set(sheet.column_keys)
        rows = {}
        for i, r in enumerate(sheet.rows):
            base = dict(prefill.get(sheet.form, {}).get(r.code) or {})
            if sheet.form == "poverty_progress":
                row = people(r.code, base.get("base_people"))
            elif sheet.form == "village_exit" and "exited_before" in keys:
                row = village_exit(r.code, income_base)
            elif sheet.form == "village_exit":
                row = village_counts(base.get("poor_villages"))
            elif sheet.form == "key_projects":
                row = key_projects(r.code)
            elif sheet.form == "infrastructure":
                row = infrastructure(r.code, self_row=r.code == spec.unit_code)
            else:  # the domain forms 06—12
                row = domain_row(sheet, i, base, income_base)
            rows[r.code] = base | row
        values[sheet.form] = rows
    return values


def write_filled(
    code: str,
    period: int,
    folder: Path,
    *,
    registry,
    catalog,
    baseline,
    only: tuple[str, ...] | None = None,
    name: str | None = None,
) -> tuple[Path, WorkbookSpec, Values]:
    """Generate ``code``'s workbook for ``period`` and fill it as a clerk would (all forms, or ``only``
    these); returns the path, the spec and the values written."""
    spec = build_workbook_spec(code, period, registry=registry, catalog=catalog, baseline=baseline)
    prefill = prefill_values(spec, registry, baseline)
    values = inputs_for(spec, prefill, catalog.parameter("provincial_rural_income", period), only)
    path = write_workbook(spec, Path(folder) / (name or spec.file_name()), values=values)
    return path, spec, values

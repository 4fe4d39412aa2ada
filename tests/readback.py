"""Filled workbooks for reader tests: generate a real form, fill it the way a clerk would (openpyxl at the
layout's cells), and spoil copies of it in the common ways.

``valid_inputs`` builds inputs that satisfy every rule of the forms, from the prefilled baseline and the
catalog's numbers, so a clean file must read back with no findings at all.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl

from hbreport.baseline import load_baseline
from hbreport.catalog import load_catalog
from hbreport.forms import generate_forms, prefill_values
from hbreport.registry import load_registry
from hbreport.report.context import DOMAIN_FORMS  # noqa: F401  (the forms after 04; tests import it from here)
from hbreport.spec import WorkbookSpec, build_workbook_spec
from hbreport.xlsx.layout import SheetLayout

PERIOD = 2017
TOWNSHIP = "421122101"  # 红安县梅塘镇: 15 villages, 7 of them poor
COUNTY = "421122"  # 红安县

Inputs = dict[str, dict[str, dict[str, Any]]]


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def generate(code: str, out_dir: Path, period: int = PERIOD, *, xlwings: bool = False) -> Path:
    """The blank workbook hbreport generates for one unit."""
    registry = load_registry()
    level = registry.get(code).level
    (path,) = generate_forms(level, period, under=code, out_dir=out_dir, registry=registry, xlwings=xlwings)
    return path


def spec_of(code: str, period: int = PERIOD) -> WorkbookSpec:
    return build_workbook_spec(code, period)


def valid_inputs(spec: WorkbookSpec) -> Inputs:
    """Input values for every row of every form that break no rule (errors and warnings alike)."""
    catalog = load_catalog()
    prefill = prefill_values(spec, load_registry(), load_baseline())
    num = catalog.number
    out: Inputs = {}
    for sheet in spec.sheets:
        rows: dict[str, dict[str, Any]] = {}
        for i, unit in enumerate(sheet.rows):
            base = prefill.get(sheet.form, {}).get(unit.code, {})
            if sheet.form == "poverty_progress":
                people = base["base_people"]
                due = base.get("task_people")  # the row's own task (a county due to 摘帽 is due in full)
                cum = (
                    due
                    if due is not None
                    else round(people * catalog.cumulative_share("SCHED_PEOPLE_EXIT", spec.period))
                )
                prior = cum // 2
                exited = cum - prior
                row = {
                    "prior_exited_people": prior,
                    "exited_households": min(exited, max(1, exited // 3)) if exited else 0,
                    "exited_people": exited,
                    "returned_people": min(prior, i % 3),
                    "new_people": 1 if people else 0,
                }
            elif sheet.form == "village_exit" and "village_income" in sheet.column_keys:
                income = catalog.parameter("provincial_rural_income", spec.period)
                applying = i % 3 == 0
                before = i % 3 == 1
                row = {
                    "remaining_poor_households": 0 if applying or before else 3 + i,
                    "village_population": 800 + 37 * i,
                    "village_income": round(income * (0.75 + 0.01 * i), 2),
                    "collective_income": num("VILLAGE_EXIT_COLLECTIVE_INCOME", "万元") + 0.5 * i,
                    "infrastructure_ok": "是",
                    "services_ok": "是" if applying or before else "否",
                    "exited_before": "是" if before else "否",
                    "apply_exit": "是" if applying else "否",
                }
            elif sheet.form == "village_exit":
                villages = base["poor_villages"]
                prior = villages // 3
                applying = villages // 3
                row = {
                    "villages_exited_prior": prior,
                    "villages_applying": applying,
                    "villages_meeting": min(applying + 1, villages - prior),
                    "villages_infrastructure_ok": villages - 1 if villages else 0,
                    "villages_services_ok": villages // 2,
                }
            elif sheet.form == "key_projects":
                households = 4 + i
                people = 3 * households
                pv = catalog["PV_HOUSEHOLD_KW"]
                station = catalog["PV_VILLAGE_KW"]
                row = {
                    "reloc_households": households,
                    "reloc_people": people,
                    "reloc_area": people * (num("RELOC_AREA_PER_PERSON", "平方米") - 5) + 0.5,
                    "reloc_type_50": 1,
                    "reloc_type_75": 1,
                    "reloc_type_100": 1,
                    "reloc_type_125": households - 4,
                    "reloc_other": 1,
                    "dilapidated_renovated": 2 + i,
                    "yulu_students": 5,
                    "yulu_transferred": 2 + i,
                    "yulu_subsidy": 5 * num("YULU_SUBSIDY", "元") + 250.5,
                    "loan_households": 3,
                    "loan_amount": 3 * num("MICROCREDIT_LOAN", "万元") - 1.25,
                    "loan_max_term": num("MICROCREDIT_TERM", "年"),
                    "pv_households": 2,
                    "pv_household_kw": 2 * pv.min + 1,
                    "pv_stations": 1,
                    "pv_station_kw": station.min + 10,
                    "ecommerce_eligible": 2,
                    "ecommerce_villages": 1,
                    "network_villages": 1,
                    "tourism_villages": i % 2,
                    "training_person_times": 40 + i,
                }
            elif sheet.form == "infrastructure":
                poor = 5000 + 10 * i
                row = {
                    "merged_villages": 20,
                    "merged_villages_paved": 18,
                    "rural_population": 100_000,
                    "irrigated_area": 60_000.5,
                    "poor_people_total": poor,
                    "safe_water_people": poor - 100,
                    "ncms_people": poor - 10,
                    "poor_villages_total": 10,
                    "power_living_villages": 10,
                    "power_production_villages": 9,
                    "schools_renovated": 3,
                    "kindergartens_built": 2,
                    "preschool_children": 800,
                    "preschool_enrolled": 700,
                    "highschool_age": 300,
                    "highschool_enrolled": 270,
                    "households_total": 30_000,
                    "broadcast_households": 29_000,
                }
                if "highway_connected" in sheet.column_keys:  # a county reports for itself
                    row.update(
                        highway_connected="是",
                        exit_applying="否",
                        rural_income=12000.5,
                        fiscal_revenue_per_capita=2100.0,
                    )
                else:
                    row.update(counties_highway=1, counties_exit_applying=0)
            elif sheet.form in DOMAIN_FORMS:
                row = domain_row(sheet, i, base, catalog.parameter("provincial_rural_income", spec.period))
            else:
                raise AssertionError(f"no filling for form {sheet.form}")
            assert set(row) == {c.key for c in sheet.input_columns}, sheet.form
            rows[unit.code] = {
                k: int(v) if isinstance(v, float) and v.is_integer() else v for k, v in row.items()
            }
        out[sheet.form] = rows
    return out


def domain_row(sheet, i: int, base: dict, income: float) -> dict:
    """Clean inputs for a row of the domain forms 06—12 (every rule met, figures differ by row)."""
    keys = {c.key for c in sheet.input_columns}
    villages = base.get("poor_villages") or 0
    yes = {key: "是" for key in keys if sheet.column(key).field.type == "choice"}
    counts = {
        key: max(villages - (j % 2), 0) for j, key in enumerate(sorted(keys)) if key.startswith("villages_")
    }
    people = 500 + 7 * i
    values = {
        # 06
        "industry_orgs": 1 + i % 2,
        "mutual_fund_orgs": 1,
        "labour_households": 60 + i,
        "coop_households": 60 + i,
        "labour_people": 150 + i,
        "labour_exited": 100 + i,
        "entrepreneur_leaders": max(2 * villages, 2) + i,
        "training_needed": 80 + i,
        "training_done": 70 + i,
        "credit_eligible": 40,
        "credit_households": 30 + i % 5,
        # 07
        "poor_people_now": people,
        "welfare_objects": 120,
        "welfare_exited": 60 + i % 50,
        "welfare_eligible": 90,
        "welfare_included": 90,
        "five_guarantee_willing": 12,
        "five_guarantee_centralised": 10,
        "illness_relief_people": people - 3,
        "medical_service_people": people,
        "pension_payers": 200,
        "pension_paid": 180 + i % 20,
        "hardship_cases": 9,
        "hardship_relieved": 9,
        # 09
        "vocational_schools": 1,
        "teachers_trained": 1200 + i,
        "inpatient_costs_2015": 3000.5,
        "inpatient_paid_2015": 1500.25,
        "inpatient_costs": 3600.0,
        "inpatient_paid": 2700.5,
        "road_hazards": 40,
        "road_hazards_fixed": 31 + i % 5,
        "reloc_land_needed": 120.5,
        "reloc_land_planned": 120.5,
        "dilapidated_subsidy_multiple": 2.5,
        "resident_population_10k": 60.5,
        "orphans": 320,
        "child_welfare_institutions": 1,
        "townships": 12,
        "townships_care_centre": 12,
        # 10
        "work_team_members": 3 + i,
        "households_now": 150 + i,
        "households_helped": 150 + i,
        # 11
        "special_funds": 8000.5 + i,
        "special_funds_prior": 6000.0,
        "integrated_funds": 20000.0,
        "revenue_increase": 10000.0,
        "budget_added": 1600.0 + i,
        "stock_funds": 3000.0,
        "stock_funds_poverty": 1800.0,
        "county_matching": 0,
        "land_project_funds": 5000.0,
        "land_village_funds": 900.0,
        # 12
        "gdp": 210.5 + i,
        "gdp_prior": 192.25,
        "fiscal_revenue": 90000.0 + i,
        "fiscal_revenue_prior": 81000.0,
        "resident_population": 600000 + i,
        "urban_population": 290000,
        "fiscal_per_capita_ratio": 0.72,
        "rural_residents": 310000 + 1000 * i,
        "resident_rural_income": round(income * (0.8 + 0.01 * (i % 10)), 2),
        "rural_income_prior": round(income * 0.73, 2),
        "urban_income": 26000.0 + i,
        "urban_income_prior": 24000.0,
        "urban_income_ratio": 0.71,
        "townships_class2_road": 11,
        "admin_villages": 300,
        "villages_bus": 296,
        "hs_age_all": 12000,
        "hs_enrolled_all": 11100,
        "ncms_members_all": 305000,
        "pension_eligible_all": 250000,
        "pension_insured_all": 240000,
        "natural_growth_rate": 5.1,
        "land_area": 2500.5,
        "forest_cover": 0.66,
        "forest_cover_2015": 0.65,
    }
    values.update(counts)
    values.update({key: 1 for key in keys if key.startswith("counties_")})
    values.update(yes)
    if "partner_withdrawn" in keys:
        values["partner_withdrawn"] = "否"
    if "villages_partner_withdrawn" in keys:
        values["villages_partner_withdrawn"] = 0
    return {key: values[key] for key in keys}


def fill(blank: Path, out: Path, spec: WorkbookSpec, inputs: Inputs) -> Path:
    """Type ``inputs`` into the input cells of a copy of ``blank``, as a clerk would, and save it."""
    book = openpyxl.load_workbook(blank)
    for sheet in spec.sheets:
        layout = SheetLayout(sheet)
        ws = book[sheet.sheet]
        for code, row in inputs.get(sheet.form, {}).items():
            for key, value in row.items():
                ws[layout.cell(code, key)] = value
    book.save(out)
    return out


def spoil(src: Path, out: Path, change: Callable[[openpyxl.Workbook], None]) -> Path:
    """A copy of ``src`` with ``change`` applied through openpyxl."""
    book = openpyxl.load_workbook(src)
    change(book)
    book.save(out)
    return out

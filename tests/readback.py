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
from hbreport.layout import SheetLayout
from hbreport.registry import load_registry
from hbreport.spec import WorkbookSpec, build_workbook_spec

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
                    "reloc_type_125": households - 3,
                    "dilapidated_renovated": 2 + i,
                    "yulu_students": 5,
                    "yulu_subsidy": 5 * num("YULU_SUBSIDY", "元") + 250.5,
                    "loan_households": 3,
                    "loan_amount": 3 * num("MICROCREDIT_LOAN", "万元") - 1.25,
                    "loan_max_term": num("MICROCREDIT_TERM", "年"),
                    "pv_households": 2,
                    "pv_household_kw": 2 * pv.min + 1,
                    "pv_stations": 1,
                    "pv_station_kw": station.min + 10,
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
            else:
                raise AssertionError(f"no filling for form {sheet.form}")
            assert set(row) == {c.key for c in sheet.input_columns}, sheet.form
            rows[unit.code] = {
                k: int(v) if isinstance(v, float) and v.is_integer() else v for k, v in row.items()
            }
        out[sheet.form] = rows
    return out


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

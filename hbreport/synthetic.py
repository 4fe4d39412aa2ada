"""Deterministic synthetic reporting data on the embedded sample: what clerks would type, year by year.

The story follows each county's own tasks (the plan's schedule 三(二), a poor county due in full in its
摘帽 year): each county exits its poor people along them, some a little ahead and some behind, and all
reach 100% by 2019 (a poor county by its 摘帽 year); poor villages exit along the county's village tasks; key projects and county infrastructure grow toward the plan's targets. Every
figure is derived from the unit code and the year with a seeded RNG, so runs are reproducible.
"""

from __future__ import annotations

import hashlib
import random
from typing import Any

from hbreport.spec import WorkbookSpec


def rng_for(*parts: Any) -> random.Random:
    """A random generator seeded by the given parts (stable across runs and machines)."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


class Story:
    """The synthetic truth for one registry, baseline and catalog."""

    def __init__(self, registry, baseline, catalog, *, shortfalls: bool = True) -> None:
        """``shortfalls``: a few villages fall short of a domain standard (no 第一书记, no cooperative …),
        as real data would; without them the domain forms are clean (the benchmarks' inputs)."""
        self.shortfalls = shortfalls
        self.registry = registry
        self.baseline = baseline
        self.catalog = catalog
        self.first_year = catalog.start
        self.last_year = max(y for y in (catalog["SCHED_PEOPLE_EXIT"].schedule or {}))
        self._shares: dict[tuple[str, str, int], float] = {}

    # -- people ---------------------------------------------------------------------------------

    def county_pace(self, code: str) -> float:
        """How fast a county moves relative to the schedule (0.85 … 1.12)."""
        return 0.85 + 0.27 * rng_for("pace", code[:6]).random()

    def own_share(self, code: str, indicator: str, year: int) -> float:
        """The county's own task due by the end of ``year`` as a share of its baseline (the plan's
        province-wide share where it has no tasks): a poor county is due in full in its 摘帽 year."""
        county = code[:6] + "000000"
        key = (county, indicator, year)
        held = self._shares.get(key)
        if held is None:
            base_key = "poor_people" if indicator == "SCHED_PEOPLE_EXIT" else "poor_villages"
            base = self.baseline.totals(self.registry, county)[base_key] if county in self.registry else 0
            due = self.baseline.tasks(self.registry).cumulative(county, indicator, year) if base else None
            if due is None:
                held = self.catalog.cumulative_share(indicator, year)
            else:
                held = due / base
            self._shares[key] = held
        return held

    def cum_share(self, village: str, year: int) -> float:
        """Share of a village's baseline poor people exited by the end of `year`."""
        if year < self.first_year:
            return 0.0
        if year >= self.last_year:
            return 1.0
        plan = self.own_share(village, "SCHED_PEOPLE_EXIT", year)
        if plan >= 1.0:  # due in full: the county's 摘帽 year
            return 1.0
        noise = 0.9 + 0.2 * rng_for("vil", village).random()
        return max(0.0, min(1.0, plan * self.county_pace(village) * noise))

    def people_row(self, village: str, year: int) -> dict[str, Any]:
        vb = self.baseline.villages.get(village)
        base_p = vb.poor_people if vb else 0
        base_h = vb.poor_households if vb else 0
        cum_now = round(base_p * self.cum_share(village, year))
        cum_prev = round(base_p * self.cum_share(village, year - 1))
        exited = cum_now - cum_prev
        households = round(base_h * (self.cum_share(village, year) - self.cum_share(village, year - 1)))
        households = min(max(households, 1 if exited > 0 else 0), exited)
        r = rng_for("ret", village, year)
        returned = r.randint(0, max(0, cum_prev // 200)) if year < self.last_year else 0
        new = r.randint(0, max(0, base_p // 300)) if year < self.last_year else 0
        return {
            "prior_exited_people": cum_prev,
            "exited_households": households,
            "exited_people": exited,
            "returned_people": returned,
            "new_people": new,
        }

    # -- villages -------------------------------------------------------------------------------

    def village_exit_year(self, village: str) -> int:
        """The year a poor village exits, drawn along the plan's village schedule."""
        u = rng_for("vexit", village).random() / max(0.6, min(1.2, self.county_pace(village)))
        for year in range(self.first_year, self.last_year + 1):
            if u <= self.own_share(village, "SCHED_VILLAGE_EXIT", year):
                return year
        return self.last_year

    def village_exit_row(self, village: str, year: int) -> dict[str, Any]:
        vb = self.baseline.villages.get(village)
        exit_year = self.village_exit_year(village)
        prov_income = self.catalog.parameter("provincial_rural_income", year)
        ratio = self.catalog.number("VILLAGE_EXIT_INCOME_RATIO", "ratio")
        collective_min = self.catalog.number("VILLAGE_EXIT_COLLECTIVE_INCOME", "万元")
        r = rng_for("vrow", village, year)
        done = year >= exit_year
        households = vb.poor_households if vb else 0
        remaining = 0 if done else max(1, round(households * (1 - self.cum_share(village, year))))
        income = prov_income * (ratio + (0.05 + 0.2 * r.random() if done else -0.15 + 0.2 * r.random()))
        collective = collective_min * (1.1 + r.random() if done else 0.3 + r.random())
        return {
            "remaining_poor_households": remaining,
            "village_population": 800 + r.randint(0, 2400),
            "village_income": round(income, 2),
            "collective_income": round(collective, 2),
            "infrastructure_ok": "是" if done or r.random() < 0.4 else "否",
            "services_ok": "是" if done or r.random() < 0.4 else "否",
            "exited_before": "是" if year > exit_year else "否",
            "apply_exit": "是" if year == exit_year else "否",
        }

    # -- key projects ---------------------------------------------------------------------------

    def key_projects_row(self, village: str, year: int) -> dict[str, Any]:
        vb = self.baseline.villages.get(village)
        r = rng_for("kp", village, year)
        poor_h = vb.poor_households if vb else 0
        reloc_h = round(poor_h * 0.06 * r.random()) if year <= self.last_year else 0
        types = [0, 0, 0, 0]
        for _ in range(reloc_h):
            types[r.choices(range(4), weights=(3, 4, 2, 1))[0]] += 1
        reloc_p = reloc_h * 3 + sum(types[2:]) if reloc_h else 0
        area = round(reloc_p * (20 + 4.5 * r.random()), 1)
        students = r.randint(0, max(0, poor_h // 40))
        loan_h = r.randint(0, max(0, poor_h // 8))
        pv_h = r.randint(0, max(0, poor_h // 15))
        stations = 1 if (vb and vb.poor_village and r.random() < 0.3) else 0
        eligible = 1 if (vb and vb.poor_village and r.random() < 0.85) else 0
        return {
            "reloc_households": reloc_h,
            "reloc_people": reloc_p,
            "reloc_area": area,
            "reloc_type_50": types[0],
            "reloc_type_75": types[1],
            "reloc_type_100": types[2],
            "reloc_type_125": types[3],
            "reloc_other": 0,
            "dilapidated_renovated": r.randint(0, max(0, poor_h // 20)),
            "yulu_students": students,
            "yulu_transferred": r.randint(0, students),
            "yulu_subsidy": students * (3000 + 500 * r.randint(0, 2)),
            "loan_households": loan_h,
            "loan_amount": round(loan_h * (2 + 3 * r.random()), 2),
            "loan_max_term": 3 if loan_h else None,
            "pv_households": pv_h,
            "pv_household_kw": round(pv_h * (3 + 2 * r.random()), 1),
            "pv_stations": stations,
            "pv_station_kw": round(stations * (50 + 50 * r.random()), 1),
            "ecommerce_eligible": eligible,
            "ecommerce_villages": 1 if eligible and r.random() < 0.5 + 0.15 * (year - 2016) else 0,
            "network_villages": 1
            if (vb and vb.poor_village and r.random() < 0.7 + 0.1 * (year - 2016))
            else 0,
            "tourism_villages": 1 if (vb and vb.poor_village and r.random() < 0.05) else 0,
            "training_person_times": r.randint(0, max(0, poor_h // 2)),
        }

    # -- a county's own infrastructure form -----------------------------------------------------

    def infrastructure_row(self, county: str, year: int) -> dict[str, Any]:
        t = self.baseline.totals(self.registry, county)
        r = rng_for("infra", county, year)
        progress = min(1.0, 0.7 + 0.1 * (year - self.first_year) + 0.05 * r.random())
        poor_people = t["poor_people"]
        villages = max(t["villages"], 1)
        rural = villages * (900 + r.randint(0, 600))
        households = rural // 3
        merged = max(1, villages // 6)
        children = rural // 25
        hs_age = max(1, poor_people // 30)
        return {
            "highway_connected": "是" if year >= self.last_year or r.random() < progress - 0.2 else "否",
            "merged_villages": merged,
            "merged_villages_paved": round(merged * progress),
            "rural_population": rural,
            "irrigated_area": round(rural * (0.45 + 0.2 * progress), 1),
            "poor_people_total": poor_people,
            "safe_water_people": round(poor_people * progress),
            "ncms_people": round(poor_people * min(1.0, 0.95 + 0.04 * r.random())),
            "poor_villages_total": t["poor_villages"],
            "power_living_villages": t["poor_villages"],
            "power_production_villages": round(t["poor_villages"] * min(1.0, progress + 0.2)),
            "schools_renovated": r.randint(0, 12),
            "kindergartens_built": r.randint(0, 4),
            "preschool_children": children,
            "preschool_enrolled": round(children * (0.75 + 0.12 * progress)),
            "highschool_age": hs_age,
            "highschool_enrolled": round(hs_age * (0.85 + 0.1 * progress)),
            "households_total": households,
            "broadcast_households": round(households * progress),
        }

    # -- the domain forms (鄂扶贫06—12表) ---------------------------------------------------------

    def progress(self, code: str, year: int, salt: str) -> float:
        """How far along a unit is on a domain's targets in ``year`` (0.55 … 1, all done by the last year)."""
        if year >= self.last_year:
            return 1.0
        return min(1.0, 0.55 + 0.15 * (year - self.first_year) + 0.1 * rng_for(salt, code).random())

    def village_domain_row(self, form: str, village: str, year: int) -> dict[str, Any]:
        """A township clerk's row for a village on forms 06, 07, 08 and 10."""
        vb = self.baseline.villages.get(village)
        poor_h = vb.poor_households if vb else 0
        poor_p = vb.poor_people if vb else 0
        r = rng_for(form, village, year)
        p = self.progress(village, year, form)

        def yes(chance: float) -> str:
            return "是" if r.random() < chance else "否"

        def most(chance: float) -> float:
            """The chance a standard is met: ``chance``, or always without shortfalls."""
            return chance if self.shortfalls else 1.0

        if form == "industry":
            labour_p = round(poor_p * 0.75)
            needed = round(labour_p * 0.4)
            eligible = round(poor_h * 0.3)
            labour_h = round(poor_h * 0.7)
            return {
                "has_special_industry": yes(p),
                "industry_orgs": 1 + r.randint(0, 1) if r.random() < most(max(p, 0.95)) else 0,
                "mutual_fund_orgs": 1 if r.random() < p - 0.1 else 0,
                "labour_households": labour_h,
                "coop_households": labour_h if r.random() < most(0.95) else round(labour_h * p),
                "labour_people": labour_p,
                "labour_exited": round(labour_p * self.cum_share(village, year)),
                "entrepreneur_leaders": r.randint(1, 3) if r.random() < most(max(p, 0.95)) else 0,
                "training_needed": needed,
                "training_done": round(needed * p),
                "credit_eligible": eligible,
                "credit_households": round(eligible * p),
            }
        if form == "social_protection":
            welfare = round(poor_p * 0.3)
            eligible = round(welfare * 0.9)
            willing = round(welfare * 0.05)
            payers = round(poor_p * 0.4)
            hardship = r.randint(0, 3) if poor_p else 0
            return {
                "poor_people_now": poor_p,
                "welfare_objects": welfare,
                "welfare_exited": round(welfare * self.cum_share(village, year)),
                "welfare_eligible": eligible,
                "welfare_included": eligible,
                "five_guarantee_willing": willing,
                "five_guarantee_centralised": round(willing * p),
                "illness_relief_people": round(poor_p * min(1.0, p + 0.1)),
                "medical_service_people": poor_p,
                "pension_payers": payers,
                "pension_paid": round(payers * min(1.0, p + 0.05)),
                "hardship_cases": hardship,
                "hardship_relieved": hardship,
            }
        if form == "village_services":
            flags = ("whole_village_done", "six_to_farm", "pollution_control", "grid_upgraded")
            flags += ("remote_service", "express_service", "doctor_trained", "clinic_standard")
            flags += ("preschool_available", "culture_centre", "land_consolidation")
            row = {key: yes(p) for key in flags}
            row["unified_design"] = "是" if r.random() < 0.1 else "无搬迁"
            return row
        if form == "support":
            return {
                "has_partner_unit": "是",
                "has_work_team": "是",
                "has_first_secretary": yes(most(0.97)),
                "partner_withdrawn": "否",
                "work_team_members": r.randint(2, 5),
                "households_now": poor_h,
                "households_helped": poor_h,
            }
        return {}

    def county_domain_row(self, form: str, county: str, year: int) -> dict[str, Any]:
        """What a county office types into its own forms 09, 11 and 12."""
        t = self.baseline.totals(self.registry, county)
        r = rng_for(form, county, year)
        p = self.progress(county, year, form)
        townships = len(self.registry.children(county))
        villages = max(t["villages"], 1)
        if form == "county_services":
            costs_2015 = round(2000 + 3000 * r.random(), 1)
            costs = round(costs_2015 * (1.1 + 0.1 * r.random()), 1)
            hazards = 20 + r.randint(0, 40)
            land = round(50 + 100 * r.random(), 1)
            return {
                "vocational_schools": 1,
                "teachers_trained": 300 + r.randint(0, 900),
                "culture_facilities_ok": "是" if r.random() < p else "否",
                "outpatient_pooling": "是",
                "health_on_par": "是" if r.random() < p - 0.2 else "否",
                "gas_connected": "是" if r.random() < p else "否",
                "returned_entered": "是",
                "inpatient_costs_2015": costs_2015,
                "inpatient_paid_2015": round(costs_2015 * 0.55, 1),
                "inpatient_costs": costs,
                "inpatient_paid": round(costs * min(0.9, 0.55 + 0.2 * p), 1),
                "road_hazards": hazards,
                "road_hazards_fixed": round(hazards * p),
                "reloc_land_needed": land,
                "reloc_land_planned": land,
                "dilapidated_subsidy_multiple": round(1.5 + p, 1),
                "resident_population_10k": round(villages * 0.25, 1),
                "orphans": r.randint(50, 400),
                "child_welfare_institutions": 1,
                "townships": townships,
                "townships_care_centre": townships,
            }
        if form == "funding":
            special = round(3000 + 5000 * r.random(), 1)
            increase = round(5000 + 10000 * r.random(), 1)
            stock = round(1000 + 2000 * r.random(), 1)
            land = round(1000 + 3000 * r.random(), 1)
            return {
                "special_funds": round(special * (1.1 + 0.3 * r.random()), 1),
                "special_funds_prior": special,
                "integrated_funds": round(special * 2.5, 1),
                "revenue_increase": increase,
                "budget_added": round(increase * (0.15 + 0.05 * r.random()), 1),
                "stock_funds": stock,
                "stock_funds_poverty": round(stock * (0.5 + 0.3 * r.random()), 1),
                "county_matching": 0,
                "land_project_funds": land,
                "land_village_funds": round(land * 0.15 * r.random(), 1),
            }
        if form == "regions":
            people = villages * 1200
            rural = round(people * 0.55)
            urban = people - rural
            income = self.catalog.parameter("provincial_rural_income", year) * (0.7 + 0.1 * p)
            gdp = round(100 + 200 * r.random(), 2)
            revenue = round(50000 + 50000 * r.random(), 1)
            forest = round(0.55 + 0.15 * r.random(), 3)
            return {
                "gdp": gdp,
                "gdp_prior": round(gdp / (1.07 + 0.04 * r.random()), 2),
                "fiscal_revenue": revenue,
                "fiscal_revenue_prior": round(revenue / (1.06 + 0.08 * r.random()), 1),
                "resident_population": people,
                "urban_population": urban,
                "fiscal_per_capita_ratio": round(0.5 + 0.3 * p, 3),
                "rural_residents": rural,
                "resident_rural_income": round(income, 2),
                "rural_income_prior": round(income / (1.08 + 0.04 * r.random()), 2),
                "urban_income": round(income * 2.4, 2),
                "urban_income_prior": round(income * 2.4 / (1.07 + 0.04 * r.random()), 2),
                "urban_income_ratio": round(0.6 + 0.2 * p, 3),
                "townships": townships,
                "townships_class2_road": round(townships * p),
                "admin_villages": villages,
                "villages_bus": round(villages * min(1.0, p + 0.1)),
                "hs_age_all": rural // 30,
                "hs_enrolled_all": round(rural // 30 * (0.8 + 0.15 * p)),
                "ncms_members_all": round(rural * (0.97 + 0.03 * r.random())),
                "pension_eligible_all": round(people * 0.45),
                "pension_insured_all": round(people * 0.45 * (0.88 + 0.1 * p)),
                "natural_growth_rate": round(4 + 3 * r.random(), 2),
                "land_area": round(villages * 8.5, 1),
                "forest_cover": forest,
                "forest_cover_2015": round(forest - 0.012 * p, 3),
            }
        return {}

    # -- a whole workbook -----------------------------------------------------------------------

    def township_values(self, spec: WorkbookSpec, prefill: dict) -> dict[str, dict[str, dict[str, Any]]]:
        """Inputs a township clerk types for the period, merged over the prefilled baseline."""
        makers = {
            "poverty_progress": self.people_row,
            "village_exit": self.village_exit_row,
            "key_projects": self.key_projects_row,
            **{
                form: (lambda code, year, form=form: self.village_domain_row(form, code, year))
                for form in ("industry", "social_protection", "village_services", "support")
            },
        }
        values: dict[str, dict[str, dict[str, Any]]] = {}
        for sheet in spec.sheets:
            make = makers.get(sheet.form)
            rows = {code: dict(row) for code, row in prefill.get(sheet.form, {}).items()}
            if make:
                for r in sheet.rows:
                    rows.setdefault(r.code, {}).update(make(r.code, spec.period))
            values[sheet.form] = rows
        return values

    def county_own_values(self, spec: WorkbookSpec) -> dict[str, dict[str, dict[str, Any]]]:
        """What a county office types into its own forms (infrastructure, county services, funding, regions)."""
        code, year = spec.unit_code, spec.period
        values = {"infrastructure": {code: self.infrastructure_row(code, year)}}
        for form in ("county_services", "funding", "regions"):
            if form in {s.form for s in spec.sheets}:
                values[form] = {code: self.county_domain_row(form, code, year)}
        return values

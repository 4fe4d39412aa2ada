"""Crafted household rosters for the tests: a clean township roster, and one mistake at a time."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from hbreport.checks.idcard import check_char
from hbreport.households.spec import Household, build_roster_spec

PERIOD = 2017
TOWNSHIP = "421122100000"  # 红安县城关镇
OTHER_TOWNSHIP = "421122101000"  # 红安县梅塘镇
LINE = 2952  # the sample poverty line of 2017 in indicators.yaml (parameters.poverty_line)
CHECKLIST = (  # 两不愁、四保障: every household
    "food_secure",
    "clothing_secure",
    "education_secure",
    "medical_secure",
    "housing_secure",
    "pension_secure",
)
WORK_CHECKLIST = ("has_income_source", "has_skill")  # 一有 and a skill: 有劳动能力 households
# the sample provincial rural incomes of 2016 and 2017 (parameters.provincial_rural_income): 8.5 % growth
RURAL_2016, RURAL_2017 = 12725, 13812


def id_number(county: str, serial: int, *, born: str | None = None) -> str:
    """A valid 18-digit resident ID for ``county`` (6 digits), distinct per serial."""
    birth = born or f"19{50 + serial % 40:02d}{1 + serial % 12:02d}{1 + serial % 28:02d}"
    body = f"{county}{birth}{serial % 1000:03d}"
    return body + check_char(body)


def households(
    registry, township: str, per_village: int = 3, villages: int = 4, start: int = 0
) -> list[Household]:
    """``per_village`` households in each of the township's first ``villages`` villages, valid IDs."""
    out = []
    serial = start
    for village in registry.children(township)[:villages]:
        for seq in range(1, per_village + 1):
            serial += 1
            out.append(
                Household(
                    household_id=f"{village.code}{seq:04d}",
                    head_name=f"户主{serial}",
                    village_code=village.code,
                    village_name=village.name,
                    id_number=id_number(township[:6], serial),
                    household_size=1 + serial % 5,
                )
            )
    return out


def clean_inputs(hh: list[Household], *, period: int = PERIOD) -> dict[str, dict[str, Any]]:
    """Plausible, rule-abiding inputs: exited this year, earlier, not exited, 返贫 and 新识别 mixed."""
    values = {}
    for i, h in enumerate(hh):
        kind = i % 5
        row: dict[str, Any] = {
            "poverty_cause": ("因病", "缺技术", "因学", "缺资金", "因残")[i % 5],
            "household_type": "一般贫困户",
            "sick_members": 1 if i % 5 == 0 else 0,
            "students": 1 if i % 5 == 2 else 0,
            "helper_name": "李帮扶",
            "newly_identified": "否",
            "labour_capacity": "普通劳动力",
            "health_status": "长期慢性病" if i % 5 == 0 else "健康",
            "school_status": "初中" if i % 5 == 2 else "非在校生",
            "welfare_status": "否",
            "income_previous": round(LINE * 0.5) + 3 * i,
            **dict.fromkeys(WORK_CHECKLIST, "是"),
        }
        if kind == 1:  # exited earlier through the welfare route: cannot work, 低保
            row.update(labour_capacity="丧失劳动力", welfare_status="低保", household_type="低保贫困户")
            row.update(dict.fromkeys(WORK_CHECKLIST, "否"))
        if kind in (0, 1):  # exited: this period, or the one before
            row.update(dict.fromkeys(CHECKLIST, "是"), dilapidated_house="否", safe_water="是")
            row.update(
                income_per_capita=LINE * 2 + 37 * i,
                exit_status="已脱贫(享受政策)" if kind == 0 else "已脱贫(不再享受政策)",
                exit_year=period if kind == 0 else period - 1,
            )
        else:
            row.update(dict.fromkeys(CHECKLIST, "是"), dilapidated_house="否", safe_water="是")
            row.update(income_per_capita=LINE * 0.7 + 11 * i, food_secure="否", exit_year=None)
            row["exit_status"] = {2: "未脱贫", 3: "返贫", 4: "未脱贫"}[kind]
            if kind == 3:
                row["exit_year"] = period - 1
            if kind == 4:
                row["newly_identified"] = "是"
        values[h.household_id] = row
    return values


@dataclass
class Case:
    """One planted mistake: what to change, the rule ids it must raise, and the field of the cell."""

    name: str
    change: Callable[[list[Household], dict[str, dict[str, Any]]], None]
    rules: frozenset[str]
    field: str
    household: int  # index of the household that carries it


def _set(i: int, **kw) -> Callable:
    def change(hh, values):
        values[hh[i].household_id].update(kw)

    return change


def _prefill(i: int, **kw) -> Callable:
    def change(hh, values):
        hh[i] = replace(hh[i], **kw)

    return change


def _bad_check_digit(i: int) -> Callable:
    def change(hh, values):
        number = hh[i].id_number
        wrong = "0" if number[17] != "0" else "1"
        hh[i] = replace(hh[i], id_number=number[:17] + wrong)

    return change


def _bad_birth_date(i: int) -> Callable:
    def change(hh, values):
        body = f"{TOWNSHIP[:6]}19701332123"  # month 13: the check digit is right, the date is not
        hh[i] = replace(hh[i], id_number=body + check_char(body))

    return change


def _duplicate(i: int, j: int) -> Callable:
    def change(hh, values):
        hh[j] = replace(hh[j], id_number=hh[i].id_number)

    return change


# Household 0 exited this year, 1 earlier, 2 not exited (因学), 3 返贫, 4 新识别 (not exited).
CASES = [
    Case("id blank", _prefill(2, id_number=None), frozenset({"HR01"}), "id_number", 2),
    Case("id check digit", _bad_check_digit(1), frozenset({"HR02"}), "id_number", 1),
    Case("id birth date", _bad_birth_date(1), frozenset({"证件号码"}), "id_number", 1),
    Case("size blank", _prefill(2, household_size=None), frozenset({"HR03"}), "household_size", 2),
    Case("cause blank", _set(1, poverty_cause=None), frozenset({"HR04"}), "poverty_cause", 1),
    Case("type blank", _set(2, household_type=None), frozenset({"HR05"}), "household_type", 2),
    Case("income blank", _set(2, income_per_capita=None), frozenset({"HR06"}), "income_per_capita", 2),
    Case("status blank", _set(4, exit_status=None), frozenset({"HR07"}), "exit_status", 4),
    Case("checklist blank", _set(2, pension_secure=None), frozenset({"HR08"}), "pension_secure", 2),
    Case("income zero", _set(2, income_per_capita=0), frozenset({"HR09"}), "income_per_capita", 2),
    Case("income too high", _set(1, income_per_capita=150_000), frozenset({"HR09"}), "income_per_capita", 1),
    Case("exited below line", _set(0, income_per_capita=LINE - 1), frozenset({"HR10"}), "exit_status", 0),
    Case("exited at the line", _set(0, income_per_capita=LINE), frozenset({"HR10"}), "exit_status", 0),
    Case("exited dilapidated", _set(1, dilapidated_house="是"), frozenset({"HR11"}), "exit_status", 1),
    Case("exited without water", _set(0, safe_water="否"), frozenset({"HR12"}), "exit_status", 0),
    Case("exited checklist", _set(0, medical_secure="否"), frozenset({"HR13"}), "exit_status", 0),
    Case("exited no labour", _set(0, labour_capacity=None), frozenset({"HR20"}), "exit_status", 0),
    Case("exited no main income", _set(0, has_income_source="否"), frozenset({"HR21"}), "exit_status", 0),
    Case("exited no skill", _set(0, has_skill=None), frozenset({"HR22"}), "exit_status", 0),
    Case(
        "exited growth too low",
        _set(0, income_previous=LINE * 2),  # this year's income is LINE * 2: no growth
        frozenset({"HR23"}),
        "exit_status",
        0,
    ),
    Case("exited previous blank", _set(0, income_previous=None), frozenset({"HR23"}), "exit_status", 0),
    Case(
        "welfare route not covered",
        _set(1, welfare_status="否", household_type="一般贫困户"),  # the attribute following the status
        frozenset({"HR24"}),
        "exit_status",
        1,
    ),
    Case("exited no year", _set(0, exit_year=None), frozenset({"HR14"}), "exit_status", 0),
    Case("exited after period", _set(0, exit_year=PERIOD + 1), frozenset({"HR14"}), "exit_status", 0),
    Case("not exited with year", _set(2, exit_year=PERIOD - 1), frozenset({"HR15"}), "exit_status", 2),
    Case("sick > size", _set(0, sick_members=40), frozenset({"HR16", "超出范围"}), "sick_members", 0),
    Case("students > size", _set(2, students=9), frozenset({"HR17"}), "students", 2),
    Case("因病 no sick", _set(0, sick_members=0), frozenset({"HR18"}), "poverty_cause", 0),
    Case("因学 no student", _set(2, students=0), frozenset({"HR19"}), "poverty_cause", 2),
    Case("一般贫困户 on 低保", _set(2, welfare_status="低保"), frozenset({"HR26"}), "household_type", 2),
    Case(
        "低保贫困户 no longer on 低保",
        _set(1, welfare_status="五保"),  # exited through the welfare route: HR24 holds, HR26 does not
        frozenset({"HR26"}),
        "household_type",
        1,
    ),
    Case("welfare blank", _set(2, welfare_status=None), frozenset({"HR27"}), "welfare_status", 2),
    Case(
        "exited without labour, welfare blank",
        _set(1, welfare_status=None),  # blank is not 低保/五保: the 兜底 route is not shown either
        frozenset({"HR24", "HR27"}),
        "welfare_status",
        1,
    ),
    Case("duplicate id", _duplicate(0, 6), frozenset({"证件重号"}), "id_number", 6),
    Case(
        "choice not in list",
        _set(1, poverty_cause="生病"),
        frozenset({"选项", "HR04"}),
        "poverty_cause",
        1,
    ),
    Case(
        "text for income",
        _set(2, income_per_capita="三千"),
        frozenset({"文本", "HR06"}),
        "income_per_capita",
        2,
    ),
]


def crafted(registry, catalog, case: Case | None = None, township: str = TOWNSHIP, **kw):
    """(spec, inputs) of the clean roster, with ``case`` planted."""
    hh = households(registry, township, **kw)
    values = clean_inputs(hh)
    if case is not None:
        values = copy.deepcopy(values)
        case.change(hh, values)
    spec = build_roster_spec(township, PERIOD, hh, registry=registry, catalog=catalog)
    return spec, values

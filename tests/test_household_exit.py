"""The household exit standard of plan 三(三) on the roster, and the fuller 建档立卡 export import.

- each criterion (income above the line, 两不愁四保障, 危房, 饮水; for 有劳动能力 households 一有, a
  skill, income growth above the province's; for 无劳动能力 households 低保/五保 兜底) met and missed
  one at a time: 达到脱贫标准 and the rules naming what a household declared exited lacks, in Python and
  as LibreOffice recalculates the written roster;
- the numbers come from templates/indicators.yaml (poverty line, provincial rural incomes, the 70 % of
  the county's income where the county's value is set);
- consolidation counts the households declared exited and those meeting the standard;
- an export with the national system's headers (CSV or XLSX, a title row above, units in brackets,
  the system's words for a choice) fills the roster's columns.
"""

from __future__ import annotations

import copy
import csv
from dataclasses import replace
from pathlib import Path

import openpyxl
import pytest
from household_cases import LINE, PERIOD, RURAL_2016, RURAL_2017, TOWNSHIP, households

from hbreport import office
from hbreport.households import (
    RosterData,
    RosterStore,
    build_roster_spec,
    consolidate_rosters,
    generate_rosters,
    read_export,
    read_roster,
    write_roster,
)
from hbreport.households.columns import check_texts
from hbreport.xlsx.layout import HEADER_ROW, SheetLayout

COMMON = (
    "food_secure",
    "clothing_secure",
    "education_secure",
    "medical_secure",
    "housing_secure",
    "pension_secure",
)

WORKING = {  # 有劳动能力, exits this period: income doubled since last year
    "poverty_cause": "缺资金",
    "household_type": "一般贫困户",
    "labour_capacity": "普通劳动力",
    "health_status": "健康",
    "school_status": "非在校生",
    "welfare_status": "否",
    "income_per_capita": LINE * 2,
    "income_previous": LINE // 2,
    "sick_members": 0,
    "students": 0,
    **dict.fromkeys(COMMON, "是"),
    "has_income_source": "是",
    "has_skill": "是",
    "dilapidated_house": "否",
    "safe_water": "是",
    "helper_name": "李帮扶",
    "exit_status": "已脱贫(享受政策)",
    "exit_year": PERIOD,
    "newly_identified": "否",
}
WELFARE = {  # 无劳动能力: carried by 五保, no main income source or skill needed
    **WORKING,
    "poverty_cause": "缺劳力",
    "household_type": "特困供养(五保)贫困户",
    "labour_capacity": "丧失劳动力",
    "welfare_status": "五保",
    "has_income_source": "否",
    "has_skill": "否",
    "income_per_capita": LINE + 300,
    "income_previous": LINE + 300,  # no growth: not asked of the welfare route
}
# growth at the edge: this year ÷ last year exactly the province's (13812 ÷ 12725) is not "高于"
EDGE_PREVIOUS, EDGE_NOW = RURAL_2016 * 2, RURAL_2017 * 2

# (name, base, change, meets the standard, rule ids on the row)
CASES = [
    ("work route met", WORKING, {}, "是", set()),
    ("welfare route met", WELFARE, {}, "是", set()),
    ("work: at the line", WORKING, {"income_per_capita": LINE}, "否", {"HR10"}),
    ("work: no main income", WORKING, {"has_income_source": "否"}, "否", {"HR21"}),
    ("work: no skill", WORKING, {"has_skill": "否"}, "否", {"HR22"}),
    (
        "work: growth equal",
        WORKING,
        {"income_previous": EDGE_PREVIOUS, "income_per_capita": EDGE_NOW},
        "否",
        {"HR23"},
    ),
    (
        "work: growth just above",
        WORKING,
        {"income_previous": EDGE_PREVIOUS, "income_per_capita": EDGE_NOW + 1},
        "是",
        set(),
    ),
    ("work: no previous income", WORKING, {"income_previous": None}, "否", {"HR23"}),
    (
        "work: exited earlier, no growth",
        WORKING,
        {"income_previous": LINE * 2, "exit_year": PERIOD - 1},
        "是",
        set(),
    ),
    ("work: 危房", WORKING, {"dilapidated_house": "是"}, "否", {"HR11"}),
    ("work: no safe water", WORKING, {"safe_water": "否"}, "否", {"HR12"}),
    ("work: 看病难", WORKING, {"medical_secure": "否"}, "否", {"HR13"}),
    ("labour blank", WORKING, {"labour_capacity": None}, "否", {"HR20"}),
    (
        "welfare: not covered",
        WELFARE,
        {"welfare_status": "否", "household_type": "一般贫困户"},
        "否",
        {"HR24"},
    ),
    ("welfare: attribute not updated", WELFARE, {"welfare_status": "低保"}, "是", {"HR26"}),
    ("welfare: below the line", WELFARE, {"income_per_capita": LINE - 1}, "否", {"HR10"}),
    ("welfare: 养老难", WELFARE, {"pension_secure": "否"}, "否", {"HR13"}),
    (
        "not exited, would not meet",
        WORKING,
        {"exit_status": "未脱贫", "exit_year": None, "has_skill": "否"},
        "否",
        set(),
    ),
    ("not exited, would meet", WORKING, {"exit_status": "未脱贫", "exit_year": None}, "是", set()),
]


def _roster(registry, catalog, cases=CASES):
    hh = households(registry, TOWNSHIP, per_village=6, villages=4)[: len(cases)]
    assert len(hh) == len(cases)
    values = {}
    for h, (_, base, change, _, _) in zip(hh, cases, strict=True):
        values[h.household_id] = {**copy.deepcopy(base), **change}
    spec = build_roster_spec(TOWNSHIP, PERIOD, hh, registry=registry, catalog=catalog)
    return spec, values


def _failing(spec, row) -> set[str]:
    return {r.id for r in spec.sheets[0].rules if r.check(row) == "fail"}


def test_each_criterion_met_and_missed_in_python(registry, catalog):
    spec, values = _roster(registry, catalog)
    data = RosterData.from_values(spec, values)
    for h, (name, _, _, meets, rules) in zip(spec.households, CASES, strict=True):
        row = data.rows[h.household_id]
        assert row["meets_exit_standard"] == meets, name
        assert _failing(spec, row) == rules, name


def test_the_standard_numbers_come_from_the_catalog(registry, catalog):
    """The poverty line and the provincial incomes of the year and the year before are parameters; the
    county 70 % rule (a warning: the plan says 力争) exists only where the county's income is set."""
    hh = households(registry, TOWNSHIP, per_village=1, villages=1)
    for year in range(2016, 2021):
        formula = build_roster_spec(TOWNSHIP, year, hh, registry=registry, catalog=catalog).sheets[0]
        formula = formula.column("meets_exit_standard").formula
        now = int(catalog.parameter("provincial_rural_income", year))
        before = int(catalog.parameter("provincial_rural_income", year - 1))
        assert f"> {int(catalog.poverty_line(year))}," in formula
        assert f"income_per_capita * {before} > income_previous * {now}" in formula
    spec = build_roster_spec(TOWNSHIP, PERIOD, hh, registry=registry, catalog=catalog)
    assert "HR25" not in {r.id for r in spec.sheets[0].rules}

    county = dict(catalog.parameters["county_rural_income"])
    county["by_county"] = {"421122": {PERIOD: 8000}}
    with_county = replace(catalog, parameters={**catalog.parameters, "county_rural_income": county})
    spec = build_roster_spec(TOWNSHIP, PERIOD, hh, registry=registry, catalog=with_county)
    rule = next(r for r in spec.sheets[0].rules if r.id == "HR25")
    ratio = catalog.number("HH_EXIT_INCOME_COUNTY_RATIO")
    assert rule.importance == "warning" and f"{ratio:g} * 8000" in rule.expr
    below = {**WORKING, "income_per_capita": 8000 * ratio / 100 - 1}
    assert rule.check(below) == "fail" and rule.check({**below, "income_per_capita": 5600}) == "pass"
    assert rule.check({**WELFARE, "income_per_capita": 3000}) == "pass"  # the work route's sentence only
    # a township of another county: no value set there, no rule
    other = build_roster_spec("421181100000", PERIOD, [], registry=registry, catalog=with_county)
    assert "HR25" not in {r.id for r in other.sheets[0].rules}


def test_the_catalog_entries_of_the_standard_are_collected_by_the_roster(catalog):
    from hbreport.coverage import coverage

    entries = {e.indicator.code: e for e in coverage(catalog).entries}
    for code in (
        "HH_EXIT_MAIN_INCOME_SOURCE",
        "HH_EXIT_SKILL",
        "HH_EXIT_INCOME_GROWTH",
        "HH_EXIT_INCOME_ABOVE_LINE",
        "HH_EXIT_INCOME_COUNTY_RATIO",
        "HH_EXIT_WELFARE_INCLUDED",
        "HH_WELFARE_ABOVE_LINE",
        "HH_EXIT_FIVE_DIFFICULTIES",
    ):
        assert any(w.table_no == "鄂扶贫05表" for w in entries[code].where), code


@pytest.mark.libreoffice
def test_each_criterion_as_libreoffice_recalculates_the_roster(registry, catalog, tmp_path):
    spec, values = _roster(registry, catalog)
    path = write_roster(spec, tmp_path / spec.file_name(), values=values)
    ws = openpyxl.load_workbook(office.recalculate(path, tmp_path / "lo"), data_only=True)[
        spec.sheets[0].sheet
    ]
    layout = SheetLayout(spec.sheets[0])
    data = RosterData.from_values(spec, values)
    rules = {r.id: r for r in spec.sheets[0].rules}
    texts = check_texts(spec.sheets[0], data.rows)  # what the Python side says of each row
    for h, (name, _, _, meets, failing) in zip(spec.households, CASES, strict=True):
        r = layout.row_index[h.household_id]
        shown = ws.cell(r, layout.col_index["meets_exit_standard"]).value
        assert shown == data.rows[h.household_id]["meets_exit_standard"] == meets, name
        check = ws.cell(r, layout.check_col).value or ""
        assert check == texts[h.household_id], name
        assert {p for p in check.split("；") if p} == {rules[i].message for i in failing}, name


def test_consolidation_counts_exits_meeting_the_standard(registry, catalog, tmp_path):
    spec, values = _roster(registry, catalog)
    write_roster(spec, tmp_path / "in" / spec.file_name(), values=values)
    summary = consolidate_rosters(
        tmp_path / "in", TOWNSHIP, PERIOD, tmp_path / "h.sqlite", registry=registry, catalog=catalog
    )
    declared = [
        (h, c)
        for h, c in zip(spec.households, CASES, strict=True)
        if {**c[1], **c[2]}["exit_status"].startswith("已脱贫") and {**c[1], **c[2]}["exit_year"] == PERIOD
    ]
    meeting = [(h, c) for h, c in declared if c[3] == "是"]
    assert 0 < len(meeting) < len(declared)
    assert summary.exits == {
        "declared": len(declared),
        "meeting": len(meeting),
        "declared_people": sum(h.household_size for h, _ in declared),
        "meeting_people": sum(h.household_size for h, _ in meeting),
    }
    assert f"本期申报脱贫 {len(declared)} 户" in summary.render()
    assert f"其中达到脱贫标准 {len(meeting)} 户" in summary.render()
    assert summary.to_dict()["exits"]["meeting"] == len(meeting)
    with RosterStore(tmp_path / "h.sqlite") as store:
        assert store.exit_counts(PERIOD, ["已脱贫(享受政策)"], under="421122")["declared"] == len(declared)


# ---------------------------------------------------------------- the fuller registration export

HEADER = [
    "户编号", "户主姓名", "证件号码", "家庭人口", "村代码", "所在村",
    "主要致贫原因", "贫困户属性", "劳动能力", "健康状况", "在校生状况", "低保/五保",
    "人均纯收入（元）", "上年人均纯收入", "是否危房户", "脱贫属性", "脱贫年度",
]  # fmt: skip
ROWS = [  # what the export says → what the roster's cell must hold (None: left blank)
    (
        ["因病", "一般贫困户", "普通劳动力", "长期慢性病", "非在校生", "否", "3,218.5", "2800", "否", "未脱贫", ""],
        ["因病", "一般贫困户", "普通劳动力", "长期慢性病", "非在校生", "否", 3218.5, 2800, "否", "未脱贫", None],
    ),
    (
        ["缺劳力", "特困供养（五保）贫困户", "丧失劳动能力", "残疾", "非在校生", "五保户", "3100", "3000", "否", "已脱贫(享受政策)", "2017"],
        ["缺劳力", "特困供养(五保)贫困户", "丧失劳动力", "残疾", "非在校生", "五保", 3100, 3000, "否", "已脱贫(享受政策)", 2017],
    ),
    (
        ["因学", "低保贫困户", "技能劳动力", "健康", "初中", "低保", "三千", "", "是", "未脱贫", ""],
        ["因学", "低保贫困户", "技能劳动力", "健康", "初中", "低保", "三千", None, "是", "未脱贫", None],
    ),
]  # fmt: skip
FILLED = [
    "poverty_cause", "household_type", "labour_capacity", "health_status", "school_status", "welfare_status",
    "income_per_capita", "income_previous", "dilapidated_house", "exit_status", "exit_year",
]  # fmt: skip


def _export_rows(registry):
    hh = households(registry, TOWNSHIP, per_village=1, villages=3)
    lines = [
        [h.household_id, h.head_name, h.id_number, h.household_size, h.village_code, h.village_name, *given]
        for h, (given, _) in zip(hh, ROWS, strict=True)
    ]
    return hh, lines


def _write_csv(path: Path, lines) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["建档立卡贫困户信息（全国扶贫开发信息系统导出）"])
        out.writerow(HEADER)
        out.writerows(lines)
    return path


def _write_xlsx(path: Path, lines) -> Path:
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["建档立卡贫困户信息（全国扶贫开发信息系统导出）"])
    ws.append(HEADER)
    for line in lines:  # as a spreadsheet holds them: numbers as numbers, codes as text
        ws.append([int(v) if isinstance(v, str) and v.isdigit() and len(v) < 9 else v for v in line])
    book.save(path)
    return path


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_a_fuller_export_fills_the_roster_columns(registry, catalog, tmp_path, kind):
    hh, lines = _export_rows(registry)
    writer = _write_csv if kind == "csv" else _write_xlsx
    export_path = writer(tmp_path / f"导出.{kind}", lines)
    export = read_export(export_path, registry=registry)
    got = {h.household_id: dict(h.extra) for h in export.township(TOWNSHIP)}
    for h, (_, want) in zip(hh, ROWS, strict=True):
        expected = {k: v for k, v in zip(FILLED, want, strict=True) if v is not None}
        assert got[h.household_id] == expected

    (path,) = generate_rosters(
        PERIOD,
        under=TOWNSHIP,
        roster_csv=export_path,
        out_dir=tmp_path / "out",
        registry=registry,
        catalog=catalog,
    )
    spec = build_roster_spec(TOWNSHIP, PERIOD, hh, registry=registry, catalog=catalog)
    layout = SheetLayout(spec.sheets[0])
    ws = openpyxl.load_workbook(path)[spec.sheets[0].sheet]
    header = {ws.cell(HEADER_ROW, layout.col_index[k]).value.split("\n")[0]: k for k in FILLED}
    assert {"致贫原因", "贫困户属性", "劳动能力", "健康状况", "在校生情况", "低保五保", "人均纯收入"} <= set(
        header
    )
    for h, (_, want) in zip(hh, ROWS, strict=True):
        r = layout.row_index[h.household_id]
        for key, value in zip(FILLED, want, strict=True):
            cell = ws.cell(r, layout.col_index[key])
            assert cell.value == value, (h.household_id, key)
            assert cell.protection.locked is False  # the township corrects them
    # read back against the export: no prefill complaint; the export's bad values flagged by the checks
    roster = read_roster(path, registry=registry, catalog=catalog, export=export)
    rules = {f.rule for f in roster.findings}
    assert not {r for r in rules if "PREFILL" in r or "预填" in r}
    third = roster.rows[hh[2].household_id]
    assert third["income_per_capita"] is None  # "三千": text in a number cell, named on its cell
    assert any(f.cell == roster.cell(hh[2].household_id, "income_per_capita") for f in roster.findings)
    assert roster.rows[hh[1].household_id]["labour_capacity"] == "丧失劳动力"


@pytest.mark.parametrize("fuller", [True, False], ids=["fuller", "plain"])
def test_the_store_gives_a_township_as_the_export_does(registry, tmp_path, fuller):
    """What a reading process takes from the store (ExportIndex), a fuller export's values too, is
    the export's own households, in its order."""
    from hbreport.households import RosterStore, write_export
    from hbreport.households.export import ExportIndex

    if fuller:
        export_path = _write_csv(tmp_path / "导出.csv", _export_rows(registry)[1])
    else:
        export_path = write_export(tmp_path / "plain.csv", households(registry, TOWNSHIP))
    want = read_export(export_path, registry=registry).township(TOWNSHIP)
    store_path = tmp_path / "store.sqlite"
    with RosterStore(store_path) as store:
        sha256, _ = store.index_export(export_path, registry=registry)
    index = ExportIndex(store_path, sha256, export_path)
    try:
        got = index.township(TOWNSHIP)
    finally:
        index.close()
    assert got == want and [h.extra for h in got] == [h.extra for h in want]
    assert any(h.extra for h in got) is fuller


def test_without_a_welfare_column_the_household_type_says_it(registry, tmp_path):
    hh, lines = _export_rows(registry)
    gone = HEADER.index("低保/五保")
    path = tmp_path / "no-welfare.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        out = csv.writer(fh)
        out.writerow([h for i, h in enumerate(HEADER) if i != gone])
        out.writerows([v for i, v in enumerate(line) if i != gone] for line in lines)
    got = [dict(h.extra) for h in read_export(path, registry=registry).township(TOWNSHIP)]
    assert [g["household_type"] for g in got] == ["一般贫困户", "特困供养(五保)贫困户", "低保贫困户"]
    assert [g["welfare_status"] for g in got] == ["否", "五保", "低保"]


def test_a_short_export_still_gives_blank_inputs(registry, catalog, tmp_path):
    hh = households(registry, TOWNSHIP, per_village=1, villages=2)
    from hbreport.households import write_export

    export_path = write_export(tmp_path / "short.csv", hh)
    assert all(h.extra == () for h in read_export(export_path, registry=registry).township(TOWNSHIP))
    (path,) = generate_rosters(
        PERIOD,
        under=TOWNSHIP,
        roster_csv=export_path,
        out_dir=tmp_path / "out",
        registry=registry,
        catalog=catalog,
    )
    roster = read_roster(path, registry=registry, catalog=catalog)
    assert all(row["labour_capacity"] is None for row in roster.rows.values())

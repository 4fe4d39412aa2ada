"""Tasks per unit and year: the derived tasks add up to the plan, year by year and level by level;
poor counties finish in their 摘帽 year; a table that does not add up is refused with the units named."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest

from hbreport import paths
from hbreport.baseline import load_baseline
from hbreport.catalog import load_catalog
from hbreport.cli import run
from hbreport.errors import HBError
from hbreport.registry import load_registry
from hbreport.tasks import (
    COUNTY_SCHEDULE,
    UnitTasks,
    check_sums,
    derive_tasks,
    load_tasks,
    load_unit_tasks,
    project_indicators,
)
from hbreport.tasks.split import apportion, split_series
from hbreport.tasks.table import tasks_csv

PEOPLE, VILLAGES = "SCHED_PEOPLE_EXIT", "SCHED_VILLAGE_EXIT"


@pytest.fixture(scope="module")
def registry():
    return load_registry()


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


@pytest.fixture(scope="module")
def baseline():
    return load_baseline()


@pytest.fixture(scope="module")
def sample(registry, catalog):
    """The shipped samples/hubei/tasks.csv."""
    return load_tasks(paths.SAMPLE_TASKS, catalog)


@pytest.fixture(scope="module")
def tasks(registry, catalog, baseline):
    return load_unit_tasks(registry=registry, catalog=catalog, baseline=baseline)


def province_code(registry) -> str:
    return registry.at_level("province")[0].code


def test_the_shipped_sample_is_the_derived_table(registry, catalog, baseline, sample):
    derived = derive_tasks(registry, catalog, baseline, level="county")
    assert tasks_csv(derived, registry) == tasks_csv(sample, registry)
    levels = {registry.get(code).level for code in sample.units()}
    assert levels == {"province", "prefecture", "county"}


@pytest.mark.parametrize(
    ("indicator", "base"), [(PEOPLE, "BASE_POOR_PEOPLE"), (VILLAGES, "BASE_POOR_VILLAGES")]
)
def test_province_tasks_follow_the_plans_yearly_shares(registry, catalog, sample, indicator, base):
    unit = "人" if indicator == PEOPLE else "个"
    total = catalog.number(base, unit)
    series = sample.series(province_code(registry), indicator)
    assert sum(series.values()) == total  # 390万 people, 4613 villages
    done = 0
    for year in sorted(catalog[indicator].schedule):
        done += series[year]
        share = Decimal(repr(catalog.cumulative_share(indicator, year)))
        assert done == int((Decimal(int(total)) * share).quantize(Decimal(1))), year


@pytest.mark.slow
def test_children_add_up_to_parents_every_year_down_to_the_village(registry, catalog, baseline):
    table = derive_tasks(registry, catalog, baseline, level="village")
    assert check_sums(table, registry, catalog) == []
    # and the villages of one township carry exactly its people, year by year
    township = registry.children(registry.children(province_code(registry))[0].code)[0]
    township = registry.children(township.code)[0]
    for year in catalog[PEOPLE].schedule:
        villages = registry.children(township.code)
        assert (
            sum(table.series(v.code, PEOPLE)[year] for v in villages)
            == table.series(township.code, PEOPLE)[year]
        )


def test_county_exits_follow_the_counties_exit_years(registry, catalog, baseline, sample):
    years = {}
    for county in baseline.counties.values():
        if county.poor_county and county.exit_year:
            years[county.exit_year] = years.get(county.exit_year, 0) + 1
    series = sample.series(province_code(registry), COUNTY_SCHEDULE)
    assert {y: v for y, v in series.items() if v} == years
    assert sum(series.values()) == catalog.number("BASE_POOR_COUNTIES", "个")


def test_a_poor_county_finishes_in_its_exit_year_and_not_before(registry, catalog, baseline, tasks):
    checked = 0
    for county in baseline.counties.values():
        if not (county.poor_county and county.exit_year):
            continue
        totals = baseline.totals(registry, county.code)
        for indicator, key in ((PEOPLE, "poor_people"), (VILLAGES, "poor_villages")):
            assert tasks.cumulative(county.code, indicator, county.exit_year) == totals[key], county.name
            if county.exit_year > 2016 and totals[key] > 10:
                assert tasks.cumulative(county.code, indicator, county.exit_year - 1) < totals[key]
        # every township and village in it is due by then too
        for township in registry.children(county.code):
            due = tasks.cumulative(township.code, PEOPLE, county.exit_year)
            assert due == baseline.totals(registry, township.code)["poor_people"]
        checked += 1
    assert checked == catalog.number("BASE_POOR_COUNTIES", "个")


def test_a_2017_county_is_due_in_full_in_2017(registry, baseline, tasks):
    county = next(c for c in baseline.counties.values() if c.exit_year == 2017)
    base = baseline.totals(registry, county.code)["poor_people"]
    assert tasks.cumulative(county.code, PEOPLE, 2016) < base
    assert tasks.cumulative(county.code, PEOPLE, 2017) == base


def test_key_projects_are_split_pro_rata_to_poor_people(registry, catalog, baseline, sample):
    codes = project_indicators(catalog)
    assert {"RELOC_HOUSEHOLDS", "RELOC_PEOPLE"} <= set(codes)
    root = province_code(registry)
    for code in codes:
        ((deadline, total),) = sample.series(root, code).items()
        assert deadline == (catalog[code].deadline or catalog.end)
        for child in registry.children(root):
            share = (
                total
                * baseline.totals(registry, child.code)["poor_people"]
                / catalog.number("BASE_POOR_PEOPLE", "人")
            )
            assert abs(sample.series(child.code, code)[deadline] - share) < 1


def test_apportion_keeps_bounds_and_the_total():
    assert apportion(10, [3.3, 3.3, 3.4]) == [3, 3, 4]
    assert apportion(5, [0.5, 0.5, 4.0], lower=[1, 0, 0]) == [1, 0, 4]
    assert apportion(4, [2.0, 2.0], upper=[1, None]) == [1, 3]
    with pytest.raises(HBError, match="无法在下级之间分解"):
        apportion(3, [1.0, 2.0], upper=[1, 1])
    parts = split_series({2016: 7, 2017: 3}, [1, 1, 1], capped=True)
    assert [sum(p.values()) for p in parts] == [4, 3, 3] or sorted(sum(p.values()) for p in parts) == [
        3,
        3,
        4,
    ]
    assert [sum(p[y] for p in parts) for y in (2016, 2017)] == [7, 3]


def _rewrite(src: Path, dst: Path, change) -> None:
    with src.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    change(rows)
    with dst.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_tasks_that_do_not_add_up_are_refused_naming_the_units(tmp_path, registry, catalog, baseline):
    bad = tmp_path / "tasks.csv"

    def raise_one_county(rows):
        row = next(
            r for r in rows if r["code"] == "421122" and r["indicator"] == PEOPLE and r["period"] == "2016"
        )
        row["value"] = str(int(row["value"]) + 100)

    _rewrite(paths.SAMPLE_TASKS, bad, raise_one_county)
    with pytest.raises(HBError) as caught:
        load_unit_tasks(bad, registry=registry, catalog=catalog, baseline=baseline)
    message = str(caught.value)
    assert "任务分解不平衡" in message
    assert "黄冈市（421100）2016年「贫困人口年度脱贫进度（占2016年初贫困人口）」任务" in message
    assert "红安县" in message and "相差 100" in message
    assert run(["tasks", "check", str(bad)]) == 1


def test_a_missing_child_is_named(tmp_path, registry, catalog):
    bad = tmp_path / "tasks.csv"
    _rewrite(
        paths.SAMPLE_TASKS,
        bad,
        lambda rows: rows[:] and [rows.remove(r) for r in list(rows) if r["code"] == "421122"],
    )
    problems = check_sums(load_tasks(bad, catalog), registry, catalog)
    assert any("缺少 红安县（421122）" in p for p in problems)


def test_bad_rows_say_the_line(tmp_path, catalog):
    path = tmp_path / "tasks.csv"
    path.write_text("code,period,indicator,value\n420000,2016,SCHED_PEOPLE_EXIT,-5\n", encoding="utf-8")
    with pytest.raises(HBError, match="第 2 行：value 列"):
        load_tasks(path, catalog)
    path.write_text("code,period,indicator,value\n420000,2031,SCHED_PEOPLE_EXIT,5\n", encoding="utf-8")
    with pytest.raises(HBError, match="第 2 行：period 列"):
        load_tasks(path, catalog)
    path.write_text("code,period,indicator,value\n420000,2016,SCHED_PEOPLE_EXTI,5\n", encoding="utf-8")
    with pytest.raises(HBError, match="SCHED_PEOPLE_EXIT"):
        load_tasks(path, catalog)


def test_derive_command_writes_a_balanced_table(tmp_path):
    out = tmp_path / "tasks.csv"
    assert run(["tasks", "derive", "--level", "prefecture", "--out", str(out)]) == 0
    assert run(["tasks", "check", str(out)]) == 0
    assert out.read_bytes().startswith("\ufeffcode,name,period,indicator,value".encode())


def test_units_below_the_table_are_split_from_their_parent(registry, catalog, baseline, sample):
    tasks = UnitTasks(sample, registry, baseline, catalog)
    county = "421122000000"
    townships = registry.children(county)
    for year in catalog[PEOPLE].schedule:
        assert (
            sum(tasks.series(t.code, PEOPLE)[year] for t in townships) == sample.series(county, PEOPLE)[year]
        )


def test_a_county_given_two_exit_years_is_named(tmp_path, registry, catalog, baseline):
    """The county schedule: a county 摘帽s once; a table that gives it two years (kept in balance by moving a
    neighbour the other way) is refused, naming the county and the years."""
    bad = tmp_path / "tasks.csv"

    def second_year(rows):
        for code, period, delta in (("421122", "2018", 1), ("421121", "2018", -1)):
            row = next(
                r
                for r in rows
                if r["code"] == code and r["indicator"] == "SCHED_COUNTY_EXIT" and r["period"] == period
            )
            row["value"] = str(int(row["value"]) + delta)

    _rewrite(paths.SAMPLE_TASKS, bad, second_year)
    with pytest.raises(HBError) as caught:
        load_unit_tasks(bad, registry=registry, catalog=catalog, baseline=baseline)
    message = str(caught.value)
    assert "红安县（421122）的摘帽任务为 2017年 1、2018年 1：一个县只能在一年摘帽" in message
    assert "相差" not in message  # 黄冈市's counts still add up: this is the county's own check
    assert run(["tasks", "check", str(bad)]) == 1

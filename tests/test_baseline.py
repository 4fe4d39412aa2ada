"""The 建档立卡 baseline of the embedded sample: it sums to the plan's totals, level by level."""

from __future__ import annotations

import csv
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from hbreport import paths
from hbreport.baseline import REGIONS, load_baseline
from hbreport.errors import HBError
from hbreport.registry import load_registry

REPO_ROOT = Path(__file__).resolve().parent.parent


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_sample_baseline_sums_to_the_plans_totals(registry, baseline, catalog):
    totals = baseline.totals(registry, "420000")
    assert totals["poor_people"] == catalog.number("BASE_POOR_PEOPLE", "人")
    assert totals["poor_villages"] == catalog.number("BASE_POOR_VILLAGES", "个")
    assert totals["poor_counties"] == catalog.number("BASE_POOR_COUNTIES", "个")


def test_totals_match_a_plain_sum_of_the_files(registry, baseline):
    rows = read_rows(paths.SAMPLE_BASELINE)
    counties = read_rows(paths.SAMPLE_COUNTIES)
    totals = baseline.totals(registry, "420000")
    assert totals == {
        "poor_households": sum(int(r["poor_households"]) for r in rows),
        "poor_people": sum(int(r["poor_people"]) for r in rows),
        "poor_villages": sum(r["poor_village"] == "1" for r in rows),
        "poor_counties": sum(bool(r["poor_county"]) for r in counties),
        "villages": len(rows),
        "rural_population": sum(int(r["rural_population"]) for r in counties),
    }
    assert 1_200_000 <= totals["poor_households"] <= 1_400_000
    assert 2.8 <= totals["poor_people"] / totals["poor_households"] <= 3.2


def test_every_registry_village_has_exactly_one_baseline_row(registry, baseline):
    assert set(baseline.villages) == {unit.code for unit in registry.at_level("village")}


def test_each_level_is_the_sum_of_its_reporting_children(registry, baseline):
    province = baseline.totals(registry, "420000")
    children = [baseline.totals(registry, unit.code) for unit in registry.children("420000")]
    assert len(children) == 17
    for key in province:
        assert province[key] == sum(child[key] for child in children), key
    county = baseline.totals(registry, "421122")
    townships = [baseline.totals(registry, unit.code) for unit in registry.children("421122")]
    for key in ("poor_households", "poor_people", "poor_villages", "villages"):
        assert county[key] == sum(t[key] for t in townships), key
    assert county["poor_counties"] == 1 and all(t["poor_counties"] == 0 for t in townships)


def test_village_totals_are_its_own_row(registry, baseline):
    code = next(code for code, row in baseline.villages.items() if row.poor_village)
    row = baseline.villages[code]
    assert baseline.totals(registry, code) == {
        "poor_households": row.poor_households,
        "poor_people": row.poor_people,
        "poor_villages": 1,
        "poor_counties": 0,
        "villages": 1,
        "rural_population": 0,  # the county list gives it per county, not per village
    }


def test_the_37_poor_counties_as_in_the_exit_notices(baseline):
    poor = [county for county in baseline.counties.values() if county.poor_county]
    assert len(baseline.counties) == 103
    assert Counter(county.poor_county for county in poor) == {"national": 28, "provincial": 9}
    assert Counter(county.exit_year for county in poor) == {2017: 3, 2018: 17, 2019: 17}
    assert all(county.exit_year is None for county in baseline.counties.values() if not county.poor_county)
    assert {county.region for county in poor} == set(REGIONS) | {None}
    assert Counter(county.region for county in poor)["大别山"] == 8
    assert baseline.is_poor_county("421122") and baseline.region("421122") == "大别山"
    assert baseline.is_poor_county("429021000000") and baseline.region("429021") == "秦巴山"
    assert not baseline.is_poor_county("420102") and baseline.region("420102") is None
    assert baseline.counties["421122000000"].prefecture == "421100000000"
    assert baseline.counties["429004000000"].prefecture == "429000000000"


def test_poor_villages_sit_in_poor_counties_at_least_40_each(registry, baseline):
    for county in registry.at_level("county"):
        totals = baseline.totals(registry, county.code)
        if baseline.is_poor_county(county.code):
            assert totals["poor_villages"] >= 40, county.name
        else:
            assert totals["poor_villages"] == 0, county.name
    in_poor = sum(
        baseline.totals(registry, c.code)["poor_people"]
        for c in registry.at_level("county")
        if baseline.is_poor_county(c.code)
    )
    assert in_poor > baseline.totals(registry, "420000")["poor_people"] / 2
    not_poor_with_poor = [v for v in baseline.villages.values() if not v.poor_village and v.poor_people]
    assert not_poor_with_poor, "non-poor villages may still have poor households"


def test_make_sample_reproduces_the_committed_files(tmp_path, catalog):
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "samples" / "make_sample.py"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    for name in ("units.csv", "counties.csv", "baseline.csv"):
        assert (tmp_path / name).read_bytes() == (paths.SAMPLE_DIR / name).read_bytes(), name


# --- bad files -------------------------------------------------------------------------------

VILLAGES_HEAD = "code,poor_village,poor_households,poor_people\n421122100201,1,10,31\n"
COUNTIES_HEAD = (
    "code,name,prefecture,poor_county,region,exit_year\n421122,红安县,421100,national,大别山,2017\n"
)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("421122100202,2,0,0\n", "poor_village"),
        ("421122100202,0,-1,3\n", "poor_households"),
        ("421122100202,0,3,二\n", "poor_people"),
        ("421122100202,0,5,3\n", "不相符"),
        ("421122100202,0,0,3\n", "不相符"),
        ("421122100201,0,0,0\n", "重复"),
        ("4211221002,0,0,0\n", "代码"),
    ],
)
def test_malformed_baseline_names_file_and_line(tmp_path, body, words):
    villages = tmp_path / "bad-baseline.csv"
    villages.write_text(VILLAGES_HEAD + body, encoding="utf-8")
    counties = tmp_path / "counties.csv"
    counties.write_text(COUNTIES_HEAD, encoding="utf-8")
    with pytest.raises(HBError) as info:
        load_baseline(villages, counties)
    assert "bad-baseline.csv" in str(info.value) and "第 3 行" in str(info.value) and words in str(info.value)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("421121,团风县,421100,national,大别山区,2018\n", "片区"),
        ("421121,团风县,421100,poor,大别山,2018\n", "poor_county"),
        ("421125,浠水县,421100,,,2018\n", "摘帽"),
        ("421121,团风县,421100,national,大别山,二〇一八\n", "exit_year"),
        ("421122,红安县,421100,,,\n", "重复"),
    ],
)
def test_malformed_counties_names_file_and_line(tmp_path, body, words):
    villages = tmp_path / "baseline.csv"
    villages.write_text(VILLAGES_HEAD, encoding="utf-8")
    counties = tmp_path / "bad-counties.csv"
    counties.write_text(COUNTIES_HEAD + body, encoding="utf-8")
    with pytest.raises(HBError) as info:
        load_baseline(villages, counties)
    assert "bad-counties.csv" in str(info.value) and "第 3 行" in str(info.value) and words in str(info.value)


def test_missing_column_in_baseline(tmp_path):
    villages = tmp_path / "baseline.csv"
    villages.write_text("code,poor_village,poor_people\n421122100201,1,31\n", encoding="utf-8")
    with pytest.raises(HBError, match="poor_households"):
        load_baseline(villages, tmp_path / "counties.csv")


def test_sample_baseline_stays_with_the_sample_registry():
    """The sample's synthetic villages must not leak into another registry whose codes coincide."""
    from hbreport.baseline import baseline_for

    real = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "hubei-divisions-2016.csv"
    if not real.exists():
        pytest.skip("the real division tree is not beside the repository")
    sample = baseline_for(load_registry())
    assert sample.villages, "the sample registry keeps its village baseline"
    foreign = baseline_for(load_registry(real))
    assert foreign.villages == {}
    assert foreign.counties == sample.counties  # county attributes use real codes and carry over
    assert foreign.is_poor_county("421122")


def test_key_areas_of_the_plan_are_county_flags_blank_is_undetermined(tmp_path, baseline):
    """三(一)'s key areas as data: 1 是, 0 否, blank 未定 (never read as 否); a bad value names the line."""
    villages = tmp_path / "baseline.csv"
    villages.write_text(VILLAGES_HEAD, encoding="utf-8")
    counties = tmp_path / "counties.csv"
    counties.write_text(
        "code,name,prefecture,poor_county,region,exit_year,old_area,minority_area,hardship_area\n"
        "421122,红安县,421100,national,大别山,2017,1,0,\n"
        "421125,浠水县,421100,,,,,0,1\n",
        encoding="utf-8",
    )
    loaded = load_baseline(villages, counties)
    assert [loaded.area("421122", c) for c in ("old_area", "minority_area", "hardship_area")] == [
        True,
        False,
        None,
    ]
    assert loaded.area("421122", "interspersed_area") is None  # no column: 未定
    assert loaded.groups("421122100201") == ["大别山", "贫困县", "革命老区"]
    assert loaded.groups("421125") == ["片区外", "特困地区"]
    counties.write_text(
        "code,name,prefecture,poor_county,region,exit_year,minority_area\n421122,红安县,421100,,,,是的\n",
        encoding="utf-8",
    )
    with pytest.raises(HBError) as info:
        load_baseline(villages, counties)
    assert "第 2 行" in str(info.value) and "minority_area" in str(info.value) and "未定" in info.value.hint


def test_the_sample_marks_hubeis_autonomous_areas_as_minority_areas(baseline):
    """少数民族地区 = 民族自治地方: the counties of 恩施土家族苗族自治州 and the two 自治县 — checked against the
    official division tree where it is at hand, else against the sample's own names; the plan lists neither
    特困地区 nor 插花贫困地区, so the sample leaves both blank (未定) for every county."""
    from tests.conftest import REAL_DIVISIONS

    source = REAL_DIVISIONS if REAL_DIVISIONS.is_file() else paths.SAMPLE_UNITS
    rows = read_rows(source)
    names = {r["code"][:6]: r["name"] for r in rows}
    autonomous = {
        r["code"][:6]
        for r in rows
        if r["level"] == "county"
        and (r["name"].endswith("自治县") or names.get(r["parent"][:6], "").endswith("自治州"))
    }
    assert len(autonomous) == 10  # 恩施州's 8 counties and cities, 长阳, 五峰
    marked = {code[:6] for code, c in baseline.counties.items() if c.minority_area}
    assert marked == autonomous
    assert all(c.minority_area is False for code, c in baseline.counties.items() if code[:6] not in marked)
    assert all(c.hardship_area is None and c.interspersed_area is None for c in baseline.counties.values())

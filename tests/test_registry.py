"""The org-unit registry: the real NBS division tree of Hubei, the embedded sample, bad files."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from hbreport import paths
from hbreport.errors import HBError
from hbreport.registry import LEVELS, Unit, load_registry, normalize_code

REPO_ROOT = Path(__file__).resolve().parent.parent
REAL_DIVISIONS = REPO_ROOT.parent / "shared" / "data" / "hubei-divisions-2016.csv"
PROVINCE_DIRECT = {"429004": "仙桃市", "429005": "潜江市", "429006": "天门市", "429021": "神农架林区"}


@pytest.fixture(scope="module")
def real():
    if not REAL_DIVISIONS.exists():
        pytest.skip(f"the real division tree is not next to the repository ({REAL_DIVISIONS.name} absent)")
    return load_registry(REAL_DIVISIONS)


@pytest.fixture(scope="module")
def real_rows() -> list[dict[str, str]]:
    if not REAL_DIVISIONS.exists():
        pytest.skip(f"the real division tree is not next to the repository ({REAL_DIVISIONS.name} absent)")
    with REAL_DIVISIONS.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


# --- codes -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("421122", "421122000000"),
        (421122, "421122000000"),
        (" 421122000000 ", "421122000000"),
        ("421122100", "421122100000"),
        ("421122100201", "421122100201"),
    ],
)
def test_normalize_code_accepts_6_9_and_12_digits(given, expected):
    assert normalize_code(given) == expected


@pytest.mark.parametrize("bad", ["42112", "4211220", "4211221002011", "42112A", "", "４２１１２２"])
def test_normalize_code_rejects_other_lengths_and_non_digits(bad):
    with pytest.raises(HBError) as info:
        normalize_code(bad)
    assert "6 位" in str(info.value)


# --- the real tree ---------------------------------------------------------------------------


def test_real_tree_loads_whole_with_the_right_count_per_level(real, real_rows):
    assert len(real) == len(real_rows) == 31299
    assert real.count_by_level() == {
        "province": 1,
        "prefecture": 14,
        "county": 115,
        "township": 1482,
        "village": 29687,
    }
    assert real.source == REAL_DIVISIONS.resolve()


def test_province_reports_the_13_prefectures_and_the_4_province_direct_counties(real):
    children = real.children("420000")
    assert len(children) == 17
    by_level = Counter(unit.level for unit in children)
    assert by_level == {"prefecture": 13, "county": 4}
    direct = {unit.short_code: unit.name for unit in children if unit.level == "county"}
    assert direct == PROVINCE_DIRECT
    assert "429000000000" not in {unit.code for unit in children}
    assert [unit.code for unit in children] == sorted(unit.code for unit in children)


def test_province_direct_counties_report_straight_to_the_province(real):
    for code in PROVINCE_DIRECT:
        assert real.reporting_parent(code).code == "420000000000"
        assert [unit.short_code for unit in real.path(code)] == ["420000", code]
        assert real.get(code).parent == "429000000000"  # the raw tree keeps the virtual node
    assert real.get("429000").virtual
    assert real.reporting_parent("420000") is None


def test_wuhan_children_skip_the_shiqu_placeholder(real):
    children = real.children("420100")
    assert len(children) == 13
    assert all(unit.level == "county" and unit.name != "市辖区" for unit in children)
    assert "420101000000" not in {unit.code for unit in children}
    assert real.get("420101").name == "市辖区" and real.get("420101").virtual


def test_hongan_has_14_townships_and_every_real_village_under_each(real, real_rows):
    townships = real.children("421122")
    assert len(townships) == 14
    assert {unit.level for unit in townships} == {"township"}
    villages_in_file = Counter(row["parent"] for row in real_rows if row["level"] == "village")
    for township in townships:
        villages = real.children(township.code)
        assert {unit.level for unit in villages} == {"village"}
        assert len(villages) == villages_in_file[township.code] > 0
        assert all(real.reporting_parent(v.code) == township for v in villages)
    assert len(real.descendants("421122", "village")) == sum(villages_in_file[t.code] for t in townships)


def test_dummy_township_reports_like_a_township(real):
    stand_in = real.get("420205198000")
    assert stand_in.name == "区直辖村模拟镇" and stand_in.dummy
    assert [unit.code for unit in real.children("420205")] == ["420205198000"]
    village = real.children("420205198000")[0]
    assert [unit.level for unit in real.path(village.code)] == list(LEVELS)


def test_descendants_and_at_level_look_through_placeholders(real):
    counties = real.descendants("420000", "county")
    assert len(counties) == 103 == len(real.at_level("county"))
    assert {"429004000000", "429021000000"} <= {unit.code for unit in counties}
    assert not any(unit.name == "市辖区" for unit in counties)
    assert len(real.descendants("420000", "village")) == 29687
    assert len(real.at_level("prefecture")) == 13
    assert real.descendants("421122", "county") == []
    assert len(real.descendants("429000", "county")) == 4


def test_lookup_by_6_or_12_digit_code(real):
    assert real.get("421122") is real.get("421122000000") is real.get(421122)
    unit = real.get("421122")
    assert (unit.name, unit.level, unit.short_code) == ("红安县", "county", "421122")
    township = real.children("421122")[0]
    assert len(township.short_code) == 9 and township.code == township.short_code + "000"
    village = real.children(township.code)[0]
    assert village.short_code == village.code
    assert "421122" in real and "421122000000" in real
    assert "421199" not in real and "not a code" not in real
    with pytest.raises(HBError, match="不在单位名册中"):
        real.get("421199")


# --- the embedded sample -----------------------------------------------------------------------


def test_sample_has_17_prefecture_level_units_and_the_103_real_counties(registry, real):
    assert len(registry.children("420000")) == 17
    assert registry.get("429000").virtual
    assert {u.short_code for u in registry.at_level("prefecture")} == {
        u.short_code for u in real.at_level("prefecture")
    }
    sample_counties = {unit.code: unit.name for unit in registry.at_level("county")}
    real_counties = {unit.code: unit.name for unit in real.at_level("county")}
    assert len(sample_counties) == 103
    assert sample_counties == real_counties
    for county in registry.at_level("county"):
        assert registry.reporting_parent(county.code) == real.reporting_parent(county.code)


def test_sample_townships_and_villages_are_shaped_like_the_statistical_tree(registry):
    for county in registry.at_level("county"):
        townships = registry.children(county.code)
        assert 6 <= len(townships) <= 14, county.name
        assert len({t.name for t in townships}) == len(townships)
        for township in townships:
            assert township.code.startswith(county.short_code) and township.code.endswith("000")
            villages = registry.children(township.code)
            assert 8 <= len(villages) <= 20, township.name
            assert all(v.code.startswith(township.short_code) and v.level == "village" for v in villages)
            assert len({v.name for v in villages}) == len(villages)
    assert registry.get("421122").name == "红安县"


def test_load_registry_is_cached_until_the_file_changes(tmp_path):
    source = tmp_path / "units.csv"
    source.write_text("code,parent,name,level\n420000,,湖北省,province\n", encoding="utf-8")
    first = load_registry(source)
    assert load_registry(str(source)) is first
    source.write_text("code,parent,name,level\n420000,,湖北省,province\n421100,420000,黄冈市,prefecture\n")
    second = load_registry(source)
    assert second is not first and len(second) == 2


def test_our_level_names_chinese_names_bom_and_gbk_are_accepted(tmp_path):
    text = (
        "code,parent,name,level\n"
        "420000,,湖北省,省\n"
        "421100,420000,黄冈市,市州\n"
        "421122,421100,红安县,county\n"
        "421122100,421122,城关镇,乡镇\n"
        "421122100201,421122100,陈家河村,village\n"
    )
    for name, data in (("utf8-bom.csv", text.encode("utf-8-sig")), ("gbk.csv", text.encode("gbk"))):
        path = tmp_path / name
        path.write_bytes(data)
        registry = load_registry(path)
        assert [u.level for u in registry.path("421122100201")] == list(LEVELS)
        assert registry.get("421122100201") == Unit("421122100201", "陈家河村", "village", "421122100000")


# --- bad files -------------------------------------------------------------------------------

GOOD_HEAD = "code,parent,name,level,virtual,dummy\n420000000000,,湖北省,province,f,f\n"


@pytest.mark.parametrize(
    ("body", "line", "words"),
    [
        ("421100000000,420000000000,黄冈市,district,f,f\n", 3, "层级"),
        ("421100000000,420000000000,黄冈市,city,f,f\n421100,420000,黄冈,city,f,f\n", 4, "重复"),
        (
            "421100000000,420000000000,黄冈市,city,f,f\n421122000000,421199000000,红安县,county,f,f\n",
            4,
            "不在名册中",
        ),
        ("42110O000000,420000000000,黄冈市,city,f,f\n", 3, "代码"),
        ("421100000000,420000000000,黄冈市,city,maybe,f\n", 3, "virtual"),
        ("421100000000,420000000000,,city,f,f\n", 3, "名称"),
        ("421100000000,420000000000,黄冈市,city,f,f\n421122000000,421100000000,红安县,city,f,f\n", 4, "层级"),
        ("421100000000,,黄冈市,city,f,f\n", 3, "上级"),
    ],
    ids=[
        "unknown-level",
        "duplicate",
        "parent-missing",
        "non-digit",
        "bad-flag",
        "no-name",
        "parent-level",
        "orphan",
    ],
)
def test_malformed_registry_names_file_and_line(tmp_path, body, line, words):
    path = tmp_path / "bad-units.csv"
    path.write_text(GOOD_HEAD + body, encoding="utf-8")
    with pytest.raises(HBError) as info:
        load_registry(path)
    message = str(info.value)
    assert "bad-units.csv" in message
    assert f"第 {line} 行" in message
    assert words in message
    assert info.value.hint


def test_missing_column_is_reported_on_the_header_line(tmp_path):
    path = tmp_path / "no-level.csv"
    path.write_text("code,parent,name\n420000000000,,湖北省\n", encoding="utf-8")
    with pytest.raises(HBError) as info:
        load_registry(path)
    assert "no-level.csv" in str(info.value) and "第 1 行" in str(info.value) and "level" in str(info.value)


def test_missing_file_is_an_hberror(tmp_path):
    with pytest.raises(HBError, match="找不到"):
        load_registry(tmp_path / "absent.csv")


def test_sample_file_is_the_default():
    assert load_registry().source == paths.SAMPLE_UNITS.resolve()


def test_parsed_units_are_kept_between_runs_and_a_damaged_copy_is_parsed_again(tmp_path, monkeypatch):
    """The registry's units are parsed once per text and kept as JSON (hbreport.kept): read back they
    are the same units; a damaged copy is parsed again; a file with an error is never kept."""
    from hbreport import kept, registry

    monkeypatch.setattr(kept, "cache_dir", lambda: str(tmp_path / "cache"))
    (tmp_path / "cache").mkdir()
    text = Path(paths.SAMPLE_UNITS).read_text(encoding="utf-8-sig")
    parsed = registry._parse_registry(text, Path("units.csv"))
    assert registry._parse_kept(text, Path("units.csv")) == parsed
    (stored,) = (tmp_path / "cache").glob("hbreport-registry-*.json")
    assert registry._parse_kept(text, Path("units.csv")) == parsed  # now from the kept copy
    units = registry._parse_kept(text, Path("units.csv"))
    kept_tree, parsed_tree = registry.Registry(units), registry.Registry(parsed)
    assert kept_tree.get("421122") == parsed_tree.get("421122")
    assert 0 < len(units._made) < 100  # a unit is made when it is first asked for
    assert kept_tree.descendants("421122", "village") == parsed_tree.descendants("421122", "village")
    assert kept_tree.children("420000") == parsed_tree.children("420000")
    assert kept_tree.path("421122100201") == parsed_tree.path("421122100201")
    assert list(kept_tree) == list(parsed_tree) and len(kept_tree) == len(parsed_tree)
    assert "421122100201" in units and "421122100299" not in units and units.get("421122100299") is None
    stored.write_text('[["420000000000"], ["湖北省"]]', encoding="utf-8")  # columns of unequal length
    assert registry._parse_kept(text, Path("units.csv")) == parsed
    bad = text.replace("\n", "\n420000000000,,湖北省,province\n", 1)  # a duplicate code
    with pytest.raises(HBError, match="重复"):
        registry._parse_kept(bad, Path("units.csv"))
    with pytest.raises(HBError, match="重复"):
        registry._parse_kept(bad, Path("units.csv"))  # never kept: the message every time
    assert len(list((tmp_path / "cache").glob("hbreport-registry-*.json"))) == 1

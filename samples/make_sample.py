"""Make the embedded Hubei sample in samples/hubei/: units.csv, counties.csv and baseline.csv.

    python samples/make_sample.py [--out DIR]

The province, its 17 prefecture-level units and 103 county-level units are real (codes and names
as of 2016-2017); the 37 poor counties, their kind, exit year and region are the real lists.
Townships and villages are synthetic but plausible, drawn from a fixed seed, so every run writes
the same bytes. The village baseline (建档立卡, start of 2016) sums exactly to the plan's totals,
which are read from the indicator catalog (BASE_POOR_PEOPLE, BASE_POOR_VILLAGES,
BASE_POOR_COUNTIES), never written here.
"""

from __future__ import annotations

import argparse
import csv
import heapq
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # run from a checkout without `pip install -e .`
    sys.path.append(str(REPO_ROOT))

SEED = 20160101

# 市州 -> 县市区, real codes and names (2016-2017). A "*" marks the virtual 省直辖 node.
PREFECTURES = """
420100 武汉市: 420102 江岸区, 420103 江汉区, 420104 硚口区, 420105 汉阳区, 420106 武昌区, 420107 青山区, 420111 洪山区, 420112 东西湖区, 420113 汉南区, 420114 蔡甸区, 420115 江夏区, 420116 黄陂区, 420117 新洲区
420200 黄石市: 420202 黄石港区, 420203 西塞山区, 420204 下陆区, 420205 铁山区, 420222 阳新县, 420281 大冶市
420300 十堰市: 420302 茅箭区, 420303 张湾区, 420304 郧阳区, 420322 郧西县, 420323 竹山县, 420324 竹溪县, 420325 房县, 420381 丹江口市
420500 宜昌市: 420502 西陵区, 420503 伍家岗区, 420504 点军区, 420505 猇亭区, 420506 夷陵区, 420525 远安县, 420526 兴山县, 420527 秭归县, 420528 长阳土家族自治县, 420529 五峰土家族自治县, 420581 宜都市, 420582 当阳市, 420583 枝江市
420600 襄阳市: 420602 襄城区, 420606 樊城区, 420607 襄州区, 420624 南漳县, 420625 谷城县, 420626 保康县, 420682 老河口市, 420683 枣阳市, 420684 宜城市
420700 鄂州市: 420702 梁子湖区, 420703 华容区, 420704 鄂城区
420800 荆门市: 420802 东宝区, 420804 掇刀区, 420821 京山县, 420822 沙洋县, 420881 钟祥市
420900 孝感市: 420902 孝南区, 420921 孝昌县, 420922 大悟县, 420923 云梦县, 420981 应城市, 420982 安陆市, 420984 汉川市
421000 荆州市: 421002 沙市区, 421003 荆州区, 421022 公安县, 421023 监利县, 421024 江陵县, 421081 石首市, 421083 洪湖市, 421087 松滋市
421100 黄冈市: 421102 黄州区, 421121 团风县, 421122 红安县, 421123 罗田县, 421124 英山县, 421125 浠水县, 421126 蕲春县, 421127 黄梅县, 421181 麻城市, 421182 武穴市
421200 咸宁市: 421202 咸安区, 421221 嘉鱼县, 421222 通城县, 421223 崇阳县, 421224 通山县, 421281 赤壁市
421300 随州市: 421303 曾都区, 421321 随县, 421381 广水市
422800 恩施土家族苗族自治州: 422801 恩施市, 422802 利川市, 422822 建始县, 422823 巴东县, 422825 宣恩县, 422826 咸丰县, 422827 来凤县, 422828 鹤峰县
429000 省直辖县级行政区划*: 429004 仙桃市, 429005 潜江市, 429006 天门市, 429021 神农架林区
"""

# The 37 poor counties: code, kind (national 28 / provincial 9), exit (摘帽) year, region (片区, "-"
# where the county belongs to none or membership is not confirmed).
POOR_COUNTIES = """
421122 national 2017 大别山
429021 national 2017 秦巴山
420525 provincial 2017 -
420222 national 2018 幕阜山
420381 national 2018 秦巴山
420626 national 2018 秦巴山
420527 national 2018 武陵山
421121 national 2018 大别山
421123 national 2018 大别山
421124 national 2018 大别山
422825 national 2018 武陵山
422827 national 2018 武陵山
422828 national 2018 武陵山
420302 provincial 2018 秦巴山
420303 provincial 2018 秦巴山
420624 provincial 2018 -
420625 provincial 2018 -
420526 provincial 2018 -
421223 provincial 2018 幕阜山
421224 provincial 2018 幕阜山
420304 national 2019 秦巴山
420322 national 2019 秦巴山
420323 national 2019 秦巴山
420324 national 2019 秦巴山
420325 national 2019 秦巴山
420528 national 2019 武陵山
420529 national 2019 武陵山
420921 national 2019 大别山
420922 national 2019 大别山
421126 national 2019 大别山
421181 national 2019 大别山
422801 national 2019 武陵山
422802 national 2019 武陵山
422822 national 2019 武陵山
422823 national 2019 武陵山
422826 national 2019 武陵山
421222 provincial 2019 幕阜山
"""

# Central city districts with no rural poor: streets (街道) and communities (社区) only.
URBAN_DISTRICTS = frozenset(
    "420102 420103 420104 420105 420106 420107 420111 420202 420203 420204 "
    "420502 420503 420602 420606 421002".split()
)

PREFIXES = "黄白青龙马杨新三五八双长大小金石桃花柳松梅竹凤仙安平东西南北上下中古高太清红"
PLACES = "河山桥坪店岭铺集港湾冲畈岗寨坝口堰塘庙垸洲溪"
SURNAMES = (
    "王李张刘陈杨黄赵周吴徐孙胡朱高林何郭罗梁宋郑谢韩唐冯董程曹袁邓许沈曾彭吕苏蒋蔡丁魏叶余潘杜夏汪田熊"
)

HOUSEHOLD_TOTAL_RANGE = (1_200_000, 1_400_000)  # the sample's own plausibility bounds, not plan figures
MIN_POOR_VILLAGES_PER_POOR_COUNTY = 40


@dataclass
class Village:
    code: str
    name: str
    community: bool
    poor_village: bool = False
    poor_households: int = 0
    poor_people: int = 0


@dataclass
class Township:
    code: str
    name: str
    villages: list[Village] = field(default_factory=list)


@dataclass
class CountyDraft:
    code: str  # 6 digits
    name: str
    prefecture: str  # 6 digits
    poor_kind: str = ""
    exit_year: str = ""
    region: str = ""
    old_area: str = ""  # "1"/"0" for a 革命老区 county or not (SAMPLE marking, see mark_old_areas)
    # "1"/"0": a 民族自治地方 (real: from the official names, see mark_minority_areas)
    minority_area: str = ""
    townships: list[Township] = field(default_factory=list)

    @property
    def villages(self) -> list[Village]:
        return [village for township in self.townships for village in township.villages]


def parse_prefectures() -> tuple[list[tuple[str, str, bool]], list[CountyDraft]]:
    prefectures: list[tuple[str, str, bool]] = []
    counties: list[CountyDraft] = []
    for line in PREFECTURES.strip().splitlines():
        head, members = line.split(":")
        code, name = head.split()
        virtual = name.endswith("*")
        prefectures.append((code, name.rstrip("*"), virtual))
        for member in members.split(","):
            county_code, county_name = member.split()
            counties.append(CountyDraft(county_code, county_name, code))
    poor = {}
    for line in POOR_COUNTIES.strip().splitlines():
        county_code, kind, year, region = line.split()
        poor[county_code] = (kind, year, "" if region == "-" else region)
    for county in counties:
        if county.code in poor:
            county.poor_kind, county.exit_year, county.region = poor.pop(county.code)
    mark_minority_areas(counties, {code: name for code, name, _ in prefectures})
    if poor:
        raise SystemExit(f"poor counties not in the county list: {sorted(poor)}")
    return prefectures, counties


def unique_name(rng: random.Random, taken: set[str], make) -> str:
    while True:
        name = make(rng)
        if name not in taken:
            taken.add(name)
            return name


def place_name(rng: random.Random) -> str:
    return rng.choice(PREFIXES) + rng.choice(PLACES)


def family_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "家" + rng.choice(PLACES)


def build_townships(rng: random.Random, county: CountyDraft) -> None:
    """Townships (街道 0xx, 镇 1xx, 乡 2xx) and their villages (社区 0xx, 村 2xx)."""
    poor = bool(county.poor_kind)
    urban = county.code in URBAN_DISTRICTS
    n_townships = rng.randint(11, 14) if poor else rng.randint(6, 14)
    if urban:
        kinds = ["街道"] * n_townships
    else:
        is_county = county.name.endswith("县") or county.name.endswith("林区")
        n_streets = 0 if is_county else rng.randint(1, 3)
        kinds = ["街道"] * n_streets + (["城关镇"] if is_county else [])
        kinds += ["镇" if rng.random() < 0.7 else "乡" for _ in range(n_townships - len(kinds))]
    next_number = {"街道": 1, "镇": 100, "乡": 200}
    taken: set[str] = set()
    for kind in kinds:
        if kind == "城关镇":
            name, kind = "城关镇", "镇"
            taken.add(name)
        elif kind == "乡" and rng.random() < 0.5:
            name = unique_name(rng, taken, lambda r: family_name(r) + "乡")
        else:
            name = unique_name(rng, taken, lambda r, k=kind: place_name(r) + k)
        code = f"{county.code}{next_number[kind]:03d}000"
        next_number[kind] += 1
        township = Township(code, name)
        county.townships.append(township)
        n_villages = rng.randint(14, 20) if poor else rng.randint(8, 20)
        if urban:
            n_communities = n_villages
        elif kind == "街道":
            n_communities = max(1, round(n_villages * rng.uniform(0.3, 0.7)))
        elif name == "城关镇":
            n_communities = rng.randint(2, 4)
        else:
            n_communities = 1 if kind == "镇" or rng.random() < 0.3 else 0
        village_names: set[str] = set()
        for index in range(n_villages):
            community = index < n_communities
            if community:
                number = index + 1
                village_name = unique_name(rng, village_names, lambda r: place_name(r) + "社区")
            else:
                number = 201 + index - n_communities
                make = family_name if rng.random() < 0.4 else place_name
                village_name = unique_name(rng, village_names, lambda r, m=make: m(r) + "村")
            township.villages.append(Village(f"{code[:9]}{number:03d}", village_name, community))


def largest_remainder(total: int, weights: list[float]) -> list[int]:
    """Integers proportional to weights that sum exactly to total."""
    weight_sum = sum(weights)
    quotas = [total * weight / weight_sum for weight in weights]
    shares = [int(quota) for quota in quotas]
    order = sorted(range(len(weights)), key=lambda i: (shares[i] - quotas[i], i))
    for i in order[: total - sum(shares)]:
        shares[i] += 1
    return shares


def bounded_apportion(total: int, weights: list[float], floor: int, caps: list[int]) -> list[int]:
    """Integers near total*weight/sum(weights), each in [floor, cap], summing exactly to total."""
    if floor * len(weights) > total or sum(caps) < total:
        raise SystemExit(f"cannot split {total} with floor {floor} and caps summing to {sum(caps)}")
    weight_sum = sum(weights)
    quotas = [total * weight / weight_sum for weight in weights]
    shares = [floor] * len(weights)
    heap = [(-(quotas[i] - shares[i]), i) for i in range(len(weights)) if shares[i] < caps[i]]
    heapq.heapify(heap)
    for _ in range(total - sum(shares)):
        _, i = heapq.heappop(heap)
        shares[i] += 1
        if shares[i] < caps[i]:
            heapq.heappush(heap, (-(quotas[i] - shares[i]), i))
    return shares


def fill_baseline(rng: random.Random, counties: list[CountyDraft], people: int, poor_villages: int) -> None:
    """Mark poor villages (only in poor counties) and spread poor people and households over villages."""
    poor_counties = [county for county in counties if county.poor_kind]
    weights = [
        len([v for v in c.villages if not v.community])
        * (rng.uniform(0.9, 1.3) if c.poor_kind == "national" else rng.uniform(0.5, 0.8))
        for c in poor_counties
    ]
    caps = [int(0.85 * len([v for v in c.villages if not v.community])) for c in poor_counties]
    per_county = bounded_apportion(poor_villages, weights, MIN_POOR_VILLAGES_PER_POOR_COUNTY, caps)
    for county, count in zip(poor_counties, per_county, strict=True):
        for village in rng.sample([v for v in county.villages if not v.community], count):
            village.poor_village = True

    villages: list[Village] = []
    people_weights: list[float] = []
    for county in counties:
        for village in county.villages:
            if county.code in URBAN_DISTRICTS:
                weight = 0.0
            elif village.poor_village:
                weight = rng.uniform(2.2, 4.0)
            elif village.community:
                weight = rng.uniform(0.0, 0.4)
            elif county.poor_kind:
                weight = rng.uniform(0.6, 1.4)
            else:
                weight = 0.0 if rng.random() < 0.1 else rng.uniform(0.3, 1.0)
            villages.append(village)
            people_weights.append(weight)
    for village, count in zip(villages, largest_remainder(people, people_weights), strict=True):
        village.poor_people = count
        if count:
            village.poor_households = min(count, max(1, round(count / rng.uniform(2.7, 3.3))))


def rural_population(code: str, kind: str, poor_people: int) -> int:
    """A county's rural population (农村户籍人口, synthetic): its poor people at a plausible 贫困发生率
    (14–24 % in national poor counties, 8–14 % in provincial ones, 2–6 % elsewhere), drawn from a
    generator of its own so that the other sample files do not change."""
    rng = random.Random(f"rural-{SEED}-{code}")
    if poor_people == 0:
        return rng.randint(0, 1500) * 100
    low, high = {"national": (0.14, 0.24), "provincial": (0.08, 0.14)}.get(kind, (0.02, 0.06))
    return round(poor_people / rng.uniform(low, high) / 100) * 100


def plan_baseline() -> tuple[int, int, int]:
    """(poor people, poor villages, poor counties) at the start of 2016, from the indicator catalog."""
    from hbreport.catalog import load_catalog

    catalog = load_catalog()
    return (
        int(catalog.number("BASE_POOR_PEOPLE", "人")),
        int(catalog.number("BASE_POOR_VILLAGES", "个")),
        int(catalog.number("BASE_POOR_COUNTIES", "个")),
    )


def old_area_count() -> int:
    """The number of 革命老区 counties the plan names (五(六)), from the indicator catalog."""
    from hbreport.catalog import load_catalog

    return int(load_catalog().number("BASE_OLD_AREA_COUNTIES", "个"))


def mark_old_areas(counties: list[CountyDraft], count: int) -> None:
    """SAMPLE marking of the 革命老区 counties: the plan states their number (五(六)) but does not list
    them. The sample marks the poor counties, then the other counties by poor people, most first, until
    ``count`` are marked. An office replaces the column with the province's official list."""

    def poor_people(county: CountyDraft) -> int:
        return sum(v.poor_people for v in county.villages)

    ranked = sorted(counties, key=lambda c: (not c.poor_kind, -poor_people(c), c.code))
    for rank, county in enumerate(ranked):
        county.old_area = "1" if rank < count else "0"


def mark_minority_areas(counties: list[CountyDraft], prefectures: dict[str, str]) -> None:
    """REAL marking of the 少数民族地区 (plan 三(一)) as Hubei's 民族自治地方: the counties of an autonomous
    prefecture (恩施土家族苗族自治州) and the autonomous counties (长阳、五峰土家族自治县), read from the
    official names of the division tree. Every other county is none (0): the list of autonomous areas is
    complete. 民族乡 (townships) are not counties and are not marked."""
    for county in counties:
        autonomous = county.name.endswith("自治县") or prefectures[county.prefecture].endswith("自治州")
        county.minority_area = "1" if autonomous else "0"


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def make_sample(out: Path) -> None:
    people, poor_villages, poor_county_count = plan_baseline()
    prefectures, counties = parse_prefectures()
    marked = sum(1 for county in counties if county.poor_kind)
    if marked != poor_county_count:
        raise SystemExit(f"{marked} poor counties listed, the catalog says {poor_county_count}")
    rng = random.Random(SEED)
    for county in counties:
        build_townships(rng, county)
    fill_baseline(rng, counties, people, poor_villages)
    mark_old_areas(counties, old_area_count())

    households = sum(v.poor_households for c in counties for v in c.villages)
    if not HOUSEHOLD_TOTAL_RANGE[0] <= households <= HOUSEHOLD_TOTAL_RANGE[1]:
        raise SystemExit(f"{households} poor households is outside {HOUSEHOLD_TOTAL_RANGE}")

    province = "420000000000"
    units = [[province, "", "湖北省", "province", "f", "f"]]
    for code, name, virtual in prefectures:
        units.append([code + "000000", province, name, "prefecture", "t" if virtual else "f", "f"])
    for county in counties:
        units.append([county.code + "000000", county.prefecture + "000000", county.name, "county", "f", "f"])
        for township in county.townships:
            units.append([township.code, county.code + "000000", township.name, "township", "f", "f"])
            for village in township.villages:
                units.append([village.code, township.code, village.name, "village", "f", "f"])
    units.sort(key=lambda row: row[0])

    out.mkdir(parents=True, exist_ok=True)
    write_csv(out / "units.csv", ["code", "parent", "name", "level", "virtual", "dummy"], units)
    write_csv(
        out / "counties.csv",
        [
            "code",
            "name",
            "prefecture",
            "poor_county",
            "region",
            "exit_year",
            "rural_population",
            "old_area",
            "minority_area",
            "hardship_area",
            "interspersed_area",
        ],
        [
            [
                c.code,
                c.name,
                c.prefecture,
                c.poor_kind,
                c.region,
                c.exit_year,
                rural_population(c.code, c.poor_kind, sum(v.poor_people for v in c.villages)),
                c.old_area,
                c.minority_area,
                "",  # 自然条件恶劣的特困地区: the plan names no list; 未定
                "",  # 重点插花贫困地区: the plan names no list; 未定
            ]
            for c in counties
        ],
    )
    write_csv(
        out / "baseline.csv",
        ["code", "poor_village", "poor_households", "poor_people"],
        sorted(
            [v.code, str(int(v.poor_village)), str(v.poor_households), str(v.poor_people)]
            for c in counties
            for v in c.villages
        ),
    )
    check(out, people, poor_villages, poor_county_count)


def check(out: Path, people: int, poor_villages: int, poor_counties: int) -> None:
    """Load what was written with the package's own loaders and compare with the plan's totals."""
    from hbreport.baseline import load_baseline
    from hbreport.registry import load_registry

    registry = load_registry(out / "units.csv")
    baseline = load_baseline(out / "baseline.csv", out / "counties.csv")
    totals = baseline.totals(registry, "420000")
    expected = {"poor_people": people, "poor_villages": poor_villages, "poor_counties": poor_counties}
    for key, value in expected.items():
        if totals[key] != value:
            raise SystemExit(f"sample {key} = {totals[key]}, the catalog says {value}")
    for county in registry.at_level("county"):
        if baseline.is_poor_county(county.code):
            count = baseline.totals(registry, county.code)["poor_villages"]
            if count < MIN_POOR_VILLAGES_PER_POOR_COUNTY:
                raise SystemExit(f"{county.name} has only {count} poor villages")
    print(
        f"{out}: {registry.count_by_level()}; poor people {totals['poor_people']}, "
        f"households {totals['poor_households']}, poor villages {totals['poor_villages']}, "
        f"poor counties {totals['poor_counties']}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: samples/hubei)")
    args = parser.parse_args(argv)
    if args.out is None:
        from hbreport import paths

        args.out = paths.SAMPLE_DIR
    make_sample(args.out)


if __name__ == "__main__":
    sys.exit(main())

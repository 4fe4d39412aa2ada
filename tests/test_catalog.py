"""The catalog against the plan's own text: quotes, headline figures, schedules, regions, discrepancies."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hbreport.catalog import (
    AGGREGATIONS,
    DIRECTIONS,
    KINDS,
    LEVELS,
    QUOTE_GAP,
    Catalog,
    Indicator,
    catalog_table,
    convert,
    load_catalog,
)
from hbreport.errors import HBError
from hbreport.paths import INDICATORS

REPO_ROOT = Path(__file__).resolve().parent.parent
PLAN_TEXT = REPO_ROOT.parent / "shared" / "reference" / "hubei-plan-2016-2020.txt"

NUMBER_RE = re.compile(r"(?<![\d.])\d+(?:\.\d+)?")
TOP_RE = re.compile(r"^([一二三四五六七八九十])、")
SUB_RE = re.compile(r"^\(([一二三四五六七八九十])\)")
GOAL_ITEM_RE = re.compile(r"^(\d+)\.")
REGION_RE = re.compile(r"^(\S+?片区):")


def normalise(text: str) -> str:
    return re.sub(r"\s+", "", text)


def numbers_in(text: str) -> list[float]:
    return [float(n) for n in NUMBER_RE.findall(text)]


def split_sections(text: str) -> dict[str, str]:
    """The plan body by section label: 四, 四(二), 四·主要目标2, 三(三)·秦巴山片区 (one paragraph per line)."""
    sections: dict[str, list[str]] = defaultdict(list)
    top = sub = None
    in_goals = False
    for raw in text.splitlines():
        line = normalise(raw)
        if not line or line.startswith("内容时间"):
            continue
        if match := TOP_RE.match(line):
            top, sub, in_goals = match[1], None, False
        elif top is None:
            continue  # title, byline and preamble
        elif line == "主要目标":
            in_goals, sub = True, None
            continue
        elif not in_goals and (match := SUB_RE.match(line)):
            sub = match[1]
        sections[top].append(line)
        if in_goals:
            sections[f"{top}·主要目标"].append(line)
            if match := GOAL_ITEM_RE.match(line):
                sections[f"{top}·主要目标{match[1]}"].append(line)
        elif sub is not None:
            sections[f"{top}({sub})"].append(line)
            if match := REGION_RE.match(line):
                sections[f"{top}({sub})·{match[1]}"].append(line)
    return {label: "\n".join(lines) for label, lines in sections.items()}


@pytest.fixture(scope="module")
def plan_text() -> str:
    if not PLAN_TEXT.exists():
        pytest.skip("plan text ../shared/reference/hubei-plan-2016-2020.txt (beside the repo) is absent")
    return PLAN_TEXT.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def sections(plan_text: str) -> dict[str, str]:
    return split_sections(plan_text)


@pytest.fixture(scope="module")
def cat() -> Catalog:
    return load_catalog()


def one_match(pattern: str, text: str) -> re.Match:
    matches = list(re.finditer(pattern, text))
    assert matches, f"pattern {pattern!r} not found in the plan"
    assert len({m.groups() for m in matches}) == 1, f"the plan states {pattern!r} differently: {matches}"
    return matches[0]


# ── loading and structure ──────────────────────────────────────────────


def test_catalog_loads_with_plan_header(cat: Catalog) -> None:
    assert cat.title == "湖北省脱贫攻坚规划(2016—2020年)"
    assert (cat.start, cat.end) == (2016, 2020)
    assert len(cat) > 100
    assert set(cat.regions) == {i.region for i in cat if i.region}
    for indicator in cat:
        assert indicator.kind in KINDS and indicator.aggregation in AGGREGATIONS
        assert indicator.direction in DIRECTIONS and set(indicator.levels) <= set(LEVELS)
        hash(indicator)  # usable in sets and as dict keys


# Codes other modules call by name, with the unit and deadline they rely on.
CONTRACT = {
    "BASE_POOR_PEOPLE": ("万人", None),
    "BASE_POOR_VILLAGES": ("个", None),
    "BASE_POOR_COUNTIES": ("个", None),
    "SCHED_PEOPLE_EXIT": ("%", 2019),
    "SCHED_VILLAGE_EXIT": ("%", 2019),
    "SCHED_COUNTY_EXIT": ("%", 2019),
    "HH_EXIT_INCOME_COUNTY_RATIO": ("%", 2019),
    "VILLAGE_EXIT_INCOME_RATIO": ("%", 2019),
    "VILLAGE_EXIT_COLLECTIVE_INCOME": ("万元", 2019),
    "RELOC_HOUSEHOLDS": ("万户", 2019),
    "RELOC_HOUSEHOLDS_MAIN": ("万户", 2019),
    "RELOC_PEOPLE": ("万人", 2019),
    "RELOC_PEOPLE_MAIN": ("万人", 2019),
    "RELOC_AREA_PER_PERSON": ("平方米", None),
    "RELOC_HOUSE_TYPES": ("平方米", None),
    "DILAPIDATED_HOUSES": ("万户", 2019),
    "YULU_TRAINED": ("万人", 2019),
    "YULU_SUBSIDY": ("元", None),
    "MICROCREDIT_LOAN": ("万元", None),
    "MICROCREDIT_TERM": ("年", None),
    "MICROCREDIT_TOTAL": ("亿元", 2019),
    "NETWORK_COVERAGE": ("%", 2019),
    "ECOMMERCE_COVERAGE": ("%", 2017),
    "TOURISM_VILLAGES": ("个", None),
    "PV_HOUSEHOLD_KW": ("千瓦", None),
    "PV_VILLAGE_KW": ("千瓦", None),
    "NCMS_PARTICIPATION": ("%", 2019),
    "SCHOOLS_RENOVATED": ("所", 2018),
    "KINDERGARTENS_BUILT": ("所", 2019),
    "PRESCHOOL_ENROLMENT": ("%", 2020),
    "HIGHSCHOOL_ENROLMENT": ("%", 2020),
    "BROADCAST_COVERAGE": ("%", 2019),
    "IRRIGATION_PER_CAPITA": ("亩", 2020),
    "HIGHWAY_POOR_COUNTIES": ("个", 2019),
    "MERGED_VILLAGE_ROADS": ("%", 2020),
    "SAFE_WATER": ("%", 2019),
    "POWER_LIVING": ("%", 2016),
    "POWER_PRODUCTION": ("%", 2017),
    "TRAINING_PER_PERSON": ("次", None),
}


@pytest.mark.parametrize("code", sorted(CONTRACT))
def test_codes_used_elsewhere_exist_with_their_unit_and_deadline(cat: Catalog, code: str) -> None:
    unit, deadline = CONTRACT[code]
    assert (cat[code].unit, cat[code].deadline) == (unit, deadline)


def test_unknown_code_names_the_code(cat: Catalog) -> None:
    with pytest.raises(HBError, match="BASE_POOR_PEOPEL"):
        cat["BASE_POOR_PEOPEL"]
    with pytest.raises(HBError, match="BASE_POOR_PEOPLE"):  # the hint offers the close match
        cat["BASE_POOR_PEOPEL"]


# ── every entry against the plan's words ───────────────────────────────


def test_every_quote_is_the_plans_words_in_its_section(cat: Catalog, sections: dict[str, str]) -> None:
    problems = []
    for indicator in cat:
        text = sections.get(indicator.section)
        if text is None:
            problems.append(f"{indicator.code}: no section {indicator.section!r} in the plan")
            continue
        position = 0
        for fragment in indicator.quote_fragments():
            found = text.find(normalise(fragment), position)
            if found < 0:
                problems.append(f"{indicator.code}: {fragment!r} not in {indicator.section} (in order)")
                break
            position = found + len(normalise(fragment))
    assert not problems, "\n".join(problems)


def test_every_number_in_a_quote_is_in_the_entry(cat: Catalog) -> None:
    problems = [
        f"{i.code}: quote has {n:g}, entry states {sorted(i.numbers())}"
        for i in cat
        for n in numbers_in(i.quote)
        if n not in i.numbers()
    ]
    assert not problems, "\n".join(problems)


# numbers of the plan's body that state no target: each with why (the words around it, whitespace removed)
NOT_TARGETS = {
    "建立“1+N+M”的硬支撑": "the name of a policy set",
    "4个片区地区生产总值、财政收入占全省的比重": "a description of the gap (一(三)), not a target",
    "加快实施4个片区区域发展与扶贫攻坚规划": "五's opening restates 八(二) (REGION_DEVELOPMENT_PLANS)",
    "按照50、75、100、125平方米4种户型": "the count of the house types RELOC_HOUSE_TYPES lists",
}


def _plan_fragments(i: Indicator) -> list[str]:
    """An entry's quote fragments and the plan's words its note cites (“…”)."""
    cited = [part for text in re.findall(r"“([^”]+)”", i.note or "") for part in text.split(QUOTE_GAP)]
    quotes = str.maketrans("‘’", "“”")  # a note cites the plan's “…” as ‘…’ inside its own “…”
    return [normalise(f).translate(quotes) for f in (*i.quote_fragments(), *cited) if f]


def test_every_number_in_the_plan_body_is_in_the_catalog(cat: Catalog, sections: dict[str, str]) -> None:
    """Each number of the plan's body, in its own context: it lies inside the words an entry quotes or
    cites (in its note) and that entry states the number. A number stated elsewhere does not count."""
    body = "\n".join(sections[top] for top in "一二三四五六七八")
    body = re.sub(
        r"^\d+\.", lambda m: " " * len(m[0]), body, flags=re.MULTILINE
    )  # list markers, kept in place
    spans = []
    for i in cat:
        for fragment in _plan_fragments(i):
            spans += [(m.start(), m.end(), i.numbers()) for m in re.finditer(re.escape(fragment), body)]
    allowed = [(m.start(), m.end()) for text in NOT_TARGETS for m in re.finditer(re.escape(text), body)]
    assert len(allowed) >= len(NOT_TARGETS), "a NOT_TARGETS context is no longer the plan's words"
    missing = []
    for m in NUMBER_RE.finditer(body):
        n = float(m[0])
        if any(a <= m.start() and m.end() <= b and n in numbers for a, b, numbers in spans):
            continue
        if not any(a <= m.start() and m.end() <= b for a, b in allowed):
            missing.append(body[max(0, m.start() - 20) : m.end() + 10].replace("\n", " "))
    assert not missing, "numbers of the plan no entry states in their context:\n" + "\n".join(missing)


def test_region_entries_quote_their_own_region(cat: Catalog) -> None:
    for indicator in cat:
        if indicator.region:
            assert indicator.section == f"三(三)·{indicator.region}片区", indicator.code


# ── headline figures, parsed from the plan ─────────────────────────────


def test_baselines_and_totals_are_the_plans(cat: Catalog, plan_text: str) -> None:
    text = normalise(plan_text)
    people = float(one_match(r"全省(\d+)万农村贫困人口", text)[1])
    assert float(one_match(r"贫困人口存量还有(\d+)万人", text)[1]) == people
    villages = float(one_match(r"(\d+)个贫困村全部脱贫出列", text)[1])
    assert float(one_match(r"建档立卡贫困村还有(\d+)个", text)[1]) == villages
    counties = float(one_match(r"(\d+)个贫困县全部脱贫", text)[1])
    assert float(one_match(r"(\d+)个贫困县,是扶贫开发基本对象", text)[1]) == counties
    deadline = int(one_match(r"到(\d{4})年底,全省\d+万农村贫困人口", text)[1])

    assert cat["BASE_POOR_PEOPLE"].value == cat["TARGET_PEOPLE_EXITED"].value == people
    assert cat["BASE_POOR_VILLAGES"].value == cat["TARGET_VILLAGES_EXITED"].value == villages
    assert cat["BASE_POOR_COUNTIES"].value == cat["TARGET_COUNTIES_EXITED"].value == counties
    assert cat["WHOLE_VILLAGE_PROGRAMME"].value == villages
    for code in ("TARGET_PEOPLE_EXITED", "TARGET_VILLAGES_EXITED", "TARGET_COUNTIES_EXITED"):
        assert cat[code].deadline == deadline
    assert cat["BASE_EXITED_2011_2015"].value == float(one_match(r"共解决(\d+)万农村建档立卡", text)[1])


def parse_schedule(section_text: str) -> dict[str, dict[int, float]]:
    series = {"people": {}, "villages": {}, "counties": {}}
    for clause in section_text.split(";"):
        year = re.search(r"(\d{4})年", clause)
        for name, pattern in (
            ("people", r"(\d+)%的贫困人口脱贫"),
            ("villages", r"(\d+)%的贫困村出列"),
            ("counties", r"(\d+)%的贫困县退出"),
        ):
            if match := re.search(pattern, clause):
                series[name][int(year[1])] = float(match[1])
    return series


SCHEDULE_CODES = {
    "people": "SCHED_PEOPLE_EXIT",
    "villages": "SCHED_VILLAGE_EXIT",
    "counties": "SCHED_COUNTY_EXIT",
}


def test_schedules_are_the_plans_and_sum_to_100(cat: Catalog, sections: dict[str, str]) -> None:
    parsed = parse_schedule(sections["三(二)"])
    for name, code in SCHEDULE_CODES.items():
        assert len(parsed[name]) >= 3, name
        assert cat[code].schedule == parsed[name], code
        assert sum(cat[code].schedule.values()) == 100, code
        assert cat[code].deadline == max(parsed[name]), code


def test_cumulative_share_follows_the_plans_schedule(cat: Catalog, sections: dict[str, str]) -> None:
    parsed = parse_schedule(sections["三(二)"])
    for name, code in SCHEDULE_CODES.items():
        running = Decimal(0)
        previous = 0.0
        for year in range(2014, 2023):
            running += Decimal(repr(parsed[name].get(year, 0.0)))
            share = cat.cumulative_share(code, year)
            assert share == float(running / 100), (code, year)
            assert 0.0 <= previous <= share <= 1.0
            previous = share
        assert previous == 1.0


def test_cumulative_share_of_people_by_year(cat: Catalog) -> None:
    shares = {year: cat.cumulative_share("SCHED_PEOPLE_EXIT", year) for year in range(2015, 2021)}
    assert shares == {2015: 0.0, 2016: 0.35, 2017: 0.70, 2018: 0.95, 2019: 1.0, 2020: 1.0}


def test_cumulative_share_of_a_non_schedule_names_the_code(cat: Catalog) -> None:
    with pytest.raises(HBError, match="BASE_POOR_PEOPLE"):
        cat.cumulative_share("BASE_POOR_PEOPLE", 2017)


def region_prefixes(cat: Catalog) -> dict[str, str]:
    prefixes: dict[str, set[str]] = defaultdict(set)
    for indicator in cat:
        if indicator.region:
            prefixes[indicator.region].add(indicator.code.split("_")[1])
    assert all(len(p) == 1 for p in prefixes.values()), prefixes
    return {region: p.pop() for region, p in prefixes.items()}


def test_region_targets_cover_every_figure_of_each_region(cat: Catalog, sections: dict[str, str]) -> None:
    assert set(region_prefixes(cat)) == set(cat.regions)
    for region in cat.regions:
        paragraph = sections[f"三(三)·{region}片区"]
        stated = [i.bound() for i in cat.by_region(region) if numbers_in(i.quote)]
        assert Counter(stated) == Counter(numbers_in(paragraph)), region


REGION_MEASURES = {
    "GDP_GROWTH": r"地区生产总值年均增长(?:率)?(?:达到)?([\d.]+)%",
    "URBANISATION": r"城镇化率(?:达到)?([\d.]+)%",
    "HIGHSCHOOL_ENROLMENT": r"高中阶段教育毛入学率(?:达到)?([\d.]+)%",
    "FOREST_COVER": r"森林覆盖率(?:达到)?([\d.]+)%",
    "FOREST_COVER_GROWTH": r"森林覆盖率增长([\d.]+)%",
    "PENSION_PARTICIPATION": r"城乡居民养老保险参保率达到([\d.]+)%",
    "NCMS_PARTICIPATION": r"新型农村合作医疗(?:保险)?参[合保]率(?:大于)?([\d.]+)%",
    "RURAL_INCOME": r"农村居民人均可支配收入([\d.]+)元",
    "URBAN_INCOME": r"城镇居民人均可支配收入([\d.]+)元",
    "RURAL_INCOME_GROWTH": r"农村(?:居民|常住人口)人均可支配收入年均增长(?:率)?([\d.]+)%",
    "URBAN_INCOME_GROWTH": r"城镇(?:居民|常住人口)人均可支配收入年均增长(?:率)?([\d.]+)%",
    "RURAL_INCOME_RATIO": r"农村居民人均可支配收入达到全省平均水平的([\d.]+)%",
    "URBAN_INCOME_RATIO": r"城镇居民可支配收入达到全省平均水平的([\d.]+)%",
    "FISCAL_REVENUE_GROWTH": r"地方公共财政预算收入年均增长(?:率|速)([\d.]+)%",
    "FISCAL_REVENUE_RATIO": r"人均公共财政预算收入达到全省平均水平的([\d.]+)%",
    "POPULATION_GROWTH": r"人口自然增长率小于([\d.]+)‰",
    "TOWNSHIP_ROADS": r"([\d.]+)%乡镇通二级及以上公路",
    "MERGED_VILLAGE_ROADS": r"([\d.]+)%撤并村通沥青水泥路",
    "BUS_SERVICE": r"村村通客车通保率([\d.]+)%",
    "INSURANCE_COVERAGE": r"养老保险和医疗保险率([\d.]+)%",
}


@pytest.mark.parametrize("measure", sorted(REGION_MEASURES))
def test_region_measure_is_the_plans(cat: Catalog, sections: dict[str, str], measure: str) -> None:
    for region, prefix in region_prefixes(cat).items():
        code = f"REGION_{prefix}_{measure}"
        match = re.search(REGION_MEASURES[measure], sections[f"三(三)·{region}片区"])
        if match is None:
            assert code not in cat, f"{code}: the plan sets no such target for {region}"
        else:
            assert cat[code].bound() == float(match[1]), code


# (code, section, pattern with named groups value/min/max/deadline/base_year)
FIGURES = [
    (
        "WHOLE_VILLAGE_PROGRAMME",
        "四(一)",
        r"到(?P<deadline>\d{4})年完成(?P<value>\d+)个建档立卡贫困村整村推进",
    ),
    ("RELOC_AREA_PER_PERSON", "四(二)", r"人均住房建设面积不超过(?P<max>\d+)平方米"),
    ("DILAPIDATED_HOUSES", "四(二)", r"到(?P<deadline>\d{4})年完成(?P<value>\d+)万户农村危房改造任务"),
    ("YULU_TRAINED", "四(三)", r"到(?P<deadline>\d{4})年力争培训转移(?P<value>\d+)万人"),
    ("YULU_SUBSIDY", "四(三)", r"每生每学年不低于(?P<min>\d+)元的补助"),
    ("MICROCREDIT_LOAN", "四(四)", r"“(?P<max>\d+)万元以内"),
    (
        "MICROCREDIT_TOTAL",
        "四(四)",
        r"到(?P<deadline>\d{4})年力争全省扶贫小额信贷规模累计达到(?P<min>\d+)亿元以上",
    ),
    ("NETWORK_COVERAGE", "四(五)", r"到(?P<deadline>\d{4})年实现贫困村网络信号覆盖率达到(?P<value>\d+)%"),
    ("ECOMMERCE_COVERAGE", "四(五)", r"到(?P<deadline>\d{4})年对有条件的贫困村实现电商扶贫全覆盖"),
    ("REMOTE_SERVICES_COVERAGE", "四(五)", r"到(?P<deadline>\d{4})年农业科技远程服务和物流快递服务"),
    ("TOURISM_VILLAGES", "四(六)", r"全省(?P<value>\d+)个旅游扶贫村"),
    ("TOURISM_REGION_PLANS", "四(六)", r"编制(?P<value>\d+)个片区乡村旅游"),
    ("PV_HOUSEHOLD_KW", "四(七)", r"安装(?P<min>\d+)—(?P<max>\d+)千瓦的户用"),
    ("PV_VILLAGE_KW", "四(七)", r"建设(?P<min>\d+)—(?P<max>\d+)千瓦左右的小型光伏电站"),
    ("ENTREPRENEUR_LEADERS_PER_VILLAGE", "四(八)", r"至少培养(?P<min>\d+)-(?P<max>\d+)名"),
    ("AGRI_TECH_TRAINING_ANNUAL", "四(八)", r"每年开展农业实用技术培训(?P<value>\d+)万人次"),
    ("TRAINING_PER_PERSON", "四(八)", r"每人培训不少于(?P<min>\d+)次"),
    ("VILLAGE_INDUSTRY_ORGS", "四(九)", r"每个贫困村建立(?P<min>\d+)个以上的产业合作组织"),
    ("VILLAGE_MUTUAL_FUND_ORGS", "四(九)", r"和(?P<value>\d+)个资金互助组织"),
    ("HH_COOPERATIVE_MEMBERSHIP", "四(九)", r"至少加入(?P<min>\d+)个合作组织"),
    ("HIGHWAY_POOR_COUNTIES", "五", r"到(?P<deadline>\d{4})年(?P<value>\d+)个贫困县全部通高速公路"),
    ("MERGED_VILLAGE_ROADS", "五", r"到(?P<deadline>\d{4})年实现全省撤并村通沥青"),
    ("ROAD_SAFETY_HAZARDS", "五", r"到(?P<deadline>\d{4})年基本完成乡道及以上"),
    (
        "IRRIGATION_PER_CAPITA",
        "五",
        r"到(?P<deadline>\d{4})年贫困县人均农田有效灌溉面积达到(?P<min>[\d.]+)亩以上",
    ),
    ("SAFE_WATER", "五(一)", r"到(?P<deadline>\d{4})年全面稳定解决贫困地区饮水困难"),
    ("POWER_LIVING", "五", r"到(?P<deadline>\d{4})年全部解决贫困村和贫困户生活用电"),
    ("POWER_PRODUCTION", "五", r"到(?P<deadline>\d{4})年全部解决贫困村生产用电"),
    ("GAS_POOR_COUNTIES", "五(一)", r"实现(?P<value>\d+)个贫困县及重点乡镇通天然气"),
    ("SPECIAL_INDUSTRY_COVERAGE", "五", r"到(?P<deadline>\d{4})年实现特色产业对贫困村全覆盖"),
    ("LABOUR_CAPABLE_EXIT", "五·主要目标7", r"到(?P<deadline>\d{4})年.*有劳动能力的(?P<value>\d+)万贫困人口"),
    ("VILLAGE_DOCTOR_TRAINING", "五(三)", r"到(?P<deadline>\d{4})年对贫困村村医培训实现全覆盖"),
    ("NCMS_PARTICIPATION", "五", r"到(?P<deadline>\d{4})年贫困人口新农合参合率稳定在(?P<min>\d+)%以上"),
    ("NCMS_REIMBURSEMENT_INCREASE", "五", r"较(?P<base_year>\d{4})年提高(?P<value>\d+)%"),
    ("BASIC_MEDICAL_SERVICE", "五(三)", r"到(?P<deadline>\d{4})年贫困人口人人享有基本医疗服务"),
    ("WELFARE_EXIT", "五(三)", r"中的(?P<value>\d+)万低保、五保对象全部脱贫"),
    ("PENSION_PREMIUM_PAID", "五(三)", r"到(?P<deadline>\d{4})年,对参加城乡居民养老保险的缴费贫困人员"),
    ("CHILD_WELFARE_POPULATION_THRESHOLD", "五(三)", r"支持人口(?P<min>\d+)万以上"),
    ("CHILD_WELFARE_ORPHAN_THRESHOLD", "五(三)", r"孤儿人数达到(?P<min>\d+)人"),
    ("CHILDREN_CARE_CENTRES", "五(三)", r"每个乡镇至少建成(?P<min>\d+)个留守儿童关爱中心"),
    ("PRESCHOOL_ENROLMENT", "五", r"到(?P<deadline>\d{4})年贫困村学前三年毛入园率达到(?P<min>\d+)%以上"),
    (
        "HIGHSCHOOL_ENROLMENT",
        "五",
        r"到(?P<deadline>\d{4})年贫困村学前三年.*贫困户子女高中阶段教育毛入学率达到(?P<value>\d+)%",
    ),
    ("KINDERGARTENS_BUILT", "五", r"到(?P<deadline>\d{4})年完成(?P<value>\d+)所乡镇中心幼儿园"),
    ("SCHOOLS_RENOVATED", "五", r"到(?P<deadline>\d{4})年完成(?P<value>\d+)所义务教育学校改造"),
    ("VOCATIONAL_SCHOOL_COUNTIES", "五(四)", r"支持(?P<value>\d+)个有中等职业学校的贫困县"),
    ("VOCATIONAL_SCHOOL_PER_COUNTY", "五(四)", r"每县重点建设(?P<value>\d+)所标准化的中等职业学校"),
    ("TEACHER_TRAINING", "五(四)", r"完成(?P<value>[\d.]+)万人次培训任务"),
    ("BROADCAST_COVERAGE", "五", r"到(?P<deadline>\d{4})年实现广播电视“户户通”"),
    ("BASE_OLD_AREA_COUNTIES", "五(六)", r"新确定的(?P<value>\d+)个革命老区县"),
    ("BASE_OLD_AREA_TOWNSHIPS", "五(六)", r"(?P<value>\d+)个革命老区乡镇"),
    ("BASE_OLD_AREA_KEY_TOWNSHIPS", "五(六)", r"加快(?P<value>\d+)个重点老区乡镇"),
    ("OLD_AREA_POOR_EXIT", "五(六)", r"到(?P<deadline>\d{4})年,老区基础设施"),
    ("HH_EXIT_INCOME_COUNTY_RATIO", "三(三)", r"所在县农村居民人均可支配收入的(?P<min>\d+)%以上"),
    ("VILLAGE_EXIT_INCOME_RATIO", "三(三)", r"贫困村居民人均可支配收入达到全省平均水平(?P<min>\d+)%以上"),
    ("VILLAGE_EXIT_COLLECTIVE_INCOME", "三(三)", r"集体经济收入达到(?P<min>\d+)万元以上"),
    ("FUNDING_REVENUE_INCREASE_SHARE", "七(一)", r"地方财政收入增量的(?P<value>\d+)%增列专项扶贫预算"),
    ("FUNDING_STOCK_FUNDS_SHARE", "七(一)", r"存量资金中(?P<min>\d+)%以上用于精准扶贫"),
    ("LAND_CONSOLIDATION_VILLAGE_SHARE", "七(二)", r"不超过(?P<max>\d+)%的项目资金"),
    ("TARGET_REGIONS_POVERTY_SOLVED", "三(二)", r"(?P<deadline>\d{4})年(?P<value>\d+)个片区整体贫困有效解决"),
    ("BASE_REGIONS", "三(一)", r"(?P<value>\d+)个连片特困地区"),
]


@pytest.mark.parametrize(("code", "section", "pattern"), FIGURES, ids=[f[0] for f in FIGURES])
def test_figure_is_the_plans(
    cat: Catalog, sections: dict[str, str], code: str, section: str, pattern: str
) -> None:
    match = one_match(pattern, sections[section])
    indicator = cat[code]
    for name, text in match.groupdict().items():
        expected = int(text) if name in ("deadline", "base_year") else float(text)
        assert getattr(indicator, name) == expected, f"{code}.{name}"


def test_house_types_are_the_plans(cat: Catalog, sections: dict[str, str]) -> None:
    match = one_match(r"按照([\d、]+)平方米(\d+)种户型", sections["四(二)"])
    sizes = tuple(float(n) for n in match[1].split("、"))
    assert len(sizes) == int(match[2])
    assert cat["RELOC_HOUSE_TYPES"].values == sizes


def test_relocation_discrepancy_is_kept_and_linked_both_ways(cat: Catalog, sections: dict[str, str]) -> None:
    pattern = r"到(\d{4})年完成([\d.]+)万户、([\d.]+)万贫困人口易地搬迁任务"
    body = one_match(pattern, sections["四(二)"])
    goal = one_match(pattern, sections["四·主要目标2"])
    assert body.groups() != goal.groups(), "the plan no longer contradicts itself: drop the _MAIN entries"
    assert cat["RELOC_HOUSEHOLDS"].value == float(body[2])
    assert cat["RELOC_PEOPLE"].value == float(body[3])
    assert cat["RELOC_HOUSEHOLDS_MAIN"].value == float(goal[2])
    assert cat["RELOC_PEOPLE_MAIN"].value == float(goal[3])
    pairs = {(a.code, b.code) for a, b in cat.discrepancies()}
    assert {("RELOC_HOUSEHOLDS", "RELOC_HOUSEHOLDS_MAIN"), ("RELOC_PEOPLE", "RELOC_PEOPLE_MAIN")} <= pairs
    for a, b in cat.discrepancies():
        assert b.code in a.discrepancy_with and a.code in b.discrepancy_with
    for code in ("RELOC_HOUSEHOLDS", "RELOC_PEOPLE"):
        a, b = cat[code], cat[f"{code}_MAIN"]
        assert a.section != b.section and a.unit == b.unit and a.bound() != b.bound()


# ── unit conversions ───────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("code", "unit", "expected"),
    [
        ("BASE_POOR_PEOPLE", "人", 3_900_000),
        ("VILLAGE_EXIT_COLLECTIVE_INCOME", "元", 50_000),
        ("HH_EXIT_INCOME_COUNTY_RATIO", "ratio", 0.7),
        ("HH_EXIT_INCOME_COUNTY_RATIO", "‰", 700),
        ("RELOC_HOUSEHOLDS", "户", 306_300),
        ("RELOC_PEOPLE_MAIN", "人", 977_800),
        ("MICROCREDIT_TOTAL", "万元", 3_000_000),
        ("MICROCREDIT_TOTAL", "元", 30_000_000_000),
        ("TEACHER_TRAINING", "人次", 263_000),
        ("REGION_WULING_POPULATION_GROWTH", "ratio", 0.0059),
        ("NCMS_PARTICIPATION", "ratio", 0.98),
    ],
)
def test_number_converts_units(cat: Catalog, code: str, unit: str, expected: float) -> None:
    assert cat.number(code, unit) == expected


def test_number_without_unit_or_in_own_unit_is_the_bound(cat: Catalog) -> None:
    for indicator in cat:
        if indicator.value is not None or indicator.min is not None or indicator.max is not None:
            assert (
                cat.number(indicator.code) == cat.number(indicator.code, indicator.unit) == indicator.bound()
            )


@pytest.mark.parametrize(
    ("code", "unit"),
    [
        ("BASE_POOR_PEOPLE", "元"),
        ("BASE_POOR_VILLAGES", "人"),
        ("RELOC_AREA_PER_PERSON", "亩"),
        ("YULU_SUBSIDY", "%"),
    ],
)
def test_impossible_conversion_names_code_and_units(cat: Catalog, code: str, unit: str) -> None:
    with pytest.raises(HBError) as info:
        cat.number(code, unit)
    assert code in str(info.value) and cat[code].unit in str(info.value) and unit in str(info.value)


@pytest.mark.parametrize("code", ["RELOC_HOUSE_TYPES", "SCHED_PEOPLE_EXIT", "HH_EXIT_FIVE_DIFFICULTIES"])
def test_entries_without_a_single_number_refuse_bound(cat: Catalog, code: str) -> None:
    with pytest.raises(HBError, match=code):
        cat.number(code)


@given(st.decimals(min_value=0, max_value=100_000, places=2))
def test_conversion_round_trips(amount: Decimal) -> None:
    number = float(amount)
    for small, big in (("人", "万人"), ("元", "亿元"), ("ratio", "%"), ("‰", "%")):
        assert convert(convert(number, big, small), small, big) == number


# ── parameters, levels, table ──────────────────────────────────────────


def test_poverty_line_comes_from_parameters_and_is_marked_sample(cat: Catalog) -> None:
    line = cat.parameters["poverty_line"]
    assert line["source"] == "sample"
    assert line["by_year"], "at least one sample year"
    for year, entry in line["by_year"].items():
        assert cat.poverty_line(year) == entry["value"]
        assert entry["confirmed"] is False and cat.poverty_line_confirmed(year) is False
    assert "poverty_line" not in cat.indicators


def test_every_yearly_parameter_is_readable_and_samples_are_unconfirmed(cat: Catalog) -> None:
    for name, entry in cat.parameters.items():
        yearly = entry.get("by_year", entry.get("values"))
        if yearly is None:  # an office setting, not a yearly value (report_min_coverage, reporting_due)
            continue
        for year, item in yearly.items():
            raw = item["value"] if isinstance(item, dict) else item
            assert cat.parameter(name, year) == raw
            if entry.get("source") == "sample":
                assert cat.parameter_confirmed(name, year) is False, (name, year)


def test_every_plan_year_has_a_poverty_line_marked_unconfirmed(cat: Catalog) -> None:
    for year in range(cat.start, cat.end + 1):
        assert cat.poverty_line(year) > 0
        assert not cat.poverty_line_confirmed(year)  # sample values: an office confirms its own


def test_missing_poverty_line_year_names_the_year(tmp_path) -> None:
    text = INDICATORS.read_text(encoding="utf-8")
    line = next(x for x in text.splitlines() if x.strip().startswith("2018: {value:") and "贫困标准" in x)
    (tmp_path / "indicators.yaml").write_text(text.replace(line + "\n", ""), encoding="utf-8")
    cat = load_catalog(tmp_path / "indicators.yaml")
    with pytest.raises(HBError, match="2018"):
        cat.poverty_line(2018)


def test_for_level(cat: Catalog) -> None:
    for level in LEVELS:
        chosen = cat.for_level(level)
        assert chosen and all(level in i.levels for i in chosen)
    assert sum(len(cat.for_level(level)) for level in LEVELS) == sum(len(i.levels) for i in cat)
    with pytest.raises(HBError, match="city"):
        cat.for_level("city")


def test_catalog_table_rows(cat: Catalog) -> None:
    rows = catalog_table(cat)
    assert [r["code"] for r in rows] == list(cat.indicators)
    assert set(rows[0]) == {"code", "name", "value", "unit", "deadline", "section"}
    by_code = {r["code"]: r for r in rows}
    for indicator in cat:
        shown = numbers_in(by_code[indicator.code]["value"])
        assert set(shown) <= indicator.numbers()
        if indicator.numbers() - {indicator.deadline, indicator.base_year}:
            assert shown, indicator.code
    pv = cat["PV_HOUSEHOLD_KW"]
    assert numbers_in(by_code["PV_HOUSEHOLD_KW"]["value"]) == [pv.min, pv.max]


# ── malformed catalogs ─────────────────────────────────────────────────

GOOD = """\
version: 1
plan: {title: 测试规划, start: 2016, end: 2020, regions: [大别山]}
indicators:
  - code: ALPHA_PEOPLE
    name: 甲
    kind: target
    unit: 万人
    value: 10
    deadline: 2019
    levels: [province, county]
    aggregation: sum
    direction: higher
    section: 二(三)
    quote: 甲10万人
  - code: BETA_SHARE
    name: 乙
    kind: schedule
    unit: "%"
    schedule: {2016: 60, 2017: 40}
    levels: [province]
    aggregation: ratio
    direction: higher
    section: 三(二)
    quote: 乙
parameters:
  poverty_line:
    by_year:
      2018: {value: 3000, confirmed: true}
  rural_income:
    confirmed: false
    values: {2018: 14000}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "indicators.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_minimal_catalog_loads(tmp_path: Path) -> None:
    cat = load_catalog(write(tmp_path, GOOD))
    assert cat.number("ALPHA_PEOPLE", "人") == 100_000
    assert cat.cumulative_share("BETA_SHARE", 2016) == 0.6
    assert cat.poverty_line(2018) == 3000 and cat.poverty_line_confirmed(2018)
    assert cat.parameter("rural_income", 2018) == 14000 and not cat.parameter_confirmed("rural_income", 2018)
    with pytest.raises(HBError, match="rural_income.*2019"):
        cat.parameter("rural_income", 2019)
    with pytest.raises(HBError, match="land_price"):
        cat.parameter("land_price", 2018)


BROKEN = [
    ("    value: 10\n", "    value: 十万\n", "ALPHA_PEOPLE", "value"),
    ("    value: 10\n", '    value: "10"\n', "ALPHA_PEOPLE", "value"),
    ("    kind: target\n", "    kind: goal\n", "ALPHA_PEOPLE", "kind"),
    ("levels: [province, county]", "levels: [province, city]", "ALPHA_PEOPLE", "levels"),
    ("levels: [province, county]", "levels: []", "ALPHA_PEOPLE", "levels"),
    ("    value: 10\n", "    min: 10\n    max: 5\n", "ALPHA_PEOPLE", "min"),
    ("    value: 10\n", "    value: 10\n    values: [1, 2]\n", "ALPHA_PEOPLE", "values"),
    ("    quote: 甲10万人\n", "", "ALPHA_PEOPLE", "quote"),
    ("    aggregation: sum\n", "    aggregation: average\n", "ALPHA_PEOPLE", "aggregation"),
    (
        "    direction: higher\n    section: 二(三)",
        "    direction: up\n    section: 二(三)",
        "ALPHA_PEOPLE",
        "direction",
    ),
    ("    deadline: 2019\n", "    deadline: 2025\n", "ALPHA_PEOPLE", "deadline"),
    ("    deadline: 2019\n", "    deadlin: 2019\n", "ALPHA_PEOPLE", "deadlin"),
    ("    deadline: 2019\n", "    region: 大巴山\n", "ALPHA_PEOPLE", "region"),
    ("    unit: 万人\n", '    unit: ""\n', "ALPHA_PEOPLE", "unit"),
    ("    value: 10\n", "    value: 10\n    value: 11\n", "ALPHA_PEOPLE", "value"),
    ("    deadline: 2019\n", "    discrepancy_with: [GAMMA]\n", "ALPHA_PEOPLE", "discrepancy_with"),
    ("    deadline: 2019\n", "    discrepancy_with: [BETA_SHARE]\n", "BETA_SHARE", "discrepancy_with"),
    ("schedule: {2016: 60, 2017: 40}", "schedule: {2016: 60, 2017: 50}", "BETA_SHARE", "schedule"),
    ("schedule: {2016: 60, 2017: 40}", "schedule: {2015: 60, 2017: 40}", "BETA_SHARE", "schedule"),
    ("    schedule: {2016: 60, 2017: 40}\n", "    value: 5\n", "BETA_SHARE", "schedule"),
    ('    unit: "%"\n    schedule', "    unit: 个\n    schedule", "BETA_SHARE", "unit"),
    ("code: BETA_SHARE", "code: ALPHA_PEOPLE", "ALPHA_PEOPLE", "第"),
    ("code: BETA_SHARE", "code: beta_share", "beta_share", "code"),
]


@pytest.mark.parametrize(
    ("old", "new", "code", "field"), BROKEN, ids=[f"{b[2]}-{b[3]}-{i}" for i, b in enumerate(BROKEN)]
)
def test_malformed_entry_names_code_and_field(
    tmp_path: Path, old: str, new: str, code: str, field: str
) -> None:
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(HBError) as info:
        load_catalog(path)
    message = str(info.value)
    assert code in message and field in message, message
    assert info.value.file == str(path.resolve())


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (GOOD.replace("version: 1", "version: 2"), "version"),
        (GOOD.replace("indicators:\n", "indicators:\n  - [broken\n", 1), "YAML"),
        (GOOD.replace("{value: 3000, confirmed: true}", "{value: 三千}"), "poverty_line.*2018"),
        (GOOD.replace("{2018: 14000}", "{2018: -1}"), "rural_income.*2018"),
        (GOOD.replace("{2018: 14000}", "{二〇一八: 14000}"), "rural_income"),
        (GOOD.replace("confirmed: true}", "confirmed: 是}"), "confirmed"),
        ("", "为空"),
    ],
)
def test_malformed_file_is_named(tmp_path: Path, text: str, words: str) -> None:
    with pytest.raises(HBError, match=words):
        load_catalog(write(tmp_path, text))


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(HBError, match="nowhere.yaml"):
        load_catalog(tmp_path / "nowhere.yaml")


def test_cache_returns_same_object_until_the_file_changes(tmp_path: Path) -> None:
    assert load_catalog() is load_catalog(INDICATORS)
    path = write(tmp_path, GOOD)
    first = load_catalog(path)
    assert load_catalog(path) is first
    write(tmp_path, GOOD.replace("    value: 10\n", "    value: 12.5\n"))
    assert load_catalog(path)["ALPHA_PEOPLE"].value == 12.5


def test_indicator_is_a_value_object() -> None:
    a = Indicator("A", "甲", "target", "个", "四(一)", "甲", ("province",), "sum", "higher", value=1.0)
    assert a == Indicator(
        "A", "甲", "target", "个", "四(一)", "甲", ("province",), "sum", "higher", value=1.0
    )
    with pytest.raises(AttributeError):
        a.value = 2.0  # type: ignore[misc]


# ── the plan's words as modelled (issue: strict bounds) ───────────────


def test_strict_bounds_follow_the_plans_words(cat: Catalog, sections: dict[str, str]) -> None:
    """ "大于98%" and "小于5.9‰" exclude the number itself; "以上/不低于/不超过" include it."""
    for i in cat:
        strict = re.search(r"(大于|小于)\d", normalise(i.quote)) is not None
        assert i.exclusive == strict, i.code
        if strict:
            assert re.search(r"(大于|小于)\d", sections[i.section]), i.code
    ncms = cat["REGION_DABIE_NCMS_PARTICIPATION"]
    assert not ncms.meets(98, ncms.min, None) and ncms.meets(98.1, ncms.min, None)
    growth = cat["REGION_WULING_POPULATION_GROWTH"]
    assert not growth.meets(5.9, None, growth.max) and growth.meets(5.8, None, growth.max)
    pension = cat["REGION_DABIE_PENSION_PARTICIPATION"]  # "达到95%": 95% itself meets it
    assert pension.meets(95, pension.value, None)
    assert ncms.value_text() == ">98" and growth.value_text() == "<5.9"


def test_regional_poverty_is_solved_by_2019_in_one_section_and_2020_in_another(
    cat: Catalog, sections: dict[str, str]
) -> None:
    one_match(r"到(2019)年底,全省390万农村贫困人口.*?区域整体贫困得到有效解决", sections["二(三)"])
    one_match(r"(2020)年4个片区整体贫困有效解决", sections["三(二)"])
    early, late = cat["TARGET_REGIONS_POVERTY_SOLVED_2019"], cat["TARGET_REGIONS_POVERTY_SOLVED"]
    assert (early.deadline, late.deadline) == (2019, 2020)
    assert late.code in early.discrepancy_with and early.code in late.discrepancy_with


def test_mufu_two_pension_targets_are_flagged(cat: Catalog, sections: dict[str, str]) -> None:
    text = sections["三(三)·幕阜山片区"]
    assert one_match(r"城乡居民养老保险参保率达到(\d+)%", text)[1] == "95"
    assert one_match(r"养老保险和医疗保险率(\d+)%", text)[1] == "100"
    a, b = cat["REGION_MUFU_PENSION_PARTICIPATION"], cat["REGION_MUFU_INSURANCE_COVERAGE"]
    assert (a.value, b.value) == (95, 100) and b.code in a.discrepancy_with and a.code in b.discrepancy_with


def test_labour_and_welfare_targets_exceed_the_poor_and_say_so(
    cat: Catalog, sections: dict[str, str]
) -> None:
    labour = float(one_match(r"有劳动能力的(\d+)万贫困人口全部脱贫", sections["五·主要目标7"])[1])
    welfare = float(one_match(r"建档立卡贫困人口中的(\d+)万低保、五保对象", sections["五(三)"])[1])
    assert labour + welfare > cat["BASE_POOR_PEOPLE"].value
    for code in ("LABOUR_CAPABLE_EXIT", "WELFARE_EXIT"):
        assert "390" in cat[code].note or "LABOUR_CAPABLE_EXIT" in cat[code].note


def test_four_guarantees_are_undefined_and_the_note_says_so(cat: Catalog, plan_text: str) -> None:
    body = normalise(plan_text)
    assert "四保障" in body and "上学难、就业难、看病难、安居难、养老难" in body
    assert not re.search(r"四保障[”\"]?(是指|即|包括)", body), "the plan now defines 四保障: revise the note"
    assert "没有写明" in cat["HH_BASIC_GOAL"].note


def test_county_schedule_shares_of_37_are_not_whole_and_the_rounding_is_said(cat: Catalog) -> None:
    counties = cat["BASE_POOR_COUNTIES"].value
    shares = cat["SCHED_COUNTY_EXIT"].schedule
    assert any(not (counties * share / 100).is_integer() for share in shares.values())
    assert "四舍五入" in cat["SCHED_COUNTY_EXIT"].note and "9.25" in cat["SCHED_COUNTY_EXIT"].note


def test_microcredit_coverage_stands_under_2019(cat: Catalog, sections: dict[str, str]) -> None:
    one_match(
        r"信用贷款全覆盖。.*?到(2019)年力争全省扶贫小额信贷规模.*?确保全省符合条件的建档立卡贫困户",
        sections["四(四)"],
    )
    assert cat["MICROCREDIT_COVERAGE"].deadline == 2019


def test_tourism_villages_are_a_designated_set(cat: Catalog, sections: dict[str, str]) -> None:
    assert one_match(r"以推进全省(\d+)个旅游扶贫村为重点", sections["四(六)"])[1] == "243"
    assert cat["TOURISM_VILLAGES"].counts == "designated"


def test_ecommerce_coverage_is_of_villages_with_the_conditions(
    cat: Catalog, sections: dict[str, str]
) -> None:
    one_match(r"到(2017)年对有条件的贫困村实现电商扶贫全覆盖", sections["四(五)"])
    from hbreport.spec import load_fields

    fields = load_fields()
    measuring = [f for f in fields.values() if "ECOMMERCE_COVERAGE" in f.indicators]
    assert [f.key for f in measuring] == ["ecommerce_rate"], "the rate of villages with the conditions"


def test_yulu_trained_counts_people_transferred_not_students_subsidised(
    cat: Catalog, sections: dict[str, str]
) -> None:
    one_match(r"到(2019)年力争培训转移20万人", sections["四(三)"])
    from hbreport.spec import load_fields

    fields = load_fields()
    measuring = [f for f in fields.values() if "YULU_TRAINED" in f.indicators]
    assert [f.key for f in measuring] == ["yulu_transferred"]
    assert "YULU_TRAINED" not in fields["yulu_students"].indicators


@pytest.mark.parametrize(
    ("code", "section", "words"),
    [
        ("SUPPORT_UNCHANGED", "六(七)", "对口帮扶单位不撤"),
        ("REGION_DEVELOPMENT_PLANS", "八(二)", "区域发展与扶贫攻坚实施规划"),
        ("POWER_GRID_UPGRADE", "五(一)", "低电压"),
        ("EXIT_VERIFICATION_PROCEDURES", "六(六)", "销号"),
        ("FOUR_FUNDS", "七(一)", "四大基金"),
        ("SIX_TO_FARM", "四(一)", "六到农家"),
        ("FIVE_PRIORITY_AREAS", "三(一)", "五大区域"),
    ],
)
def test_entries_once_missing_are_in_their_section(
    cat: Catalog, sections: dict[str, str], code: str, section: str, words: str
) -> None:
    assert words in sections[section]
    assert cat[code].section == section and words in cat[code].quote


def test_every_plan_year_has_a_sample_poverty_line_saying_how_it_was_obtained(cat: Catalog) -> None:
    """Rosters of 2018 and 2019 (the years of most county exits) need a line: every year has one,
    unconfirmed until an office confirms it, each saying where the figure came from."""
    by_year = cat.parameters["poverty_line"]["by_year"]
    for year in range(cat.start, cat.end + 1):
        assert cat.poverty_line(year) > 0 and not cat.poverty_line_confirmed(year)
        assert by_year[year]["note"] and by_year[year]["source"] == "sample"
    lines = [cat.poverty_line(year) for year in range(cat.start, cat.end + 1)]
    assert lines == sorted(lines), "the current-price line does not fall"


def test_parsed_catalog_is_kept_between_runs_and_a_damaged_copy_is_parsed_again(tmp_path, monkeypatch):
    """The catalog is parsed once per text and kept as JSON (hbreport.kept): read back it is the same
    catalog (years as keys, tuples, floats), naming the file it was loaded from; a damaged copy is
    parsed again; a text with an error is never kept; YAML that JSON cannot hold (a date) is not kept."""
    import json

    from hbreport import catalog, kept

    cache = tmp_path / "cache"
    cache.mkdir()
    monkeypatch.setattr(kept, "cache_dir", lambda: str(cache))
    text = INDICATORS.read_text(encoding="utf-8")
    parsed = catalog.parse_catalog(text, INDICATORS)
    assert catalog._parse_kept(text, INDICATORS) == parsed
    (stored,) = cache.glob("hbreport-catalog-*.json")
    copy = catalog._parse_kept(text, tmp_path / "other.yaml")
    assert copy.indicators == parsed.indicators and copy.parameters == parsed.parameters
    assert copy.path == tmp_path / "other.yaml" and copy.regions == parsed.regions
    assert copy.indicators["SCHED_PEOPLE_EXIT"].schedule == parsed.indicators["SCHED_PEOPLE_EXIT"].schedule
    data = json.loads(stored.read_text(encoding="utf-8"))
    data["title"] = "读回的副本"
    stored.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    assert catalog._parse_kept(text, INDICATORS).title == "读回的副本"  # the copy is what is read back
    stored.write_text('{"indicators": [{"code": "X"}]}', encoding="utf-8")  # damaged: parsed again
    assert catalog._parse_kept(text, INDICATORS) == parsed
    stored.write_text("[1, 2]", encoding="utf-8")
    assert catalog._parse_kept(text, INDICATORS) == parsed
    bad = text.replace("version: 1", "version: 2", 1)
    for _ in range(2):  # never kept: the message every time
        with pytest.raises(HBError, match="version"):
            catalog._parse_kept(bad, INDICATORS)
    dated = text.replace("\nparameters:\n", "\nparameters:\n  checked_on: {day: 2017-03-31}\n", 1)
    assert catalog._parse_kept(dated, INDICATORS).parameters["checked_on"] == {"day": dt.date(2017, 3, 31)}
    assert len(list(cache.glob("hbreport-catalog-*.json"))) == 1

"""A deterministic synthetic province roster: 1.3 million households over the sample's townships.

Every poor village of the embedded baseline gets its ``poor_households`` households (sizes adding up
to its ``poor_people``), with valid resident ID numbers (county prefix, birth date, sequence, ISO 7064
check character; unique within the province by construction), names, and what a township would
enter for ``period``: exits along the plan's schedule (SCHED_PEOPLE_EXIT), a little 返贫 and 新识别,
incomes against the year's poverty line, the checklist, housing and water, and 低保五保 as 贫困户属性 says.

A share of planted mistakes makes the checks fire: bad check digits, the same ID twice in a township
and across townships, incomes of 0 or over 100,000, exits below the line, in a dilapidated house or
without safe water, a missing 致贫原因, 因病 with no sick member, a 贫困户属性 that does not follow
低保五保; and per village, all households
exiting just above the line, or many identical incomes. :attr:`SynthTownship.planted` lists them.

Everything is derived from (seed, unit code, household number) with hashes and seeded generators,
so a township can be generated alone, in any process, and comes out the same every time.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path
from typing import Any

from hbreport.checks.idcard import check_char
from hbreport.households.export import WELFARE_FROM_TYPE
from hbreport.households.spec import Household

SEED = 20160101
MISTAKES = 0.004  # share of households with a planted mistake
VILLAGE_MISTAKES = 0.02  # share of villages with a planted village-level pattern
HOUSEHOLD_KINDS = (
    "id_check",
    "id_dup_within",
    "id_dup_across",
    "income_zero",
    "income_high",
    "exited_below_line",
    "exited_dilapidated",
    "exited_no_water",
    "missing_cause",
    "sick_inconsistent",
    "type_welfare_mismatch",
)
VILLAGE_KINDS = ("near_line", "identical_income")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹"
GIVEN = "建国华明文军平志红秀英兰玉芳桂珍春梅海林云峰刚勇强伟杰涛斌辉敏静丽娟霞燕凤德福贵生发成才荣春秋冬山水"
CAUSES = (
    ("因病", 0.32),
    ("因残", 0.1),
    ("因学", 0.08),
    ("因灾", 0.03),
    ("因婚", 0.01),
    ("缺土地", 0.04),
    ("缺水", 0.02),
    ("缺技术", 0.12),
    ("缺劳力", 0.1),
    ("缺资金", 0.12),
    ("交通条件落后", 0.03),
    ("自身发展动力不足", 0.02),
    ("其他", 0.01),
)
TYPES = (("一般贫困户", 0.7), ("低保贫困户", 0.25), ("特困供养(五保)贫困户", 0.05))
_ID_SPACE = 21900 * 1000  # birth days (60 years) × 3-digit sequence
_ID_STEP = 7_919_111  # coprime with _ID_SPACE: k → (k·step + offset) mod space is one-to-one


@dataclass(frozen=True)
class Planted:
    """A planted mistake: its kind, township, and the household or village it sits on."""

    kind: str
    township_code: str
    household_id: str | None = None
    village_code: str | None = None


@dataclass
class SynthTownship:
    code: str
    households: list[Household]
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    planted: list[Planted] = field(default_factory=list)


def _rng(*parts: Any) -> random.Random:
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


@dataclass(eq=False, repr=False)
class Province:
    """The synthetic truth for one registry, baseline and catalog."""

    registry: Any
    baseline: Any
    catalog: Any
    _: KW_ONLY
    seed: int = SEED
    mistakes: float = MISTAKES
    village_mistakes: float = VILLAGE_MISTAKES

    def __post_init__(self) -> None:
        self._offsets: dict[str, int] = {}
        self._townships: list[str] | None = None
        self._checklists: dict[int, tuple[str, ...]] = {}
        counties: dict[str, int] = {}
        for code in sorted(self.baseline.villages):
            v = self.baseline.villages[code]
            if v.poor_households:
                self._offsets[code] = counties.get(code[:6], 0)
                counties[code[:6]] = self._offsets[code] + v.poor_households

    # -- the registered households

    def townships(self, under: str | None = None) -> list[str]:
        """Townships (at or under ``under``) with poor households, in registry order."""
        units = (
            self.registry.at_level("township")
            if under is None
            else (
                [self.registry.get(under)]
                if self.registry.get(under).level == "township"
                else self.registry.descendants(under, "township")
            )
        )
        return [t.code for t in units if self.villages(t.code)]

    def villages(self, township: str) -> list:
        return [
            v
            for v in self.registry.children(township)
            if (b := self.baseline.villages.get(v.code)) is not None and b.poor_households
        ]

    def id_number(self, village_code: str, seq: int) -> str:
        """The resident ID of household ``seq`` (1-based) of a village: unique in the province."""
        k = self._offsets[village_code] + seq - 1
        index = (k * _ID_STEP + self.seed) % _ID_SPACE
        day, order = divmod(index, 1000)
        born = _birth(day)
        body = f"{village_code[:6]}{born}{order:03d}"
        return body + check_char(body)

    def households(self, township: str) -> list[Household]:
        """The township's registered households (what the export holds, planted ID mistakes included)."""
        out: list[Household] = []
        for village in self.villages(township):
            base = self.baseline.villages[village.code]
            rng = _rng(self.seed, "hh", village.code)
            n, people = base.poor_households, base.poor_people
            low, extra = divmod(people, n)
            sizes = [low + 1] * extra + [low] * (n - extra)
            rng.shuffle(sizes)
            for seq, size in enumerate(sizes, start=1):
                name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))
                out.append(
                    Household(
                        household_id=f"{village.code}{seq:04d}",
                        head_name=name,
                        village_code=village.code,
                        village_name=village.name,
                        id_number=self.id_number(village.code, seq),
                        household_size=size,
                    )
                )
        planted = self._planted_households(township, out)
        for i, (kind, _) in planted.items():
            h = out[i]
            number = h.id_number
            if kind == "id_check":
                wrong = str((int(number[17]) + 1) % 10) if number[17].isdigit() else "0"
                number = number[:17] + wrong
            elif kind == "id_dup_within" and len(out) > 1:
                number = out[i - 1].id_number if i > 0 else out[i + 1].id_number
            elif kind == "id_dup_across":
                if self._townships is None:
                    self._townships = self.townships()
                townships = self._townships
                index = townships.index(township)
                other = townships[index - 1] if index > 0 else townships[-1]
                first = self.villages(other)[0].code
                number = self.id_number(first, 1)
            out[i] = Household(
                h.household_id, h.head_name, h.village_code, h.village_name, number, h.household_size
            )
        return out

    def _planted_households(self, township: str, households: list[Household]) -> dict[int, tuple[str, str]]:
        rng = _rng(self.seed, "mistakes", township)
        planted: dict[int, tuple[str, str]] = {}
        for i, h in enumerate(households):
            if rng.random() < self.mistakes:
                planted[i] = (rng.choice(HOUSEHOLD_KINDS), h.household_id)
        return planted

    # -- what the township enters

    def checklist(self, period: int) -> tuple[str, ...]:
        if period not in self._checklists:
            from hbreport.households.spec import roster_config

            self._checklists[period] = roster_config(period, catalog=self.catalog).checklist
        return self._checklists[period]

    def exit_year(self, household_id: str, county: str) -> int | None:
        """The year a household exits along the plan's schedule (None: not by 2020)."""
        u = _rng(self.seed, "exit", household_id).random()
        pace = 0.9 + 0.2 * _rng(self.seed, "pace", county).random()
        for year in range(self.catalog.start, self.catalog.end + 1):
            if u < min(1.0, self.catalog.cumulative_share("SCHED_PEOPLE_EXIT", year) * pace):
                return year
        return None

    def township(self, township: str, period: int) -> SynthTownship:
        """Households and their inputs for ``period``, with the planted mistakes."""
        households = self.households(township)
        line = self.catalog.poverty_line(period)
        checklist = self.checklist(period)
        growth = self.catalog.parameter("provincial_rural_income", period) / self.catalog.parameter(
            "provincial_rural_income", period - 1
        )
        result = SynthTownship(township, households)
        planted = self._planted_households(township, households)
        village_kind: dict[str, str] = {}
        for village in self.villages(township):
            r = _rng(self.seed, "village-mistake", village.code)
            if r.random() < self.village_mistakes:
                village_kind[village.code] = r.choice(VILLAGE_KINDS)
                result.planted.append(
                    Planted(village_kind[village.code], township, village_code=village.code)
                )
        for i, h in enumerate(households):
            rng = _rng(self.seed, "in", h.household_id, period)
            year = self.exit_year(h.household_id, township[:6])
            exited = year is not None and year <= period
            returned = exited and year < period and rng.random() < 0.01
            new = (not exited) and rng.random() < 0.01
            cause = _weighted(rng, CAUSES)
            size = h.household_size or 1
            sick = min(size, rng.randint(1, 2)) if cause == "因病" else (1 if rng.random() < 0.15 else 0)
            students = min(size, rng.randint(1, 2)) if cause == "因学" else min(size, rng.randint(0, 1))
            if exited and not returned:
                status = "已脱贫(享受政策)" if year >= period - 1 else "已脱贫(不再享受政策)"
                income = round(line * rng.uniform(1.15, 3.5))
                checks = dict.fromkeys(checklist, "是")
                house, water = "否", "是"
            else:
                status = "返贫" if returned else "未脱贫"
                income = round(line * rng.uniform(0.4, 0.98))
                checks = {k: ("是" if rng.random() < 0.7 else "否") for k in checklist}
                house = "是" if rng.random() < 0.2 else "否"
                water = "是" if rng.random() < 0.8 else "否"
            kind = village_kind.get(h.village_code)
            if kind == "near_line":
                status, year, exited = "已脱贫(享受政策)", period, True
                income = round(line * rng.uniform(1.01, 1.08))
                checks, house, water = dict.fromkeys(checklist, "是"), "否", "是"
            elif kind == "identical_income" and rng.random() < 0.6:
                income = round(line * 1.2)
            values: dict[str, Any] = {
                "poverty_cause": cause,
                "household_type": _weighted(rng, TYPES),
                "income_per_capita": income,
                "sick_members": sick,
                "students": students,
                **checks,
                "dilapidated_house": house,
                "safe_water": water,
                "helper_name": rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
                "exit_status": status,
                "exit_year": year if (exited or returned) else None,
                "newly_identified": "是" if new else "否",
            }
            _labour(_rng(self.seed, "labour", h.household_id, period), values, growth)
            if i in planted:
                kind_h = planted[i][0]
                _plant(kind_h, values, line, checklist, period)
                result.planted.append(Planted(kind_h, township, household_id=h.household_id))
            result.values[h.household_id] = values
        return result


WORKING = (("普通劳动力", 6), ("技能劳动力", 2), ("弱劳动力或半劳动力", 2))
NOT_WORKING = ("丧失劳动力", "无劳动力")


def _labour(rng: random.Random, values: dict[str, Any], growth: float) -> None:
    """劳动能力, 健康状况, 在校生情况, 低保五保, 一有, 技能 and last year's income (a stream of its own, so the
    other inputs stay as they were): a household marked exited meets the plan's standard on its route —
    one in ten cannot work and is carried by 低保 or 五保, the others have a main income source, a skill
    and income grown faster than the province's (``growth``: this year's provincial rural income ÷ last
    year's)."""
    income = values["income_per_capita"]
    exited = str(values["exit_status"]).startswith("已脱贫")
    if exited and rng.random() < 0.1:
        welfare = rng.choice(("低保", "五保"))
        values.update(labour_capacity=rng.choice(NOT_WORKING), welfare_status=welfare)
        values.update(has_income_source="否", has_skill="否")
        values["household_type"] = "低保贫困户" if welfare == "低保" else "特困供养(五保)贫困户"
    elif exited:
        values.update(labour_capacity=_weighted(rng, WORKING))
        values["welfare_status"] = WELFARE_FROM_TYPE[values["household_type"]]
        values.update(has_income_source="是", has_skill="是")
    else:
        values["labour_capacity"] = rng.choice((*(w for w, _ in WORKING), *NOT_WORKING))
        values["welfare_status"] = WELFARE_FROM_TYPE[values["household_type"]]
        values["has_income_source"] = "是" if rng.random() < 0.6 else "否"
        values["has_skill"] = "是" if rng.random() < 0.5 else "否"
    factor = growth * rng.uniform(1.05, 1.4) if exited else rng.uniform(0.85, 1.2)
    values["income_previous"] = int(income / factor)
    values["health_status"] = (
        rng.choice(("长期慢性病", "患有大病", "残疾")) if values["sick_members"] else "健康"
    )
    values["school_status"] = rng.choice(("小学", "初中", "高中")) if values["students"] else "非在校生"


def _plant(kind: str, values: dict[str, Any], line: float, checklist, period: int) -> None:
    """Apply one planted mistake to a household's inputs (ID mistakes sit in the export instead)."""
    exited = {
        "exit_status": "已脱贫(享受政策)",
        "exit_year": period,
        **dict.fromkeys(checklist, "是"),
        "dilapidated_house": "否",
        "safe_water": "是",
        "labour_capacity": "普通劳动力",
        "has_income_source": "是",
        "has_skill": "是",
        "income_previous": round(line * 0.3),
    }
    if kind == "income_zero":
        values["income_per_capita"] = 0
    elif kind == "income_high":
        values["income_per_capita"] = 150_000
    elif kind == "exited_below_line":
        values.update(exited, income_per_capita=round(line * 0.9))
    elif kind == "exited_dilapidated":
        values.update(exited, income_per_capita=round(line * 2), dilapidated_house="是")
    elif kind == "exited_no_water":
        values.update(exited, income_per_capita=round(line * 2), safe_water="否")
    elif kind == "missing_cause":
        values["poverty_cause"] = None
    elif kind == "sick_inconsistent":
        values.update(poverty_cause="因病", sick_members=0)
    elif kind == "type_welfare_mismatch":  # the attribute not updated: 低保五保 (and HR24) as they were
        values["household_type"] = "低保贫困户" if values["welfare_status"] == "否" else "一般贫困户"


def _weighted(rng: random.Random, options) -> str:
    x = rng.random() * sum(w for _, w in options)
    for value, weight in options:
        x -= weight
        if x < 0:
            return value
    return options[-1][0]


def _birth(day: int) -> str:
    import datetime as dt

    return (dt.date(1935, 1, 1) + dt.timedelta(days=day)).strftime("%Y%m%d")


# ---------------------------------------------------------------- writing a synthetic province


@dataclass
class SynthResult:
    export: Path
    rosters: list[Path]
    households: int
    planted: list[Planted]


_WORKER: dict[str, Any] = {}


def _init(seed: int, mistakes: float, village_mistakes: float, export) -> None:
    """``export``: an ExportIndex (each worker reads one township at a time)."""
    from hbreport.baseline import load_baseline
    from hbreport.catalog import load_catalog
    from hbreport.registry import load_registry

    registry = load_registry()
    _WORKER["province"] = Province(
        registry,
        load_baseline(),
        load_catalog(),
        seed=seed,
        mistakes=mistakes,
        village_mistakes=village_mistakes,
    )
    _WORKER["export"] = export


def _write_one(args: tuple[str, int, str]) -> tuple[str, list[Planted]]:
    from hbreport.households.roster import write_roster
    from hbreport.households.spec import build_roster_spec

    township, period, out_dir = args
    province: Province = _WORKER["province"]
    export = _WORKER["export"]
    synth = province.township(township, period)
    spec = build_roster_spec(
        township,
        period,
        export.township(township),
        registry=province.registry,
        catalog=province.catalog,
        roster_sha256=export.sha256,
    )
    path = write_roster(spec, Path(out_dir) / spec.file_name(), values=synth.values)
    return str(path), synth.planted


def write_synthetic(
    out_dir: str | Path,
    period: int,
    *,
    under: str | None = None,
    limit: int | None = None,
    seed: int = SEED,
    mistakes: float = MISTAKES,
    village_mistakes: float = VILLAGE_MISTAKES,
    workers: int = 1,
) -> SynthResult:
    """Write the registration export (``<out_dir>/export.csv``) and one filled roster per township.

    ``under`` limits to a unit's townships, ``limit`` to the first so many of them (quick runs)."""
    from hbreport.baseline import load_baseline
    from hbreport.catalog import load_catalog
    from hbreport.households.export import write_export
    from hbreport.registry import load_registry

    out = Path(out_dir)
    province = Province(
        load_registry(),
        load_baseline(),
        load_catalog(),
        seed=seed,
        mistakes=mistakes,
        village_mistakes=village_mistakes,
    )
    townships = province.townships(under)[:limit]
    export_path = out / "export.csv"
    write_export(export_path, _all_households(province, townships))
    households = sum(
        sum(province.baseline.villages[v.code].poor_households for v in province.villages(t))
        for t in townships
    )
    jobs = [(t, period, str(out / "rosters")) for t in townships]
    from hbreport.households.export import ExportIndex
    from hbreport.households.store import RosterStore

    index_path = out / "export.sqlite"  # the export by township, for the workers
    with RosterStore(index_path) as store:
        sha256, _ = store.index_export(export_path)
    init = (seed, mistakes, village_mistakes, ExportIndex(index_path, sha256, export_path))
    if workers > 1:
        with ProcessPoolExecutor(workers, initializer=_init, initargs=init) as pool:
            done = list(pool.map(_write_one, jobs, chunksize=1))
    else:
        _init(*init)
        done = [_write_one(job) for job in jobs]
    return SynthResult(export_path, [Path(p) for p, _ in done], households, [x for _, ps in done for x in ps])


def _all_households(province: Province, townships: list[str]) -> Iterator[Household]:
    for township in townships:
        yield from province.households(township)

"""The 建档立卡 baseline at the start of 2016: poor villages, households and people per village,
and the poor counties (国定/省定), their region (片区) and exit year per county.

Both are data an office can correct: ``baseline.csv`` (``code,poor_village,poor_households,
poor_people``, one row per village) and ``counties.csv`` (``code,name,prefecture,poor_county,
region,exit_year[,rural_population][,old_area,minority_area,hardship_area,interspersed_area]``, one row
per county-level unit; 农村户籍人口 at the start of 2016 is the denominator of the 贫困发生率).

The plan's key areas (三(一)): 贫困地区 (read as the poor counties, ``poor_county``), 革命老区, 少数民族地区,
自然条件恶劣的特困地区 and 重点插花贫困地区, with the four 连片特困地区 (``region``) as the main battlefield.
Each of the four flag columns holds 1 (是), 0 (否) or nothing: **blank is 未定** (not known), never 否.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from hbreport import paths
from hbreport.errors import HBError
from hbreport.registry import Registry, csv_records, decode_csv_bytes, normalize_code, read_csv_rows

#: the four contiguous poverty regions (连片特困地区) the plan names as the main battlefield
REGIONS = ("大别山", "武陵山", "秦巴山", "幕阜山")
#: poor-county kinds: national (国家扶贫开发工作重点县、片区县) and province-designated (省定)
POOR_COUNTY_KINDS = {
    "national": "national",
    "国家级": "national",
    "国定": "national",
    "provincial": "provincial",
    "省级": "provincial",
    "省定": "provincial",
}
POOR_COUNTY_ZH = {"national": "国定贫困县", "provincial": "省定贫困县"}
BASELINE_COLUMNS = ("code", "poor_village", "poor_households", "poor_people")
COUNTY_COLUMNS = ("code", "name", "prefecture", "poor_county", "region", "exit_year")
#: optional: 1 for a 革命老区 county (the plan's 五(六) names 83 without listing them; the sample's marking
#: is sample data, see samples/README.md)
OLD_AREA_COLUMN = "old_area"
#: the roll-up group of the counties in none of the four 片区
OUTSIDE_REGIONS = "片区外"
OLD_AREA = "革命老区"
#: the roll-up group of the poor counties: the plan's 贫困地区 (三(一): "37个贫困县…是扶贫开发基本对象")
POOR_AREA = "贫困县"
MINORITY_AREA = "少数民族地区"
HARDSHIP_AREA = "特困地区"
INTERSPERSED_AREA = "插花贫困地区"


@dataclass(frozen=True, slots=True)
class AreaFlag:
    """A key area of the plan (三(一)) carried as a county flag: 1 是, 0 否, blank 未定."""

    column: str  # counties.csv column
    group: str  # roll-up group (片区汇总 row)
    plan_name: str  # as the plan names it


#: the flag areas, in the plan's order (三(一)); the 4 片区 and the poor counties are columns of their own
AREA_FLAGS = (
    AreaFlag(OLD_AREA_COLUMN, OLD_AREA, "革命老区"),
    AreaFlag("minority_area", MINORITY_AREA, "少数民族地区"),
    AreaFlag("hardship_area", HARDSHIP_AREA, "自然条件恶劣的特困地区"),
    AreaFlag("interspersed_area", INTERSPERSED_AREA, "重点插花贫困地区"),
)
_FLAG_TEXT = {"": None, "1": True, "0": False}
TOTAL_KEYS = (
    "poor_households",
    "poor_people",
    "poor_villages",
    "poor_counties",
    "villages",
    "rural_population",
)


@dataclass(frozen=True, slots=True)
class VillageBaseline:
    code: str
    poor_village: bool
    poor_households: int
    poor_people: int


@dataclass(frozen=True, slots=True)
class County:
    code: str
    name: str
    prefecture: str
    poor_county: str | None
    region: str | None
    exit_year: int | None
    rural_population: int | None = None
    old_area: bool | None = None
    minority_area: bool | None = None
    hardship_area: bool | None = None
    interspersed_area: bool | None = None

    def area(self, column: str) -> bool | None:
        """A key-area flag (AREA_FLAGS): True 是, False 否, None 未定."""
        return getattr(self, column)


def county_code_of(code: str | int) -> str:
    """The 12-digit code of the county-level unit that ``code`` is or lies in (first six digits)."""
    return normalize_code(code)[:6] + "000000"


class Baseline:
    """Village baseline plus county attributes; sums over any unit of a registry."""

    def __init__(
        self,
        villages: dict[str, VillageBaseline],
        counties: dict[str, County],
        source: Path | None = None,
        counties_source: Path | None = None,
        task_table=None,
    ) -> None:
        self.villages = villages
        self.counties = counties
        self.source = source
        self.counties_source = counties_source
        # the tasks per unit and year (hbreport.tasks.TaskTable); None: the sample's, for the sample
        self.task_table = task_table
        self._unit_tasks: tuple = (None, None)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_unit_tasks"] = (None, None)  # rebuilt where needed (worker processes)
        return state

    def with_tasks(self, table) -> Baseline:
        """The same baseline with a task table of its own (``--tasks``)."""
        return Baseline(self.villages, self.counties, self.source, self.counties_source, task_table=table)

    def tasks(self, registry: Registry):
        """The tasks of every unit of ``registry`` (hbreport.tasks.UnitTasks): this baseline's task
        table, else the embedded sample's when this is the sample's baseline, else none."""
        held_registry, held = self._unit_tasks
        if held is not None and held_registry is registry:
            return held
        from hbreport.tasks import UnitTasks, default_table

        table = self.task_table
        if table is None:  # the sample's tasks only where the sample's villages are the registry's
            table = default_table(self) if self._villages_are(registry) else None
        if table is None:
            from hbreport.tasks import TaskTable

            table = TaskTable()
        held = UnitTasks(table, registry, self, None)
        self._unit_tasks = (registry, held)
        return held

    def _villages_are(self, registry: Registry) -> bool:
        """Whether this baseline's villages are exactly the villages of ``registry`` (one of ours that the
        registry lacks says no before the registry's 30,000 units are gone through)."""
        units = registry.units
        for code in self.villages:
            unit = units.get(code)
            if unit is None or unit.level != "village" or unit.placeholder:
                return False
        return len(self.villages) == sum(1 for u in registry if u.level == "village" and not u.placeholder)

    def planned_exit(self, code: str | int, registry: Registry) -> int | None:
        """The planned 摘帽 year of the county that ``code`` is or lies in — the one schedule every form,
        consolidation and report reads: the year its tasks give (SCHED_COUNTY_EXIT, the task workbooks'
        摘帽 columns), else the list's ``exit_year`` (counties.csv) when the tasks give it no year."""
        county = self.county(code)
        if county is None or county.poor_county is None:
            return None
        from hbreport.tasks import COUNTY_SCHEDULE

        series = self.tasks(registry).table.series(county.code, COUNTY_SCHEDULE) or {}
        years = [period for period, value in sorted(series.items()) if value > 0]
        return years[0] if years else county.exit_year

    def exit_moved(self, codes: Iterable[str], registry: Registry) -> list[str]:
        """Names of the counties among ``codes`` whose tasks move their 摘帽 year from the list's."""
        moved = []
        for code in codes:
            county = self.county(code)
            if county is not None and county.exit_year is not None:
                planned = self.planned_exit(code, registry)
                if planned is not None and planned != county.exit_year:
                    moved.append(county.name)
        return moved

    def totals(self, registry: Registry, code: str | int) -> dict[str, int]:
        """Baseline sums over the villages at or under ``code``.

        Keys: poor_households, poor_people, poor_villages (villages marked poor), villages (village
        units in the registry), poor_counties (poor counties at or under the unit), rural_population
        (of the counties at or under the unit; 0 where the county list does not give it, and for a
        township or village, which the county list does not cover). A registry village with no
        baseline row counts as a village with no poor.
        """
        unit = registry.get(code)
        villages = [unit] if unit.level == "village" else registry.descendants(unit.code, "village")
        totals = dict.fromkeys(TOTAL_KEYS, 0)
        totals["villages"] = len(villages)
        for village in villages:
            row = self.villages.get(village.code)
            if row is not None:
                totals["poor_households"] += row.poor_households
                totals["poor_people"] += row.poor_people
                totals["poor_villages"] += row.poor_village
        counties = [unit] if unit.level == "county" else registry.descendants(unit.code, "county")
        totals["poor_counties"] = sum(self.is_poor_county(county.code) for county in counties)
        if unit.level not in ("township", "village"):
            records = [self.counties.get(county_code_of(c.code)) for c in counties]
            totals["rural_population"] = sum(r.rural_population or 0 for r in records if r is not None)
        return totals

    def county(self, code: str | int) -> County | None:
        """The county record of the county-level unit that ``code`` is or lies in."""
        return self.counties.get(county_code_of(code))

    def is_poor_county(self, code: str | int) -> bool:
        """Whether the county-level unit that ``code`` is or lies in is one of the poor counties."""
        county = self.county(code)
        return county is not None and county.poor_county is not None

    def region(self, code: str | int) -> str | None:
        """The poverty region (片区) of the county-level unit that ``code`` is or lies in."""
        county = self.county(code)
        return county.region if county is not None else None

    def old_area(self, code: str | int) -> bool:
        """Whether the county-level unit that ``code`` is or lies in is a 革命老区 county."""
        return self.area(code, OLD_AREA_COLUMN) is True

    def area(self, code: str | int, column: str) -> bool | None:
        """A key-area flag (AREA_FLAGS ``column``) of the county that ``code`` is or lies in; None: 未定."""
        county = self.county(code)
        return None if county is None else county.area(column)

    def groups(self, code: str | int) -> list[str]:
        """The roll-up groups of a unit at or below a county: its 片区 (or 片区外), 贫困县 for a poor
        county, and each key area (AREA_FLAGS) it is marked 1 in."""
        county = self.county(code)
        if county is None:
            return [OUTSIDE_REGIONS]
        groups = [county.region or OUTSIDE_REGIONS]
        if county.poor_county is not None:
            groups.append(POOR_AREA)
        groups.extend(flag.group for flag in AREA_FLAGS if county.area(flag.column) is True)
        return groups


def _int_at(path: Path, line: int, column: str, value: str) -> int:
    text = value.strip()
    if text.endswith(".0"):  # numbers saved by a spreadsheet
        text = text[:-2]
    if not (text.isascii() and text.isdigit()):
        raise HBError(
            f"第 {line} 行：{column} 列的值「{value}」不是非负整数",
            file=path,
            hint="填写 0 或正整数，没有时填 0",
        )
    return int(text)


def _code_at(path: Path, line: int, column: str, value: str) -> str:
    try:
        return normalize_code(value)
    except HBError:
        raise HBError(
            f"第 {line} 行：{column} 列的代码「{value}」无效",
            file=path,
            hint="代码应为 6 位（县市区）、9 位（乡镇）或 12 位（村）数字",
        ) from None


def _read(path: Path, what: str) -> str:
    from hbreport.xlsx.input_files import read_input

    return decode_csv_bytes(read_input(path, what), path)


def _parse_villages(path: Path) -> dict[str, VillageBaseline]:
    header, reader = read_csv_rows(_read(path, "基线"), path, BASELINE_COLUMNS)
    i_code, i_poor, i_households, i_people = (header.index(c) for c in BASELINE_COLUMNS)
    villages: dict[str, VillageBaseline] = {}
    line_of: dict[str, int] = {}
    for line, row in csv_records(reader, len(header)):
        code = _code_at(path, line, "code", row[i_code])
        if code in villages:
            raise HBError(
                f"第 {line} 行：村代码 {code} 重复（第 {line_of[code]} 行已有）",
                file=path,
                hint="每个村只能有一行，删除或改正重复的行",
            )
        poor = row[i_poor].strip()
        if poor not in ("0", "1"):
            raise HBError(
                f"第 {line} 行：poor_village 列的值「{row[i_poor]}」无效",
                file=path,
                hint="贫困村填 1，非贫困村填 0",
            )
        households = _int_at(path, line, "poor_households", row[i_households])
        people = _int_at(path, line, "poor_people", row[i_people])
        if households > people or (people > 0 and households == 0):
            raise HBError(
                f"第 {line} 行：村 {code} 的贫困户 {households} 户与贫困人口 {people} 人不相符",
                file=path,
                hint="有贫困人口时贫困户数至少为 1，且户数不能多于人数",
            )
        villages[code] = VillageBaseline(code, poor == "1", households, people)
        line_of[code] = line
    return villages


def _parse_counties(path: Path) -> dict[str, County]:
    header, reader = read_csv_rows(_read(path, "贫困县名单"), path, COUNTY_COLUMNS)
    index = [header.index(c) for c in COUNTY_COLUMNS]
    i_rural = header.index("rural_population") if "rural_population" in header else None
    counties: dict[str, County] = {}
    line_of: dict[str, int] = {}
    for line, row in csv_records(reader, len(header)):
        code_text, name, prefecture_text, kind_text, region_text, year_text = (row[i].strip() for i in index)
        flags: dict[str, bool | None] = {}
        for flag in AREA_FLAGS:
            text = row[header.index(flag.column)].strip() if flag.column in header else ""
            if text.endswith(".0"):  # saved by a spreadsheet
                text = text[:-2]
            if text not in _FLAG_TEXT:
                raise HBError(
                    f"第 {line} 行：{flag.column} 列的值「{text}」无效",
                    file=path,
                    hint=f"属于{flag.plan_name}的填 1，不属于的填 0，不知道的留空（留空是未定，不是否）",
                )
            flags[flag.column] = _FLAG_TEXT[text]
        code = _code_at(path, line, "code", code_text)
        if code in counties:
            raise HBError(
                f"第 {line} 行：县代码 {code} 重复（第 {line_of[code]} 行已有）",
                file=path,
                hint="每个县市区只能有一行，删除或改正重复的行",
            )
        if not name:
            raise HBError(f"第 {line} 行：县 {code} 没有名称", file=path, hint="在 name 列填写县市区名称")
        prefecture = _code_at(path, line, "prefecture", prefecture_text)
        kind = POOR_COUNTY_KINDS.get(kind_text.lower()) if kind_text else None
        if kind_text and kind is None:
            raise HBError(
                f"第 {line} 行：poor_county 列的值「{kind_text}」无效",
                file=path,
                hint="国定贫困县填 national，省定贫困县填 provincial，非贫困县留空",
            )
        region = region_text or None
        if region is not None and region not in REGIONS:
            raise HBError(
                f"第 {line} 行：region 列的片区「{region_text}」无法识别",
                file=path,
                hint="片区填 " + "、".join(REGIONS) + " 之一，不属于片区的留空",
            )
        exit_year = _int_at(path, line, "exit_year", year_text) if year_text else None
        if exit_year is not None and kind is None:
            raise HBError(
                f"第 {line} 行：{name} 不是贫困县，却填了摘帽年份 {exit_year}",
                file=path,
                hint="只有贫困县填 exit_year；若是贫困县，在 poor_county 列填 national 或 provincial",
            )
        rural_text = row[i_rural].strip() if i_rural is not None else ""
        rural = _int_at(path, line, "rural_population", rural_text) if rural_text else None
        counties[code] = County(code, name, prefecture, kind, region, exit_year, rural, **flags)
        line_of[code] = line
    return counties


_CACHE: dict[tuple[Path, Path], tuple[tuple[int, ...], Baseline]] = {}


def _stamp(path: Path) -> tuple[int, int]:
    try:
        stat = os.stat(path)
    except OSError:
        return (-1, -1)
    return (stat.st_mtime_ns, stat.st_size)


def load_baseline(path: str | Path | None = None, counties_path: str | Path | None = None) -> Baseline:
    """Load the village baseline and the county list (default: the embedded Hubei sample)."""
    villages_file = Path(path if path is not None else paths.SAMPLE_BASELINE).resolve()
    counties_file = Path(counties_path if counties_path is not None else paths.SAMPLE_COUNTIES).resolve()
    key = (villages_file, counties_file)
    stamp = _stamp(villages_file) + _stamp(counties_file)
    cached = _CACHE.get(key)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    baseline = Baseline(
        _parse_villages(villages_file), _parse_counties(counties_file), villages_file, counties_file
    )
    _CACHE[key] = (stamp, baseline)
    return baseline


_SAMPLE_APPLIES: weakref.WeakKeyDictionary[Registry, bool] = weakref.WeakKeyDictionary()
"""Whether the sample's village baseline applies to a registry, found once per registry object."""


def baseline_for(registry: Registry | None) -> Baseline:
    """The baseline that belongs to ``registry``.

    The embedded sample's village baseline describes the sample's (synthetic) villages. It applies to
    a registry that holds exactly those villages (the sample, or a copy of it with other names: codes,
    not names, are the identity). Another registry — the real statistical tree loaded with
    ``--units`` — gets the county attributes (poor counties, regions: real codes) and no village
    baseline, so its forms leave the base columns for the clerk instead of inventing figures for
    villages whose codes happen to coincide."""
    sample = load_baseline()
    if registry is None:
        return sample
    applies = _SAMPLE_APPLIES.get(registry)
    if applies is None:
        villages = {u.code for u in registry.at_level("village")}
        applies = _SAMPLE_APPLIES[registry] = villages == set(sample.villages)
    if applies:
        return sample
    return Baseline({}, sample.counties, None, sample.counties_source)

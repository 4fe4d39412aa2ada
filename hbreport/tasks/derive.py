"""Derived tasks for a province that sets none (``hbreport tasks derive``).

- People and villages: the province's yearly amounts are the plan's shares (三(二)) of its baseline.
  A poor county's remaining people and villages fall due in its planned 摘帽 year (counties.csv
  ``exit_year``); every other county follows a common cumulative share, the one that makes the
  province's yearly amount come out exactly. Prefectures get the sum of their counties.
- Counties to 摘帽: 1 for a poor county in its exit year; prefectures and the province the sum.
- Key projects (the 03 form's plan totals): pro rata to poor people, due at the target's deadline.

Whole numbers everywhere, split top-down by largest remainder, so children add up exactly to their
parent each year. Below the county the split follows the county's own schedule (``units.UnitTasks``).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from hbreport.errors import HBError
from hbreport.tasks.split import apportion, split_series
from hbreport.tasks.table import TaskTable
from hbreport.tasks.units import COUNTY_SCHEDULE, SCHEDULE_BASES, UnitTasks, project_indicators, project_total

LEVEL_ORDER = ("province", "prefecture", "county", "township", "village")


def _tree(registry, root, down_to: str) -> Iterator:
    """``root`` and the reporting units below it down to level ``down_to``, parents before children."""
    stop = LEVEL_ORDER.index(down_to)
    stack = [root]
    while stack:
        unit = stack.pop()
        yield unit
        if LEVEL_ORDER.index(unit.level) < stop:
            stack.extend(reversed(registry.children(unit.code)))


class _Deriver:
    def __init__(self, registry, catalog, baseline) -> None:
        self.registry = registry
        self.catalog = catalog
        self.baseline = baseline
        roots = registry.at_level("province")
        if len(roots) != 1:
            raise HBError("单位名册中应有且只有一个省级单位", hint="任务分解从省开始")
        self.root = roots[0]
        self.upper = list(_tree(registry, self.root, "county"))  # province, prefectures, counties
        self.counties_of: dict[str, list[str]] = {}
        for unit in reversed(self.upper):
            if unit.level == "county":
                self.counties_of[unit.code] = [unit.code]
            else:
                self.counties_of[unit.code] = [
                    c for k in registry.children(unit.code) for c in self.counties_of.get(k.code, [])
                ]
        counties = self.counties_of[self.root.code]
        self.totals = {c: baseline.totals(registry, c) for c in counties}
        self.due: dict[str, int] = {}
        for code in counties:
            county = baseline.county(code)
            if county is not None and county.poor_county and county.exit_year:
                self.due[code] = county.exit_year

    def base(self, code: str, key: str) -> int:
        return sum(self.totals[c][key] for c in self.counties_of[code])

    def schedule(self, table: TaskTable, indicator: str, key: str) -> None:
        """People or villages: yearly shares, with poor counties due by their exit year."""
        shares = self.catalog[indicator].schedule
        years = sorted(shares)
        last = years[-1]
        total = self.base(self.root.code, key)
        province: dict[int, int] = {}
        done = 0
        for year in years:
            due_by = int(
                (Decimal(total) * Decimal(repr(self.catalog.cumulative_share(indicator, year)))).quantize(
                    Decimal(1)
                )
            )
            province[year] = due_by - done
            done = due_by
        # the common cumulative share of the counties not yet due, year by year
        counties = self.counties_of[self.root.code]
        ideal: dict[str, dict[int, float]] = {c: {} for c in counties}
        running = 0
        for year in years:
            running += province[year]
            due = [c for c in counties if min(self.due.get(c, last), last) <= year and c in self.due]
            due_base = sum(self.totals[c][key] for c in due)
            free_base = sum(self.totals[c][key] for c in counties) - due_base
            share = 1.0 if free_base <= 0 else min(1.0, max(0.0, (running - due_base) / free_base))
            for c in counties:
                whole = self.totals[c][key]
                ideal[c][year] = whole if c in due else share * whole
        cum: dict[str, int] = dict.fromkeys((u.code for u in self.upper), 0)
        series: dict[str, dict[int, int]] = {u.code: {} for u in self.upper}
        series[self.root.code] = province
        for year in years:
            cum[self.root.code] += province[year]
            for unit in self.upper:
                if unit.level == "county":
                    continue
                children = self.registry.children(unit.code)
                ideals, lower, upper = [], [], []
                for child in children:
                    mine = self.counties_of[child.code]
                    ideals.append(sum(ideal[c][year] for c in mine) - cum[child.code])
                    lower.append(
                        sum(
                            self.totals[c][key] - cum[c]
                            for c in mine
                            if c in self.due and min(self.due[c], last) == year
                        )
                    )
                    upper.append(self.base(child.code, key) - cum[child.code])
                try:
                    parts = apportion(series[unit.code][year], ideals, lower, upper)
                except HBError as exc:
                    raise HBError(
                        f"{unit.name}{year}年的{self.catalog[indicator].name}任务无法分解到下级：{exc.message}",
                        hint="检查各县的摘帽年份（counties.csv 的 exit_year）与规划年度进度是否相容",
                    ) from None
                for child, part in zip(children, parts, strict=True):
                    series[child.code][year] = part
                    cum[child.code] += part
        for unit in self.upper:
            for year in years:
                table.set(unit.code, indicator, year, series[unit.code][year])

    def county_exits(self, table: TaskTable) -> None:
        """Counties to 摘帽: 1 in a poor county's exit year, summed upwards."""
        years = sorted(self.catalog[COUNTY_SCHEDULE].schedule)
        for unit in self.upper:
            mine = self.counties_of[unit.code]
            for year in years:
                table.set(unit.code, COUNTY_SCHEDULE, year, sum(self.due.get(c) == year for c in mine))

    def projects(self, table: TaskTable) -> None:
        """Key projects: the plan's total by its deadline, pro rata to poor people."""
        for code in project_indicators(self.catalog):
            total, deadline, _ = project_total(self.catalog, code)
            table.set(self.root.code, code, deadline, total)
            for unit in self.upper:
                if unit.level == "county":
                    continue
                children = self.registry.children(unit.code)
                weights = [self.base(c.code, "poor_people") for c in children]
                parts = split_series(table.series(unit.code, code), weights, capped=False)
                for child, part in zip(children, parts or [], strict=False):
                    table.set(child.code, code, deadline, part[deadline])


def derive_tasks(registry=None, catalog=None, baseline=None, level: str = "county") -> TaskTable:
    """Tasks for every unit from the province down to ``level`` (see the module's description)."""
    from hbreport.baseline import baseline_for
    from hbreport.catalog import load_catalog
    from hbreport.registry import load_registry

    if level not in LEVEL_ORDER:
        raise HBError(f"层级「{level}」无效", hint="可选：" + "、".join(LEVEL_ORDER))
    registry = registry or load_registry()
    catalog = catalog or load_catalog()
    baseline = baseline or baseline_for(registry)
    if not baseline.villages:
        raise HBError(
            "没有建档立卡基数，无法按基数分解任务",
            hint="用内置样例名册，或由省扶贫办直接填写任务分解表（hbreport tasks forms）",
        )
    deriver = _Deriver(registry, catalog, baseline)
    table = TaskTable()
    for indicator, key in SCHEDULE_BASES.items():
        deriver.schedule(table, indicator, key)
    deriver.county_exits(table)
    deriver.projects(table)
    keep = {u.code for u in _tree(registry, deriver.root, level)}
    out = TaskTable()
    resolved = UnitTasks(table, registry, baseline, catalog)
    indicators = table.indicators()
    for unit in _tree(registry, deriver.root, level):
        if unit.code not in keep:
            continue
        for indicator in indicators:
            series = resolved.series(unit.code, indicator)
            if series is not None:
                for year, value in sorted(series.items()):
                    out.set(unit.code, indicator, year, value)
    return out

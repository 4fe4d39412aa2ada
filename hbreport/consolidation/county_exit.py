"""A poor county's exit (摘帽) judged from its consolidated data, never from the list of poor counties.

The plan (三(三)) names the criteria: 贫困发生率, 农村居民人均可支配收入, 人均地方公共财政预算收入
"达到国家规定标准", and every poor village out. The figures come from the county's own workbook:
年末剩余贫困人口 (鄂扶贫01表 合计), 累计出列贫困村 ÷ 贫困村 (鄂扶贫02表 合计), and the county's
section of 鄂扶贫04表 (本年申请摘帽, 农村户籍人口, 农村居民人均可支配收入, 人均地方公共财政预算收入);
农村户籍人口 falls back to the baseline's. Thresholds are catalog parameters
(``county_exit_poverty_incidence`` …); :func:`hbreport.households.exits.assess_county_exit` compares.

Status: 未报 (01 data missing for any township, or a figure a configured standard needs is missing), 未达到 (a criterion with data fails), 达到标准 (no criterion fails),
申请摘帽 (达到标准 and the county applies this year). A criterion without a figure or a configured
standard is listed as 未判断, never as met.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hbreport.checks.engine import row_filled
from hbreport.errors import HBError
from hbreport.households.exits import assess_county_exit
from hbreport.model.summary import CountyExitStatus
from hbreport.model.values import FormData, number_or_none

PEOPLE_FORM, VILLAGE_FORM, INFRA_FORM = "poverty_progress", "village_exit", "infrastructure"
NOT_REPORTED, NOT_MET, MET, APPLYING = "未报", "未达到", "达到标准", "申请摘帽"
SHEET = "贫困县退出"


@dataclass(frozen=True)
class Criterion:
    label: str
    figure: float | None
    unit: str
    op: str
    threshold: float | None
    met: bool | None
    note: str = ""

    @property
    def verdict(self) -> str:
        return {True: "达到", False: "未达到", None: "未判断"}[self.met]


@dataclass(frozen=True)
class CountyExit:
    """One poor county's exit status for one period, with the criteria it rests on."""

    code: str
    name: str
    period: int
    planned_year: (
        int | None
    )  # the schedule (Baseline.planned_exit: tasks, else the list), not the achievement
    applying: bool
    status: str
    criteria: tuple[Criterion, ...] = field(default=())
    listed_year: int | None = None  # the list's year (counties.csv), shown when the tasks moved it

    @property
    def unassessed(self) -> list[str]:
        return [c.label for c in self.criteria if c.met is None]

    @property
    def failed(self) -> list[Criterion]:
        return [c for c in self.criteria if c.met is False]

    def carried(self) -> CountyExitStatus:
        """The status as the Summary carries it up to the prefecture and the province."""
        failed = tuple(c.label for c in self.failed)
        return CountyExitStatus(self.code, self.name, self.status, self.planned_year, self.applying, failed)

    def moved_note(self) -> list[list[Any]]:
        if self.listed_year is None or self.planned_year in (None, self.listed_year):
            return []
        return [["说明", f"摘帽年份按任务分解（贫困县名单为{self.listed_year}年）"]]

    def table(self) -> list[list[Any]]:
        """The rows of the 贫困县退出 sheet of the county's consolidated workbook."""
        rows: list[list[Any]] = [
            ["项目", "数值"],
            ["县", self.name],
            ["报告期", f"{self.period}年"],
            ["计划摘帽年份", f"{self.planned_year}年" if self.planned_year else "—"],
            ["本年申请摘帽", "是" if self.applying else "否"],
            ["评估结果", self.status],
            *self.moved_note(),
            [],
            ["标准", "本县数值", "单位", "比较", "标准值", "结果", "说明"],
        ]
        for c in self.criteria:
            rows.append(
                [
                    c.label,
                    round(c.figure, 2) if c.figure is not None else "",
                    c.unit,
                    c.op,
                    c.threshold if c.threshold is not None else "",
                    c.verdict,
                    c.note,
                ]
            )
        return rows


def _filled(data: FormData, form: str) -> bool:
    if form not in data.rows:
        return False
    sheet = data.spec.sheet(form)
    return any(row_filled(sheet, r) for r in data.rows[form].values())


def assess(data: FormData, *, registry, catalog, baseline) -> CountyExit | None:
    """The exit status of the poor county whose consolidated data ``data`` is; None for other units."""
    spec = data.spec
    if spec.level != "county" or not baseline.is_poor_county(spec.unit_code):
        return None
    record = baseline.county(spec.unit_code)
    planned = baseline.planned_exit(spec.unit_code, registry)
    own = data.rows.get(INFRA_FORM, {}).get(spec.unit_code, {}) if INFRA_FORM in data.rows else {}
    applying = str(own.get("exit_applying") or "").strip() == "是"

    def judged(status: str, criteria: tuple[Criterion, ...] = ()) -> CountyExit:
        return CountyExit(
            spec.unit_code,
            spec.unit_name,
            spec.period,
            planned,
            applying,
            status,
            criteria,
            listed_year=record.exit_year,
        )

    people_sheet = data.spec.sheet(PEOPLE_FORM) if PEOPLE_FORM in data.rows else None
    rows = data.rows.get(PEOPLE_FORM, {})
    # the whole county's figures, or none: a county with townships missing is not assessed on part of them
    if people_sheet is None or not all(row_filled(people_sheet, rows.get(r.code)) for r in people_sheet.rows):
        return judged(NOT_REPORTED)
    people = data.totals[PEOPLE_FORM]
    rural = number_or_none(own.get("rural_population")) or baseline.totals(registry, spec.unit_code).get(
        "rural_population"
    )
    figures: dict[str, float] = {}
    if rural:
        figures["rural_population"] = float(rural)
    for key in ("rural_income", "fiscal_revenue_per_capita"):
        if number_or_none(own.get(key)) is not None:
            figures[key] = float(own[key])
    if _filled(data, VILLAGE_FORM):
        villages = data.totals[VILLAGE_FORM]
        out, poor = (
            number_or_none(villages.get("villages_exited_cum")),
            number_or_none(villages.get("poor_villages")),
        )
        if out is not None and poor:
            figures["villages_exited_share"] = out / poor * 100
    try:
        result = assess_county_exit(
            spec.unit_code,
            spec.period,
            [],
            figures=figures,
            applying=applying,
            remaining_people=number_or_none(people.get("remaining_people")) or 0.0,
            registry=registry,
            catalog=catalog,
            baseline=baseline,
        )
    except HBError as exc:  # the criteria cannot be read for this year (a parameter not set): not assessed
        note = f"评估标准无法读取：{exc.message}" + (f"（{exc.hint}）" if exc.hint else "")
        unread = Criterion("退出标准", None, "", "", None, None, note)
        return judged(NOT_REPORTED, (unread,))
    criteria = tuple(
        Criterion(r.label, r.figure, r.unit, r.op, r.threshold, r.met, r.note) for r in result.criteria
    )
    if any(c.met is False for c in criteria):
        status = NOT_MET
    elif any(c.figure is None and c.threshold is not None for c in criteria):
        status = NOT_REPORTED  # a figure the standard needs is missing
    else:
        status = APPLYING if applying else MET
    return judged(status, criteria)


def poor_counties(code: str, *, registry, baseline) -> list:
    """The baseline's records of the poor counties ``code`` covers (itself, when a poor county), in
    the order of their planned 摘帽 year (the schedule), then code."""
    unit = registry.get(code)
    units = [unit] if unit.level == "county" else registry.descendants(unit.code, "county")
    poor = [baseline.county(u.code) for u in units if baseline.is_poor_county(u.code)]
    return sorted(poor, key=lambda c: (baseline.planned_exit(c.code, registry) or 9999, c.code))


def carried_table(
    code: str, period: int, exits: list[CountyExitStatus], *, registry, baseline
) -> list[list[Any]] | None:
    """The 贫困县退出 sheet above the county: each poor county of the list with its planned year (the
    schedule: its tasks', else the list's) and the status its own consolidation judged from its data (未报 when none came up).
    None when ``code`` covers no poor county."""
    poor = poor_counties(code, registry=registry, baseline=baseline)
    if not poor:
        return None
    by_code = {e.code: e for e in exits}
    rows: list[list[Any]] = [
        [
            "县（市、区）",
            "单位代码",
            "计划摘帽年份",
            "评估结果（据该县汇总数据）",
            "本年申请摘帽",
            "未达到的标准",
        ]
    ]
    counts = dict.fromkeys((APPLYING, MET, NOT_MET, NOT_REPORTED), 0)
    moved = baseline.exit_moved([c.code for c in poor], registry)
    for county in poor:
        year = baseline.planned_exit(county.code, registry)
        e = by_code.get(county.code)
        status = e.status if e else NOT_REPORTED
        counts[status] = counts.get(status, 0) + 1
        rows.append(
            [
                county.name,
                county.code[:6],
                f"{year}年" if year else "—",
                status,
                ("是" if e.applying else "否") if e else "",
                "、".join(e.failed) if e else "",
            ]
        )
    rows += [
        [],
        [
            f"{period}年：贫困县{len(poor)}个，其中申请摘帽{counts[APPLYING]}个、达到标准{counts[MET]}个、"
            f"未达到{counts[NOT_MET]}个、未报{counts[NOT_REPORTED]}个。计划摘帽年份是规划的安排，不是已摘帽；"
            + (f"{'、'.join(moved)}的摘帽年份按任务分解，与贫困县名单不同；" if moved else "")
            + "评估结果取自各县汇总工作簿（未报：该县没有汇总数据报上来，或数据不全）"
        ],
    ]
    return rows

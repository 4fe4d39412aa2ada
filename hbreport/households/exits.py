"""Village exit (出列) and county exit (摘帽) judged from the roster, flagged where an application fails.

**Village** (plan 三(三)): all poor households exited — counted from the roster, not taken from the
form —, the village's per-capita income at least VILLAGE_EXIT_INCOME_RATIO of the provincial rural
average (catalog parameter ``provincial_rural_income``), collective income at least
VILLAGE_EXIT_COLLECTIVE_INCOME; the other two criteria (infrastructure, public services) stay on the
village form (鄂扶贫02表), which checks its own columns. Here: the form's 未脱贫户数 must equal the
roster's, and a village that applies to exit (本年申请出列 = 是) must meet the criteria with the
roster's count.

**County** (plan 三(三): "达到国家规定标准"): criteria are configuration (the roster template's
``config.county_exit``), each a figure compared with a yearly catalog parameter. The poverty
incidence is computed from the rosters — people in households not exited (未脱贫, 返贫) ÷ the
county's rural population —; other figures are given by the county office. A criterion without a
figure or without a configured threshold is reported as not assessed, never as met.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hbreport.checks import finding as registered_finding
from hbreport.checks.households import COUNTY_EXIT, COUNTY_UNASSESSED, REMAINING, VILLAGE_EXIT
from hbreport.context import Context
from hbreport.errors import HBError
from hbreport.households.summary import SUMMARY_SHEET, summary_cell
from hbreport.model.findings import Finding
from hbreport.model.values import number_or_none
from hbreport.xlsx.layout import SheetLayout

RULE_REMAINING = REMAINING
RULE_VILLAGE_EXIT = VILLAGE_EXIT
RULE_COUNTY_EXIT = COUNTY_EXIT
RULE_COUNTY_UNASSESSED = COUNTY_UNASSESSED
VILLAGE_FORM = "village_exit"
_OPS = {"<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt, "==": operator.eq}


@dataclass(frozen=True)
class VillageExit:
    """One poor village: the exit criteria as judged with the roster's household count."""

    village_code: str
    village_name: str
    applying: bool
    remaining_households: int  # from the roster
    income_ratio: float | None
    collective_income: float | None
    unmet: tuple[str, ...]

    @property
    def meets(self) -> bool:
        return not self.unmet


@dataclass
class VillageExitAssessment:
    villages: list[VillageExit]
    findings: list[Finding] = field(default_factory=list)


def assess_village_exits(roster, township, catalog=None) -> VillageExitAssessment:
    """Judge every poor village of the township's 鄂扶贫02表 (``township``: its FormData) with the roster."""
    from hbreport.catalog import load_catalog

    catalog = catalog or load_catalog()
    same_township(roster, township)
    period = roster.period
    ratio = catalog.number("VILLAGE_EXIT_INCOME_RATIO", "ratio")
    collective_min = catalog.number("VILLAGE_EXIT_COLLECTIVE_INCOME", "万元")
    provincial = catalog.parameter("provincial_rural_income", period)
    sheet = township.spec.sheet(VILLAGE_FORM)
    layout = SheetLayout(sheet)
    form_file = Path(township.source).name if township.source else township.spec.file_name()
    roster_file = Path(roster.file_label).name
    summary = roster.summary
    results: list[VillageExit] = []
    findings: list[Finding] = []

    def finding(cell: str, code: str, **fields: object) -> Finding:
        return registered_finding(
            code,
            file=township.source or form_file,
            unit_code=township.spec.unit_code,
            unit_name=township.spec.unit_name,
            sheet=sheet.sheet,
            cell=cell,
            **fields,
        )

    for village in sheet.rows:
        row = township.rows[VILLAGE_FORM].get(village.code, {})
        counted = summary.get(village.code, {}).get("remaining_households", 0)
        roster_cell = (
            f"{roster_file}「{SUMMARY_SHEET}」{summary_cell(roster.spec, village.code, 'remaining_households')}"
            if village.code in summary
            else roster_file
        )
        reported = number_or_none(row.get("remaining_poor_households"))
        form_cell = layout.cell(village.code, "remaining_poor_households")
        if reported is None or reported != counted:
            shown = "未填" if reported is None else f"填 {reported:g} 户"
            findings.append(
                finding(
                    form_cell,
                    RULE_REMAINING,
                    village=village.name,
                    shown=shown,
                    form_cell=form_cell,
                    counted=counted,
                    roster_cell=roster_cell,
                )
            )
        income = number_or_none(row.get("village_income"))
        income_ratio = income / provincial if income is not None and provincial else None
        collective = number_or_none(row.get("collective_income"))
        unmet = []
        if counted > 0:
            unmet.append(f"台账中仍有 {counted} 户未脱贫")
        if income_ratio is None:
            unmet.append("村居民人均可支配收入未填")
        elif income_ratio < ratio:
            unmet.append(f"人均收入为全省平均的 {income_ratio:.1%}，未达 {ratio:.0%}")
        if collective is None:
            unmet.append("村集体经济收入未填")
        elif collective < collective_min:
            unmet.append(f"集体经济收入 {collective:g} 万元，未达 {collective_min:g} 万元")
        applying = row.get("apply_exit") == "是"
        results.append(
            VillageExit(village.code, village.name, applying, counted, income_ratio, collective, tuple(unmet))
        )
        if applying and unmet:
            apply_cell = layout.cell(village.code, "apply_exit")
            findings.append(
                finding(apply_cell, RULE_VILLAGE_EXIT, village=village.name, unmet="；".join(unmet))
            )
    return VillageExitAssessment(results, findings)


def same_township(roster, township) -> None:
    if roster.spec.unit_code != township.spec.unit_code or roster.period != township.spec.period:
        raise HBError(
            f"台账（{roster.spec.unit_name} {roster.period}年）与报表（{township.spec.unit_name} "
            f"{township.spec.period}年）不是同一乡镇同一报告期",
            hint="请给出同一乡镇、同一报告期的台账和报表",
        )


# ---------------------------------------------------------------- county exit


@dataclass(frozen=True)
class CriterionResult:
    id: str
    label: str
    figure: float | None
    op: str
    threshold: float | None
    unit: str
    met: bool | None  # None: not assessed (no figure, or no threshold configured)
    note: str = ""


@dataclass
class CountyExitAssessment:
    county_code: str
    county_name: str
    period: int
    applying: bool
    criteria: list[CriterionResult]
    findings: list[Finding] = field(default_factory=list)

    @property
    def meets(self) -> bool | None:
        """True when every criterion is met, False when one fails, None when some cannot be judged."""
        if any(c.met is False for c in self.criteria):
            return False
        if any(c.met is None for c in self.criteria):
            return None
        return True


def county_figures(
    households: Sequence[Mapping[str, Any]],
    config,
    rural_population: float | None,
    remaining_people: float | None = None,
) -> dict[str, float]:
    """Figures computed from the county's household rows (or the given count of poor people left):
    remaining poor people and poverty incidence (%)."""
    remaining = (
        remaining_people
        if remaining_people is not None
        else sum(
            (number_or_none(h.get("household_size")) or 0)
            for h in households
            if config.is_remaining(h.get("exit_status"))
        )
    )
    out = {"remaining_people": remaining}
    if rural_population:
        out["poverty_incidence"] = remaining / rural_population * 100
    return out


def assess_county_exit(
    county_code: str,
    period: int,
    households: Sequence[Mapping[str, Any]],
    *,
    figures: Mapping[str, float] | None = None,
    applying: bool | None = None,
    remaining_people: float | None = None,
    registry=None,
    catalog=None,
    baseline=None,
) -> CountyExitAssessment:
    """Judge a county against the configured exit criteria.

    ``households`` are the county's household rows for ``period`` (from the store or the rosters);
    ``figures`` what the county office gives: ``rural_population`` (农村户籍人口, for the poverty
    incidence) and any figure the criteria name (``rural_income``, ``fiscal_revenue_per_capita``…).
    ``remaining_people``, when given (the county's consolidated 鄂扶贫01表), is the count of poor people
    left instead of the roster's. ``applying`` defaults to whether the county's planned 摘帽 year is ``period``."""
    from hbreport.households.spec import roster_config

    registry, catalog, baseline = Context.of(registry, catalog, baseline).parts  # as the forms were made
    county = registry.get(county_code)
    if county.level != "county":
        raise HBError(f"「{county.name}」不是县级单位", hint="贫困县摘帽按县判断，给出县级代码")
    config = roster_config(period, catalog=catalog)
    given = dict(figures or {})
    computed = county_figures(
        households, config, number_or_none(given.get("rural_population")), remaining_people
    )
    values = {**computed, **{k: v for k, v in given.items() if k not in computed}}
    if applying is None:
        applying = baseline.planned_exit(county.code, registry) == period
    results = []
    for c in config.county_exit:
        figure = number_or_none(values.get(c["figure"]))
        threshold = None
        note = ""
        if "parameter" in c:
            try:
                threshold = catalog.parameter(c["parameter"], period)
            except HBError:
                note = (
                    f"未设定标准（indicators.yaml 的 parameters 中没有 {c['parameter']} 的 {period} 年数值）"
                )
        elif c.get("threshold") is not None:
            threshold = float(c["threshold"])
        if figure is None and not note:
            note = "没有该项数据" + (
                "（需给出农村户籍人口 rural_population）" if c["figure"] == "poverty_incidence" else ""
            )
        met = None if figure is None or threshold is None else bool(_OPS[c["op"]](figure, threshold))
        results.append(
            CriterionResult(c["id"], c["label"], figure, c["op"], threshold, c.get("unit", ""), met, note)
        )
    assessment = CountyExitAssessment(county.code, county.name, period, applying, results)
    if applying:

        def county_finding(rule: str, **fields: object) -> Finding:
            return registered_finding(
                rule,
                unit_code=county.code,
                unit_name=county.name,
                county=county.name,
                period=period,
                **fields,
            )

        for r in results:
            if r.met is False:
                assessment.findings.append(
                    county_finding(
                        RULE_COUNTY_EXIT,
                        label=r.label,
                        figure=r.figure,
                        unit=r.unit,
                        op=r.op,
                        threshold=r.threshold,
                    )
                )
        for r in results:
            if r.met is None:
                assessment.findings.append(county_finding(RULE_COUNTY_UNASSESSED, label=r.label, note=r.note))
    return assessment

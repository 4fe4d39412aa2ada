"""The figures of a progress report, computed from one unit's consolidated data for one period.

:func:`build_context` turns a :class:`~hbreport.model.values.FormData` (plus findings, who has not reported,
who was returned, and earlier periods) into a plain dictionary that the Word template's Jinja
narrative reads. Numbers here are values, not text: the template formats them with the filters of
:mod:`hbreport.report.numbers`, so an office can change the wording without touching code.

Targets and schedules come from the catalog (templates/indicators.yaml), baselines from the
baseline files, progress status from the form's own 进度状态 formula (the rule language), so the
report and the workbook cannot disagree.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from hbreport.baseline import POOR_COUNTY_ZH
from hbreport.catalog import convert
from hbreport.checks.engine import compute_row, parent_values, row_filled, total_row
from hbreport.checks.rules import Expr
from hbreport.context import Context
from hbreport.errors import HBError
from hbreport.model.findings import Finding, clip, count_by_importance
from hbreport.model.values import FormData
from hbreport.registry import LEVEL_ZH
from hbreport.report import numbers as N
from hbreport.report.regions import region_section
from hbreport.spec import FORM_ORDER, SheetSpec, build_workbook_spec, load_fields
from hbreport.tasks import cumulative

PEOPLE_FORM = "poverty_progress"
VILLAGE_FORM = "village_exit"
PROJECT_FORM = "key_projects"
INFRA_FORM = "infrastructure"
# the domain forms (鄂扶贫06—12表: those after 05 infrastructure), each a section of the report
DOMAIN_FORMS = FORM_ORDER[FORM_ORDER.index(INFRA_FORM) + 1 :]

AHEAD, NORMAL, LAGGING, NOT_REPORTED, RETURNED = "超前", "正常", "滞后", "未报", "退回"
REFUSED = "拒收"  # files refused (unusable, another unit's, duplicates that differ)
BLANK_FORM = "空表"  # a workbook received with nothing typed in it: not reported data
NO_DATA = "未报送"  # a figure or a table with no reported data behind it

#: robust z-score (Iglewicz & Hoaglin): 0.6745 (x − median) / MAD, flagged above 3.5
OUTLIER_Z = 3.5
OUTLIER_MIN_UNITS = 5
_MAD_SCALE = 0.6745
MIN_MAD = 0.02  # exit rates are fractions: a spread under 2 percentage points is not a signal
FINDINGS_SHOWN = 20

CHILD_LEVEL_ZH = {"province": "市州", "prefecture": "县市区", "county": "乡镇", "township": "村"}


# ---------------------------------------------------------------- inputs


@dataclass(frozen=True)
class UnitRef:
    """A child named in a consolidation summary: who, and (for returned ones) why."""

    code: str
    name: str = ""
    reason: str = ""
    status: str = ""  # the consolidation's word for it (未报, 拒收, 重复, 空表 …), when known


def unit_refs(items: Iterable[Any] | None) -> list[UnitRef]:
    """Codes, (code, name[, reason]) tuples, dicts or objects with .code/.name/.note → UnitRef."""
    out: list[UnitRef] = []
    for item in items or ():
        if isinstance(item, UnitRef):
            out.append(item)
        elif isinstance(item, str):
            out.append(UnitRef(item))
        elif isinstance(item, Mapping):
            out.append(
                UnitRef(
                    str(item.get("code", "")),
                    str(item.get("name") or ""),
                    str(item.get("reason") or item.get("note") or ""),
                    str(item.get("status") or ""),
                )
            )
        elif isinstance(item, tuple | list):
            parts = [str(p) if p is not None else "" for p in item] + ["", ""]
            out.append(UnitRef(parts[0], parts[1], parts[2]))
        else:
            out.append(
                UnitRef(
                    str(getattr(item, "code", "")),
                    str(getattr(item, "name", "") or ""),
                    str(getattr(item, "reason", "") or getattr(item, "note", "") or ""),
                    str(getattr(item, "status", "") or ""),
                )
            )
    return out


def _same_unit(a: str, b: str) -> bool:
    """Codes match when one is the other padded to 12 digits (421122 ≡ 421122000000)."""
    if not a or not b:
        return False
    return a.ljust(12, "0") == b.ljust(12, "0")


# ---------------------------------------------------------------- small helpers


def _num(value: Any) -> float | None:
    return float(value) if N.is_number(value) else None


def _ratio(part: Any, whole: Any) -> float | None:
    part, whole = _num(part), _num(whole)
    if part is None or whole is None or whole <= 0:
        return None
    return part / whole


def _gap(rate: float | None, expected: float | None) -> float | None:
    if rate is None or expected is None:
        return None
    return rate - expected


def status_of(sheet: SheetSpec, rate: float | None, expected: float) -> str:
    """超前 / 正常 / 滞后 by the form's own 进度状态 formula (one definition, shared with the workbook)."""
    if rate is None:
        return N.BLANK
    column = sheet.column("progress_status")
    value = Expr.parse(column.formula).evaluate({"cum_exit_rate": rate, "expected_rate": expected})
    return str(value) if value not in (None, "") else N.BLANK


def robust_z(values: Mapping[str, float], *, min_mad: float = MIN_MAD) -> dict[str, float]:
    """Robust z-scores 0.6745 (x − median) / MAD; {} when there are too few values.

    The MAD is taken as at least ``min_mad``, so units whose rates lie within a few points of each other
    are not called implausible just because the others agree closely."""
    if len(values) < OUTLIER_MIN_UNITS:
        return {}
    median = statistics.median(values.values())
    mad = max(statistics.median(abs(x - median) for x in values.values()), min_mad)
    return {k: _MAD_SCALE * (x - median) / mad for k, x in values.items()}


# ---------------------------------------------------------------- the context


EXPLANATIONS_SHOWN = 5  # explanations of 警告 quoted in the 数据质量 section


def timeliness_of(summary) -> dict[str, Any] | None:
    """The children's timeliness from a consolidation Summary, for :func:`build_context`."""
    if summary is None or summary.deadline is None:
        return None
    counts = summary.timeliness()
    d = summary.deadline
    return {
        "deadline": f"{d.year}年{d.month}月{d.day}日",
        "on_time": counts["按时"],
        "late": [{"name": c.name, "at": c.received_at} for c in summary.children if c.timeliness == "逾期"],
        "not_reported": counts["未报"],
        "source": summary.received_from(),
    }


def approvals_in(summary) -> dict[str, Any] | None:
    """Who approved the children's returns (hbreport approve), from a consolidation Summary, for
    :func:`build_context`; None without a consolidation or when no child's return was approved."""
    if summary is None:
        return None
    from hbreport.model.approval import CHANGED, NOT_APPROVED

    used = [c for c in summary.children if c.approval]
    approved = [{"name": c.name, "by": c.approved_by} for c in used if c.approved_by]
    if not approved and not any(c.approval == CHANGED for c in used):
        return None
    return {
        "received": len(used),
        "approved": approved,
        "changed": [c.name for c in used if c.approval == CHANGED],
        "unapproved": [c.name for c in used if c.approval == NOT_APPROVED],
    }


def verified(result: Any, spec: Any) -> list[dict[str, Any]]:
    """The exit verification's tally per kind (households, villages, the county): 申报 and how many
    验收通过 / 未通过 / 未验收; [] without one. Refused when it is another county's or year's."""
    if result is None:
        return []
    from hbreport.verification.build import COUNTY, HOUSEHOLDS, VILLAGES
    from hbreport.verification.read import DECLARED, FAILED, PASSED, PENDING

    vs = result.spec
    if vs.period != spec.period or vs.unit_code[:6] != spec.unit_code[:6]:
        raise HBError(
            f"验收工作簿是「{vs.unit_name}」{vs.period}年的，报告是「{spec.unit_name}」{spec.period}年的",
            hint="给出本单位本年的脱贫验收工作簿",
        )
    out = []
    for form, kind, unit in (
        (HOUSEHOLDS, "贫困户", "户"),
        (VILLAGES, "贫困村", "个"),
        (COUNTY, "贫困县", "个"),
    ):
        if form in result.statuses:
            c = result.counts(form)
            out.append(
                {
                    "kind": kind,
                    "unit": unit,
                    "declared": c[DECLARED],
                    "passed": c[PASSED],
                    "failed": c[FAILED],
                    "pending": c[PENDING],
                }
            )
    return out


def build_context(
    data: FormData,
    *,
    findings: Iterable[Finding] = (),
    missing: Iterable[Any] = (),
    returned: Iterable[Any] = (),
    history: Mapping[int, FormData] | None = None,
    catalog=None,
    registry=None,
    baseline=None,
    issued: dt.date | None = None,
    issuer: str | None = None,
    levels: Iterable[tuple[str, int, int]] = (),
    regions: Mapping[str, Mapping[str, float]] | None = None,
    timeliness: Mapping[str, Any] | None = None,
    verification: Any = None,
    approvals: Mapping[str, Any] | None = None,
    county_exits: Iterable[Any] = (),
) -> dict[str, Any]:
    """Everything the report template shows, as plain values (numbers unformatted). ``levels``: the
    consolidation's (level, expected, received) per level below the unit (its 汇总校验 table);
    ``county_exits``: the poor counties' 摘帽 statuses the Summary carries up (``CountyExitStatus``);
    ``timeliness``: the children's 按时 / 逾期 / 未报 (:func:`timeliness_of` a Summary);
    ``verification``: a filled exit verification workbook as read (申报 / 验收通过 / 未通过 / 未验收);
    ``approvals``: who approved the children's returns (:func:`approvals_in` a Summary)."""

    registry, catalog, baseline = Context.of(registry, catalog, baseline).parts
    spec = data.spec
    year = spec.period
    if PEOPLE_FORM not in data.rows:
        raise HBError(
            f"{spec.unit_name}的数据中没有「贫困人口脱贫进展」表（{PEOPLE_FORM}），无法生成进展报告",
            file=data.source,
            hint="用含鄂扶贫01表的汇总工作簿生成报告",
        )
    findings = list(findings)
    missing_refs = unit_refs(missing)
    returned_refs = unit_refs(returned)
    blank_refs = [UnitRef(f.unit_code or "", f.unit_name or "") for f in findings if f.rule == BLANK_FORM]
    history = {int(y): d for y, d in (history or {}).items() if int(y) != year}

    people_sheet = spec.sheet(PEOPLE_FORM)
    ctx = _Context(data, catalog, registry, baseline, people_sheet, missing_refs, returned_refs, history)
    ctx.blank = blank_refs
    children = ctx.children()
    reported = [c for c in children if c["reported"]]
    basis = ctx.basis(children)
    people = ctx.people()
    villages = ctx.villages()
    counties = ctx.counties(county_exits)
    summary = {
        "total": len(children),
        "reported": len(reported),
        "ahead": sum(c["status"] == AHEAD for c in reported),
        "normal": sum(c["status"] == NORMAL for c in reported),
        "lagging": sum(c["status"] == LAGGING for c in reported),
        "returned": sum(c["status"] == RETURNED for c in children),
        "missing": sum(c["status"] == NOT_REPORTED for c in children),
        "blank": sum(c["status"] == BLANK_FORM for c in children),
    }
    ranked = [c for c in reported if c["rate"] is not None]
    lagging = sorted(
        (
            {
                "name": c["name"],
                "code": c["code"],
                "rate": c["rate"],
                "expected": c["expected"],
                "behind": c["expected"] - c["rate"],
                "village_rate": c["village_rate"],
                "village_behind": (
                    c["village_expected"] - c["village_rate"] if c["village_status"] == LAGGING else None
                ),
            }
            for c in ranked
            if c["status"] == LAGGING
        ),
        key=lambda u: -u["behind"],
    )
    projects = ctx.projects()
    infrastructure = ctx.infrastructure()
    quality = ctx.quality(children, findings, people)
    quality["timeliness"] = dict(timeliness) if timeliness else None
    quality["approval"] = dict(approvals) if approvals else None
    unit = registry.get(spec.unit_code) if spec.unit_code in registry else None
    level = spec.level
    child_zh = CHILD_LEVEL_ZH.get(level, "下级单位")
    problems = _problems(
        spec.unit_name,
        child_zh,
        basis,
        people,
        villages,
        counties,
        lagging,
        quality,
        projects,
        infrastructure,
    )
    return {
        "unit": {
            "code": spec.unit_code,
            "short_code": unit.short_code if unit else spec.unit_code,
            "name": spec.unit_name,
            "level": level,
            "level_zh": LEVEL_ZH.get(level, level),
        },
        "year": year,
        "as_of": N.period_end(year),
        "issued": issued or catalog.reporting_due(year),
        "basis": basis,
        # the county's 04 form is its own, not its townships'
        "infra_caption": "" if level == "county" else basis["caption"],
        "issuer": issuer or default_issuer(spec.unit_name, level),
        "plan_title": catalog.title,
        "is_province": level == "province",
        "child_level_zh": CHILD_LEVEL_ZH.get(level, "下级单位"),
        "people": people,
        "villages": villages,
        "counties": counties,
        "verification": verified(verification, spec),
        "headline": ctx.headline(people, villages, counties),
        "children": children,
        "summary": summary,
        "best": ranked[0] if ranked else None,
        # fastest and slowest, when they differ
        "worst": ranked[-1]
        if len(ranked) > 1 and (ranked[-1]["completion"] or 0.0) < (ranked[0]["completion"] or 0.0)
        else None,
        "lagging": lagging,
        "projects": projects,
        "projects_failing": [p for p in projects if p["failing"]],
        "projects_reported": [p for p in projects if p["reported"]],
        "projects_unreported": [p["name"] for p in projects if not p["reported"]],
        "infrastructure": infrastructure,
        "infrastructure_failing": [p for p in infrastructure if p["failing"]],
        "infrastructure_reported": [p for p in infrastructure if p["reported"]],
        "infrastructure_unreported": [p["name"] for p in infrastructure if not p["reported"]],
        "domains": ctx.domains(),
        "quality": quality,
        # the levels below the children, as the children's own consolidations say (the first is the children)
        "coverage": [
            {"level_zh": LEVEL_ZH.get(lv, lv), "expected": n, "received": got}
            for lv, n, got in list(levels)[1:]
        ],
        "trend": ctx.trend(people, villages),
        # 片区进展 and 老区 (from the consolidation's 片区汇总; None without one)
        "regions": region_section(regions, catalog, load_fields()) if regions else None,
        "problems": problems,
        "next_steps": {
            "people": bool(lagging) or people["status"] == LAGGING,
            "villages": villages["status"] == LAGGING,
            "data": not basis["complete"] or bool(quality["errors"]),
            "projects": any(p["failing"] for p in projects + infrastructure),
            "unreported": any(not p["reported"] for p in projects + infrastructure),
            "counties": bool(counties["own"] or counties["schedule"]),
        },
        "charts": {},
    }


ABSENT_WORDS = (
    (NOT_REPORTED, "未报送"),
    (RETURNED, "被退回"),
    (BLANK_FORM, "报送空表"),
    (REFUSED, "报表被拒收"),
)


def _absent_text(children: list[dict[str, Any]]) -> str:
    """The children whose data are not in, said apart by why: 武汉市、黄石市等16个未报送，通城县被退回."""
    parts = []
    for status, words in ABSENT_WORDS:
        names = [c["name"] for c in children if not c["reported"] and c["status"] == status]
        if names:
            parts.append(_names(names, 6) + words)
    return "，".join(parts)


def _names(items: list[str], most: int = 5) -> str:
    shown = "、".join(items[:most])
    return shown + (f"等{len(items)}个" if len(items) > most else "")


def _problems(
    unit_name, child_zh, basis, people, villages, counties, lagging, quality, projects, infrastructure
) -> list[str]:
    """The 存在问题 of the report: one sentence per problem the data show, most serious first."""
    out: list[str] = []
    if not basis["complete"]:
        text = (
            f"报送不全。应报{basis['expected']}个{child_zh}，已报送可用数据的{basis['reported']}个，"
            f"{basis['absent_text']}，其数据未计入"
        )
        if not basis["enough"]:
            text += f"；已汇总单位不足{N.percent(basis['threshold'], 0)}，无法判断{unit_name}总体进度"
        out.append(text + "。")
    if people["judged"] and people["status"] == LAGGING:
        out.append(f"{unit_name}累计脱贫进度低于规划{N.points(people['gap'])}。")
    if lagging:
        worst = lagging[0]
        out.append(
            f"{len(lagging)}个{child_zh}累计脱贫进度滞后于规划（{_names([u['name'] for u in lagging])}），"
            f"其中{worst['name']}落后{N.points(worst['behind'])}。"
        )
    if villages["judged"] and villages["status"] == LAGGING:
        out.append(f"贫困村出列进度低于规划{N.points(villages['gap'])}。")
    failing = [p for p in projects + infrastructure if p["failing"]]
    if failing:
        out.append(
            "部分重点工程和基础设施指标未达到规划要求："
            + "；".join(f"{p['name']}{p['brief']}（规划{p['target']}）" for p in failing[:6])
            + "。"
        )
    unreported = [p["name"] for p in projects + infrastructure if not p["reported"]]
    if unreported:
        out.append(f"{_names(unreported, 6)}指标没有报送数据，无法评价。")
    own = counties.get("own") or {}
    assessment = own.get("assessment") if own else None
    if assessment and assessment["status"] == "未达到":
        out.append(f"{own['name']}尚未达到贫困县退出标准（{'、'.join(assessment['failed'])}未达到）。")
    elif own and own.get("planned_this_year") and (assessment is None or assessment["status"] == "未报"):
        out.append(f"{own['name']}按计划应于{own['exit_year']}年摘帽，但缺少评估所需的数据。")
    if quality["errors"]:
        out.append(f"数据校验发现错误{quality['errors']}条，须由填报单位改正后重报。")
    if quality["outliers"]:
        out.append(
            f"{_names([o['name'] for o in quality['outliers']])}的累计脱贫率明显偏离其他单位，需要核实。"
        )
    return out


def default_issuer(unit_name: str, level: str) -> str:
    """The office that issues the report: 湖北省扶贫攻坚领导小组办公室, 红安县扶贫攻坚领导小组办公室 …"""
    return f"{unit_name}扶贫攻坚领导小组办公室"


class _Context:
    def __init__(self, data, catalog, registry, baseline, people_sheet, missing, returned, history) -> None:
        self.data = data
        self.spec = data.spec
        self.year = data.spec.period
        self.level = data.spec.level
        self.catalog = catalog
        self.registry = registry
        self.baseline = baseline
        self.people_sheet = people_sheet
        self.missing = missing
        self.returned = returned
        self.history = history
        self.is_province = self.level == "province"
        self.base = baseline.totals(registry, data.spec.unit_code) if data.spec.unit_code in registry else {}
        self.blank: list[UnitRef] = []
        self.reported_codes: list[str] | None = None  # the children whose data the figures hold, when not all
        self.enough = True  # enough children reported to judge the unit as a whole

    # ------------------------------------------------------------ on what the figures rest

    def basis(self, children: list[dict[str, Any]]) -> dict[str, Any]:
        """How many children the figures rest on, and whether they are enough for a verdict on the whole unit.

        A township's rows are its villages, typed by its own clerk: its figures are the township's own.
        Above it, a child that has not reported, was returned or sent a blank form is not in the
        figures; below the catalog's ``report_min_coverage`` the report judges only the children."""
        level_zh = CHILD_LEVEL_ZH.get(self.level, "下级单位")
        expected = len(children)
        reported = sum(c["reported"] for c in children)
        own = self.level == "township"
        complete = own or reported == expected
        threshold = self.catalog.min_coverage()
        share = reported / expected if expected else 1.0
        enough = own or (reported > 0 and share >= threshold - 1e-9)
        self.enough = enough
        if not complete:
            self.reported_codes = [c["code"] for c in children if c["reported"]]
        text = "" if complete else f"根据已报送的{reported}个（共{expected}个）{level_zh}汇总"
        return {
            "level_zh": level_zh,
            "expected": expected,
            "reported": reported,
            "share": share,
            "complete": complete,
            "enough": enough,
            "threshold": threshold,
            "text": text,
            "caption": f"（{text}）" if text else "",
            "absent": [c["name"] for c in children if not c["reported"]],
            "absent_text": _absent_text(children),
        }

    def _total(self, form: str) -> dict[str, Any]:
        """The 合计 of ``form``: over the children that reported when some did not (the workbook's 合计
        also holds the prefilled base of those that did not, so a derived 剩余 would count them as poor)."""
        total = self.data.totals.get(form, {})
        sheet = self.spec.sheet(form) if form in self.data.rows else None
        if self.reported_codes is None or sheet is None or len(sheet.rows) <= 1:
            return total
        rows = self.data.rows[form]
        return total_row(sheet, [rows.get(code, {}) for code in self.reported_codes if code in rows])

    def _reported_base(self, key: str) -> float | None:
        """The baseline ``key`` (poor_people, poor_villages) of the children the figures hold."""
        if self.reported_codes is None:
            return None
        return float(sum(self.baseline.totals(self.registry, code)[key] for code in self.reported_codes))

    # ------------------------------------------------------------ headline figures

    def _schedule(
        self, code: str, target: float | None = None, reported_only: bool = False
    ) -> tuple[float, int | None]:
        """(expected cumulative share by the period's end, year due in full) for the unit: from its own
        tasks when it has them (a poor county is due in full in its 摘帽 year), else the plan's shares.
        ``reported_only``: the figures hold only some children; the tasks are theirs (``target`` their base)."""
        tasks = self.baseline.tasks(self.registry)
        if reported_only and target and self.reported_codes:
            series_list = [tasks.series(c, code) for c in self.reported_codes]
            if all(s is not None for s in series_list):
                years = sorted(set().union(*series_list))
                series = {y: sum(s.get(y, 0) for s in series_list) for y in years}
            else:
                series = None
        else:
            series = tasks.series(self.spec.unit_code, code)
        if series is not None and target:
            due = cumulative(series, self.year) or 0.0
            full = next((y for y in sorted(series) if cumulative(series, y) >= target), None)
            return min(1.0, due / target), full
        return self.catalog.cumulative_share(code, self.year), self.catalog[code].deadline

    def _base(self, key: str, plan_code: str, unit: str, reported: Any) -> tuple[Any, float | None]:
        """The whole base of ``key`` (poor people, poor villages: the plan's figure for the province, else
        the baseline's or the 基数 reported) and the part of it reported when the data cover only a part."""
        if self.is_province:
            whole = self.catalog.number(plan_code, unit)
        else:
            whole = self.base.get(key) or _num(reported)
        return whole, self._reported_base(key)

    def _progress(
        self,
        total: Mapping[str, Any],
        reported: bool,
        base: tuple[Any, float | None],
        schedule: str,
        cum_key: str,
        counts: Mapping[str, str],
    ) -> dict[str, Any]:
        """The progress of an exit target (poor people, poor villages): the target (the part of the whole
        base reported, where the data cover only a part), the cumulative exits, the rate against the
        schedule and its status; ``counts`` (name: key of ``total``) the figures given only when reported."""
        whole, part = base
        target = whole if part is None else part
        expected, deadline = self._schedule(schedule, target, part is not None)
        cum = _num(total.get(cum_key)) if reported else None
        rate = _ratio(cum, target)
        return {
            "reported": reported,
            "partial": part is not None,
            "whole_target": whole,
            "target": target,
            "cum": cum,
            "rate": rate,
            "expected": expected,
            "expected_count": expected * target if target else None,
            "gap": _gap(rate, expected),
            "status": status_of(self.people_sheet, rate, expected) if self.enough else N.BLANK,
            "judged": self.enough and rate is not None,
            "deadline": deadline,
        } | {name: _num(total.get(key)) if reported else None for name, key in counts.items()}

    def people(self) -> dict[str, Any]:
        total = self._total(PEOPLE_FORM)
        rows = self.data.rows.get(PEOPLE_FORM, {})
        reported = any(row_filled(self.people_sheet, r) for r in rows.values())
        base = self._base("poor_people", "BASE_POOR_PEOPLE", "人", total.get("base_people"))
        counts = {
            "exited": "exited_people",
            "exited_households": "exited_households",
            "returned": "returned_people",
            "new": "new_people",
            "remaining": "remaining_people",
        }
        progress = self._progress(total, reported, base, "SCHED_PEOPLE_EXIT", "cum_exited_people", counts)
        return progress | {
            "base": _num(total.get("base_people")),
            "base_households": _num(total.get("base_households")),
            "incidence": self._incidence(total) if reported and not progress["partial"] else None,
            "rural_population": self._rural_population(),
            "deadline": min(
                progress["deadline"] or 9999, self.catalog["TARGET_PEOPLE_EXITED"].deadline or 9999
            ),
        }

    def _incidence(self, total: Mapping[str, Any]) -> float | None:
        """贫困发生率: the poor remaining at the period's end ÷ the rural population (baseline)."""
        return _ratio(total.get("remaining_people"), self._rural_population())

    def _rural_population(self) -> float | None:
        """农村户籍人口: the 04 form's, where every row of it gives one (the current figure), else the
        baseline's (the counties' list)."""
        rows = self.data.rows.get(INFRA_FORM, {})
        if rows and all(N.is_number(r.get("rural_population")) for r in rows.values()):
            return _num(self.data.totals[INFRA_FORM].get("rural_population"))
        return self.base.get("rural_population") or None

    def _village_totals(self) -> dict[str, Any] | None:
        """The village counts of the unit: its 02 form's 合计 (a township's counted from its village rows)."""
        if VILLAGE_FORM not in self.data.totals:
            return None
        sheet = self.spec.sheet(VILLAGE_FORM)
        total = self._total(VILLAGE_FORM)
        if "villages_exited_cum" in sheet.column_keys:
            return total
        # a township's form lists its villages: count them as its county's form would
        counted = parent_values(sheet, total, len(sheet.rows))
        parent = self.spec.parent_code
        if parent is None:
            return None
        parent_spec = build_workbook_spec(
            parent,
            self.year,
            registry=self.registry,
            catalog=self.catalog,
            baseline=self.baseline,
            forms=(VILLAGE_FORM,),
        )
        return compute_row(parent_spec.sheet(VILLAGE_FORM), counted)

    def villages(self) -> dict[str, Any]:
        total = self._village_totals() or {}
        sheet = self.spec.sheet(VILLAGE_FORM) if VILLAGE_FORM in self.data.rows else None
        reported = sheet is not None and any(
            row_filled(sheet, r) for r in self.data.rows[VILLAGE_FORM].values()
        )
        base = self._base("poor_villages", "BASE_POOR_VILLAGES", "个", total.get("poor_villages"))
        counts = {"prior": "villages_exited_prior"} | {
            k: f"villages_{k}" for k in ("applying", "meeting", "infrastructure_ok", "services_ok")
        }
        progress = self._progress(total, reported, base, "SCHED_VILLAGE_EXIT", "villages_exited_cum", counts)
        return progress | {
            "poor": _num(total.get("poor_villages")),
            "deadline": self.catalog["TARGET_VILLAGES_EXITED"].deadline,
        }

    def exit_years(self, poor: list) -> dict[str, int | None]:
        """{county code: planned 摘帽 year} of the poor counties' records (the tasks', else the list's)."""
        return {c.code: self.baseline.planned_exit(c.code, self.registry) for c in poor}

    def counties(self, county_exits: Iterable[Any] = ()) -> dict[str, Any]:
        """Poor counties: the list's planned exit years are the schedule; what is achieved comes from data
        (the county's own assessment, :mod:`hbreport.consolidation.county_exit`; above the county, each
        county's status as its consolidation judged it, carried up in the Summaries, and the 04 form's
        本年申请摘帽县)."""
        from hbreport.consolidation.county_exit import assess

        unit = self.registry.get(self.spec.unit_code)
        if unit.level == "county":
            units = [unit]
        elif unit.level in ("province", "prefecture"):
            units = self.registry.descendants(unit.code, "county")
        else:
            units = []
        poor = [self.baseline.county(u.code) for u in units if self.baseline.is_poor_county(u.code)]
        year_of = self.exit_years(poor)
        planned = [c for c in poor if year_of[c.code] is not None and year_of[c.code] <= self.year]
        target = self.catalog.number("BASE_POOR_COUNTIES", "个") if self.is_province else len(poor)
        expected, _ = self._schedule("SCHED_COUNTY_EXIT", target)
        # 表1 rests on the children that reported: the poor counties under them, and their schedule
        covered = target
        covered_due = expected * target if target else None
        if self.reported_codes is not None and unit.level in ("province", "prefecture"):
            under = set()
            for code in self.reported_codes:
                child = self.registry.get(code)
                found = [child] if child.level == "county" else self.registry.descendants(code, "county")
                under.update(u.code for u in found)
            mine = [c for c in poor if c.code in under]
            covered = len(mine)
            covered_due = sum(year_of[c.code] is not None and year_of[c.code] <= self.year for c in mine)
        own = None
        if unit.level in ("county", "township") and self.baseline.is_poor_county(unit.code):
            county = self.baseline.county(unit.code)
            own_year = self.baseline.planned_exit(county.code, self.registry)
            own = {
                "name": county.name,
                "kind": POOR_COUNTY_ZH.get(county.poor_county, ""),
                "exit_year": own_year,
                "planned": own_year is not None and own_year <= self.year,
                "planned_this_year": own_year == self.year,
                "assessment": None,
            }
            if unit.level == "county":
                exit_ = assess(
                    self.data, registry=self.registry, catalog=self.catalog, baseline=self.baseline
                )
                own["assessment"] = _exit_dict(exit_) if exit_ else None
        infra = self.data.rows.get(INFRA_FORM)
        applying = None
        if infra and unit.level in ("province", "prefecture"):
            sheet = self.spec.sheet(INFRA_FORM)
            if "counties_exit_applying" in sheet.column_keys and any(
                row_filled(sheet, r) for r in infra.values()
            ):
                applying = _num(self.data.totals[INFRA_FORM].get("counties_exit_applying"))
        return {
            "target": target,
            "schedule": bool(target) and unit.level in ("province", "prefecture"),
            "own": own,
            "poor": len(poor),
            "national": sum(c.poor_county == "national" for c in poor),
            "provincial": sum(c.poor_county == "provincial" for c in poor),
            # the schedule (list of poor counties and their planned years), never the achievement
            "planned": len(planned),
            "planned_this_year": [c.name for c in planned if year_of[c.code] == self.year],
            # counties whose tasks move their 摘帽 year from the list's: the report says the tasks rule
            "moved": self.baseline.exit_moved([c.code for c in poor], self.registry),
            "applying": applying,
            "expected": expected,
            "expected_count": expected * target if target else None,
            "covered": covered,  # the poor counties under the children that reported (all when all did)
            "covered_due": covered_due,  # of them, those the list plans to exit by the period's end
            "deadline": self.catalog["TARGET_COUNTIES_EXITED"].deadline,
            "exits": self.exits(poor, county_exits) if unit.level in ("province", "prefecture") else None,
        }

    def exits(self, poor: list, county_exits: Iterable[Any]) -> dict[str, Any] | None:
        """Above the county: each poor county of the list with its planned year (the schedule) and the
        status its own consolidation judged from its data (未报 when none came up), grouped."""
        from hbreport.consolidation.county_exit import APPLYING, MET, NOT_MET, NOT_REPORTED

        if not poor:
            return None
        by_code = {e.code: e for e in county_exits}
        year_of = self.exit_years(poor)
        rows = []
        for county in sorted(poor, key=lambda c: (year_of[c.code] or 9999, c.code)):
            e = by_code.get(county.code)
            year = year_of[county.code]
            rows.append(
                {
                    "name": county.name,
                    "exit_year": year,
                    "planned": year is not None and year <= self.year,
                    "status": e.status if e else NOT_REPORTED,
                    "applying": bool(e and e.applying),
                    "failed": "、".join(e.failed) if e else "",
                }
            )

        def names(statuses: tuple[str, ...], planned: bool | None = None) -> list[str]:
            return [
                r["name"]
                for r in rows
                if r["status"] in statuses and (planned is None or r["planned"] == planned)
            ]

        met, not_met, none = names((APPLYING, MET)), names((NOT_MET,)), names((NOT_REPORTED,))
        planned = [r for r in rows if r["planned"]]
        return {
            "rows": rows,
            # the table: the counties due by the period's end, and any other with data
            "table": [r for r in rows if r["planned"] or r["status"] != NOT_REPORTED],
            "met": met,
            "met_text": _names(met, 8),
            "applying": names((APPLYING,)),
            "not_met": not_met,
            "not_met_text": "；".join(
                f"{r['name']}：{r['failed']}未达到" if r["failed"] else r["name"]
                for r in rows
                if r["status"] == NOT_MET
            ),
            "no_data": none,
            "no_data_text": _names(none, 8),
            "planned": len(planned),
            "planned_met": len(names((APPLYING, MET), True)),
            "planned_not_met": len(names((NOT_MET,), True)),
            "planned_no_data": len(names((NOT_REPORTED,), True)),
            "planned_no_data_text": _names(names((NOT_REPORTED,), True), 8),
        }

    def headline(self, people, villages, counties) -> list[dict[str, Any]]:
        def row(name: str, fig: dict, fmt) -> dict[str, Any]:
            def whole(value: Any) -> str:  # expected counts are shares of a base: 2767.8 villages → 2768个
                return fmt(round(value)) if N.is_number(value) else N.BLANK

            return {
                "name": name,
                "target": whole(fig["target"]),
                "share": N.percent(fig["expected"]),
                "expected": whole(fig["expected_count"]),
                "actual": whole(fig["cum"] if "cum" in fig else fig["exited"]),
                "rate": fig["rate"],
                "status": fig["status"]
                if fig["rate"] is not None
                else (N.BLANK if fig.get("reported", True) else NOT_REPORTED),
            }

        rows = [row("贫困人口脱贫", people, N.people), row("贫困村出列", villages, N.units)]
        if counties["schedule"]:  # exits are judged county by county (四(二)): no rate, no verdict here
            exits = counties.get("exits") or {}
            assessed = len(exits.get("rows", [])) - len(exits.get("no_data", []))
            covered, due = counties["covered"], counties["covered_due"]
            rows.append(
                {
                    "name": "贫困县摘帽",
                    "target": N.units(covered),
                    "share": N.percent(due / covered) if covered and due is not None else N.BLANK,
                    "expected": N.units(round(due or 0)),
                    "actual": (
                        f"达标{N.units(len(exits['met']))}"
                        + (f"（{assessed}个县有数据）" if assessed < covered else "")
                    )
                    if assessed
                    else NO_DATA,
                    "rate": None,
                    "status": N.BLANK,
                }
            )
        return rows

    # ------------------------------------------------------------ children

    def children(self) -> list[dict[str, Any]]:
        sheet = self.people_sheet
        rows = self.data.rows.get(PEOPLE_FORM, {})
        village_rows = self.data.rows.get(VILLAGE_FORM, {})
        village_sheet = self.spec.sheet(VILLAGE_FORM) if VILLAGE_FORM in self.data.rows else None
        per_village = village_sheet is not None and "village_exit_rate" not in village_sheet.column_keys
        out = []
        for unit in sheet.rows:
            values = rows.get(unit.code, {})
            was_returned = any(_same_unit(r.code, unit.code) for r in self.returned)
            listed_missing = was_returned or any(_same_unit(m.code, unit.code) for m in self.missing)
            reported = not listed_missing and row_filled(sheet, values)
            was_blank = any(_same_unit(b.code, unit.code) for b in self.blank)
            was_refused = any(
                _same_unit(m.code, unit.code) and m.status in (REFUSED, "重复") for m in self.missing
            )
            absent = (
                RETURNED
                if was_returned
                else BLANK_FORM
                if was_blank
                else REFUSED
                if was_refused
                else NOT_REPORTED
            )
            vrow = village_rows.get(unit.code, {}) if not per_village else {}
            vrate = _num(vrow.get("village_exit_rate")) if reported else None
            vexp = _num(vrow.get("village_expected_rate"))
            rate = _num(values.get("cum_exit_rate")) if reported else None
            expected = _num(values.get("expected_rate"))
            if expected is None:
                expected = self.catalog.cumulative_share("SCHED_PEOPLE_EXIT", self.year)
            task = _num(values.get("task_people"))
            cum = _num(values.get("cum_exited_people")) if reported else None
            status = str(values.get("progress_status") or N.BLANK) if reported else absent
            out.append(
                {
                    "code": unit.code,
                    "name": unit.name,
                    "reported": reported,
                    "base": _num(values.get("base_people")),
                    "cum": cum,
                    "exited": _num(values.get("exited_people")) if reported else None,
                    "rate": rate,
                    "expected": expected,
                    "task": task,
                    # completion of its own task due by the period's end (累计脱贫 ÷ 累计脱贫任务)
                    "completion": _ratio(cum, task) if task is not None else _ratio(rate, expected),
                    "gap": _gap(rate, expected),
                    "status": status,
                    "village_rate": vrate,
                    "village_expected": vexp,
                    "village_status": str(vrow.get("village_status") or N.BLANK) if reported else absent,
                }
            )
        # ranked by completion of their own tasks, then by exit rate; units without either, then 未报, last
        out.sort(
            key=lambda c: (
                not c["reported"],
                c["rate"] is None,
                c["completion"] is None,
                -(c["completion"] or 0.0),
                -(c["rate"] or 0.0),
                c["code"],
            )
        )
        rank = 0
        for c in out:
            if c["reported"] and c["rate"] is not None:
                rank += 1
                c["rank"] = rank
            else:
                c["rank"] = N.BLANK
        return out

    # ------------------------------------------------------------ key projects and infrastructure

    def _cumulative(self, form: str, key: str, this_year: float | None) -> float | None:
        """This period plus earlier periods of ``history``; None without history.

        The 03 form holds yearly flows (本年度数) that add up over the years; on other forms only the
        columns marked ``flow`` (the 04 form's schools and kindergartens) do, the rest is the state at
        the period's end."""
        sheet = self.spec.sheet(form)
        flow = form == PROJECT_FORM or (key in sheet.column_keys and sheet.column(key).field.flow)
        if not self.history or not flow:
            return None
        earlier = [_num(d.totals.get(form, {}).get(key)) for y, d in self.history.items() if y < self.year]
        earlier = [v for v in earlier if v is not None]
        if not earlier:
            return None
        return (this_year or 0.0) + sum(earlier)

    def _reported_poor_villages(self, form: str) -> float | None:
        """Poor villages (baseline) of the rows that reported on ``form``: the base of a coverage rate."""
        sheet = self.spec.sheet(form)
        rows = self.data.rows.get(form, {})
        codes = [r.code for r in sheet.rows if row_filled(sheet, rows.get(r.code))]
        if not codes:
            return None
        total = 0
        for code in codes:
            if code in self.baseline.villages:
                total += self.baseline.villages[code].poor_village
            elif code in self.registry:
                total += self.baseline.totals(self.registry, code)["poor_villages"]
        return float(total)

    def _indicator_rows(self, form: str) -> list[dict[str, Any]]:
        if form not in self.data.totals:
            return []
        sheet = self.spec.sheet(form)
        rows = [r for r in self.data.rows.get(form, {}).values() if row_filled(sheet, r)]
        # a domain form's 合计 over the rows that filled it (its children report it or not on their own)
        total = self._total(form) if form not in DOMAIN_FORMS else self._filled_total(sheet, rows)
        reported = bool(rows)
        denominator = _num(total.get("poor_villages_total")) if reported else None
        if not denominator:
            denominator = self._reported_poor_villages(form)
        seen: set[str] = set()
        out = []
        for col in sheet.columns:
            field = col.field
            if form in DOMAIN_FORMS and (not field.numeric or col.role == "prefill"):
                continue  # a 是/否 column (its count is the figure above it) or the prefilled base
            # a column nobody filled is not reported, whatever its 合计 shows (SUM of blanks is 0)
            filled = any(r.get(col.key) not in (None, "") for r in rows)
            if (
                col.role == "derived" and form in DOMAIN_FORMS
            ):  # a rate: recomputed on the 合计 from its parts
                filled = bool(rows)
            actual = _num(total.get(col.key)) if filled else None
            base = _num(total.get(field.share_of)) if field.share_of and reported else denominator
            codes, regional = self._codes(field)
            for code in codes:
                indicator = self.catalog[code]
                if code in seen or indicator.values is not None:  # 户型: a set of values, not a figure
                    continue
                seen.add(code)
                row = self._compare(form, col.key, field, indicator, actual, base)
                if actual is None:
                    row.update(actual=NO_DATA, brief=NO_DATA, verdict=NO_DATA, ok=None, failing=False)
                row["reported"] = actual is not None
                out.append(row)
            if regional and not codes:  # above the county, or a county in no region: each region's own target
                targets = "；".join(
                    f"{self.catalog[c].region}{self.catalog[c].value_text()}{self.catalog[c].unit}"
                    for c in regional
                )
                shown = N.with_unit(actual, field.unit) if actual is not None else NO_DATA
                row = self._row(field, shown, None, f"各片区：{targets}", N.BLANK, None, None)
                row["reported"] = actual is not None
                out.append(row)
        return out

    def _filled_total(self, sheet, rows: list) -> dict[str, Any]:
        every = self.data.totals.get(sheet.form, {})
        if len(rows) == len(self.data.rows.get(sheet.form, {})) or len(sheet.rows) <= 1:
            return every
        return total_row(sheet, rows)

    def _codes(self, field) -> tuple[list[str], list[str]]:
        """The catalog entries a field is compared with here (a region's target only for a county in that
        region), and the region targets it measures."""
        known = [c for c in field.indicators if c in self.catalog]
        regional = [c for c in known if self.catalog[c].region]
        general = [c for c in known if not self.catalog[c].region][:1]
        region = self.baseline.region(self.spec.unit_code) if self.level in ("county", "township") else None
        mine = [c for c in regional if region and self.catalog[c].region == region]
        return general + mine, regional if not general else []

    def domains(self) -> list[dict[str, Any]]:
        """One section per domain form (鄂扶贫06—12表): its figures against the plan, or 未报送."""
        out = []
        forms = {s.form: s for s in self.spec.sheets}
        for form in DOMAIN_FORMS:
            sheet = forms.get(form)
            if sheet is None:
                continue
            rows = self.data.rows.get(form, {}).values()
            reported = form in self.data.totals and any(row_filled(sheet, r) for r in rows)
            figures = self._indicator_rows(form) if reported else []
            out.append(
                {
                    "form": form,
                    "title": sheet.title,
                    "table_no": sheet.table_no,
                    "reported": reported,
                    "rows": figures,
                    "failing": [r for r in figures if r["failing"]],
                }
            )
        return out

    def _compare(self, form, key, field, indicator, actual, denominator) -> dict[str, Any]:
        """One figure against its plan target or standard: texts for the table, and whether it falls short."""
        unit = field.unit
        deadline = indicator.deadline
        by = f"到{deadline}年" if deadline else ""
        cumulative = None
        completion = None
        ok: bool | None = None
        verdict = N.BLANK
        is_total = field.aggregation == "sum" and indicator.kind == "target"
        if indicator.value is None and indicator.min is None and indicator.max is None:
            # a target the plan states in words (普遍建立村级文化中心): the figure, no verdict
            share = _ratio(actual, denominator) if field.share_of or indicator.unit == "%" else None
            verdict = f"覆盖{N.percent(share)}" if share is not None else N.BLANK
            target = indicator.quote if str(deadline) in indicator.quote else f"{by}{indicator.quote}"
            return self._row(field, N.with_unit(actual, unit), None, target, verdict, None, deadline)
        if indicator.counts == "designated":  # a list of units the province names, not an amount to reach
            target = f"全省确定{indicator.value_text()}{indicator.unit}（名单）"
            return self._row(field, N.with_unit(actual, unit), None, target, N.BLANK, None, deadline)
        lower, upper = indicator.min, indicator.max
        if indicator.value is not None and indicator.direction == "higher":
            lower = indicator.value

        if is_total and indicator.unit == "%":
            # a coverage target counted in villages: compare the count with the unit's poor villages
            share = _ratio(actual, denominator)
            target_ratio = convert(lower, "%", "ratio") if lower is not None else None
            target_text = f"{by}{N.percent(target_ratio)}"
            shown = N.with_unit(actual, unit)
            if share is not None and target_ratio is not None:
                ok = share >= target_ratio - 1e-9
                verdict = f"覆盖{N.percent(share)}" + ("，达到" if ok else "")
            brief = f"覆盖{N.percent(share)}" if share is not None else shown
            return self._row(field, shown, None, target_text, verdict, ok, deadline, brief=brief)
        if is_total:
            target_value = (
                convert(indicator.bound(), indicator.unit, unit)
                if _same_family(indicator.unit, unit)
                else indicator.bound()
            )
            target_text = f"{by}{N.with_unit(target_value, unit)}"
            cumulative = self._cumulative(form, key, actual)
            done = cumulative if cumulative is not None else actual
            own = self.baseline.tasks(self.registry).series(self.spec.unit_code, indicator.code)
            if own is not None and not self.is_province:  # the unit's own share of the plan's total
                target_value = sum(own.values())
                target_text = f"{by}{N.with_unit(target_value, unit)}（本单位任务）"
            if (self.is_province or own is not None) and self.reported_codes is None:  # not partial data
                completion = _ratio(done, target_value)
                if completion is not None:
                    verdict = f"完成{N.percent(completion)}"
                    ok = completion >= 1 - 1e-9
            elif own is None:
                target_text = f"全省{target_text}"
                verdict = N.BLANK
            cum_text = N.with_unit(cumulative, unit) if cumulative is not None else N.BLANK
            return self._row(
                field, N.with_unit(actual, unit), cum_text, target_text, verdict, ok, deadline, completion
            )

        # a standard, threshold or rate target: compare the value itself
        ratio_units = unit == "%" and indicator.unit in ("%", "‰")
        lo = convert(lower, indicator.unit, "ratio") if ratio_units and lower is not None else lower
        hi = convert(upper, indicator.unit, "ratio") if ratio_units and upper is not None else upper
        if lo is not None and hi is not None:
            target_text = f"{N.with_unit(lo, unit)}—{N.with_unit(hi, unit)}"
        elif hi is not None:
            target_text = f"{'小于' if indicator.exclusive else '不超过'}{N.with_unit(hi, unit)}"
        elif lo is not None:
            word = "大于" if indicator.exclusive else "达到" if indicator.value is not None else "不低于"
            target_text = f"{by}{word}{N.with_unit(lo, unit)}"
        else:
            target_text = indicator.value_text()
        if actual is not None:
            ok = indicator.meets(actual, lo, hi)  # "大于98%" excludes 98% itself
            if ok:
                verdict = "符合" if indicator.kind in ("standard", "threshold") else "达到"
            elif hi is not None and (actual >= hi if indicator.exclusive else actual > hi):
                verdict = "超过上限"
            else:
                verdict = "低于标准" if indicator.kind in ("standard", "threshold") else "未达到"
        return self._row(field, N.with_unit(actual, unit), None, target_text, verdict, ok, deadline)

    def _row(
        self,
        field,
        actual,
        cumulative,
        target,
        verdict,
        ok,
        deadline,
        completion=None,
        brief: str | None = None,
    ) -> dict[str, Any]:
        due = deadline is None or deadline <= self.year
        return {
            "key": field.key,
            "name": field.label,
            "actual": actual,
            "brief": brief or actual,
            "cumulative": cumulative if cumulative is not None else N.BLANK,
            "target": target,
            "deadline": f"{deadline}年" if deadline else N.BLANK,
            "verdict": verdict,
            "ok": ok,
            "completion": completion,
            # falls short of a standard, or of a target whose year has come
            "failing": ok is False and due,
        }

    def projects(self) -> list[dict[str, Any]]:
        return self._indicator_rows(PROJECT_FORM)

    def infrastructure(self) -> list[dict[str, Any]]:
        return self._indicator_rows(INFRA_FORM)

    # ------------------------------------------------------------ data quality

    def quality(self, children, findings: list[Finding], people) -> dict[str, Any]:
        names = {c["code"]: c["name"] for c in children}

        def name_of(ref: UnitRef) -> str:
            if ref.name:
                return ref.name
            for code, name in names.items():
                if _same_unit(ref.code, code):
                    return name
            return ref.code

        returned_codes = [r.code for r in self.returned]
        missing = [
            c["name"]
            for c in children
            if not c["reported"]
            and c["status"] != BLANK_FORM
            and not any(_same_unit(code, c["code"]) for code in returned_codes)
        ]
        for ref in self.missing:  # named by the consolidation but not a row of this form
            if not any(_same_unit(ref.code, c["code"]) for c in children) and name_of(ref) not in missing:
                missing.append(name_of(ref))
        counts = count_by_importance(f for f in findings if not f.explained)
        explained = [f for f in findings if f.explained]
        ordered = sorted(
            findings, key=lambda f: (f.importance != "error", f.unit_code or "", f.sheet or "", f.cell or "")
        )
        shown = [
            {
                "unit": f.unit_name or f.unit_code or N.BLANK,
                "where": " ".join(p for p in (f.sheet, f.cell) if p) or N.BLANK,
                "importance": f.importance_zh,
                "message": f.message,
                "rule": f.code,
            }
            for f in ordered[:FINDINGS_SHOWN]
        ]
        rates = {c["code"]: c["rate"] for c in children if c["reported"] and c["rate"] is not None}
        scores = robust_z(rates)
        outliers = sorted(
            ({"name": names[k], "rate": rates[k], "z": z} for k, z in scores.items() if abs(z) > OUTLIER_Z),
            key=lambda o: -abs(o["z"]),
        )
        base_mismatch = (
            not missing
            and people["base"] is not None
            and people["target"] is not None
            and abs(people["base"] - people["target"]) > 0.5
        )
        return {
            "missing": missing,
            "returned": [{"name": name_of(r), "reason": r.reason} for r in self.returned],
            "blank": [c["name"] for c in children if c["status"] == BLANK_FORM],
            "errors": counts.get("error", 0),
            "warnings": counts.get("warning", 0),  # open ones: not explained by the reporting unit
            "explained": len(explained),
            "explanations": [
                {
                    "unit": name_of(UnitRef(f.unit_code or "", f.unit_name or "")),
                    "text": clip(f.explanation, 60),
                }
                for f in explained[:EXPLANATIONS_SHOWN]
            ],
            "findings": shown,
            "findings_more": max(0, len(findings) - len(shown)),
            "outliers": outliers,
            "outlier_checked": bool(scores),
            "outlier_min": OUTLIER_MIN_UNITS,
            "z_limit": OUTLIER_Z,
            "base_mismatch": base_mismatch,
        }

    # ------------------------------------------------------------ trend

    def trend(self, people, villages) -> dict[str, Any]:
        """Cumulative exits per year (this period and ``history``) and the plan's schedule, for the chart."""
        actual_people: dict[int, float] = {}
        actual_villages: dict[int, float] = {}
        for y, d in sorted(self.history.items()):
            ctx = _Context(
                d, self.catalog, self.registry, self.baseline, d.spec.sheet(PEOPLE_FORM), [], [], {}
            )
            # the same children as this period's figures: a whole county's earlier year beside five
            # townships now would draw a fall in the cumulative exits that never happened
            ctx.reported_codes = self.reported_codes
            p, v = ctx.people(), ctx.villages()
            if p["cum"] is not None:
                actual_people[y] = p["cum"]
            if v["cum"] is not None:
                actual_villages[y] = v["cum"]
        if people["cum"] is not None:
            actual_people[self.year] = people["cum"]
        if villages["cum"] is not None:
            actual_villages[self.year] = villages["cum"]
        sched_people = self.catalog["SCHED_PEOPLE_EXIT"].schedule or {}
        sched_villages = self.catalog["SCHED_VILLAGE_EXIT"].schedule or {}
        years = sorted(set(sched_people) | set(sched_villages) | set(actual_people))
        return {
            "years": years,
            "people_target": people["target"],
            "village_target": villages["target"],
            "people_plan": {
                y: self.catalog.cumulative_share("SCHED_PEOPLE_EXIT", y) * (people["target"] or 0)
                for y in years
            },
            "village_plan": {
                y: self.catalog.cumulative_share("SCHED_VILLAGE_EXIT", y) * (villages["target"] or 0)
                for y in years
            },
            "people_actual": actual_people,
            "village_actual": actual_villages,
        }


def _same_family(a: str, b: str) -> bool:
    try:
        convert(1, a, b)
    except HBError:
        return False
    return True


def _exit_dict(exit_) -> dict[str, Any]:
    return {
        "status": exit_.status,
        "applying": exit_.applying,
        "criteria": [
            {
                "label": c.label,
                "figure": c.figure,
                "unit": c.unit,
                "op": c.op,
                "threshold": c.threshold,
                "verdict": c.verdict,
                "text": _criterion_text(c),
            }
            for c in exit_.criteria
        ],
        "failed": [c.label for c in exit_.failed],
        "unassessed": exit_.unassessed,
    }


def _criterion_text(c) -> str:
    """贫困发生率1.8%（标准不高于2%，达到）"""
    if c.figure is None:
        return f"{c.label}未判断（{c.note}）" if c.note else f"{c.label}无数据"
    figure = N.decimal_text(c.figure, 2) + c.unit
    if c.threshold is None:
        return f"{c.label}{figure}（未设定标准，未判断）"
    bound = "不高于" if c.op in ("<=", "<") else "不低于"
    return f"{c.label}{figure}（标准{bound}{N.decimal_text(c.threshold, 2)}{c.unit}，{c.verdict}）"

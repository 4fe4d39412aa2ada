"""Plausibility (警告): signs of "数字脱贫" — exits on paper — that no single row shows.

- a village whose households all exit in one period, most with incomes just above the line;
- a village whose figures jump from one period to the next far outside the other villages' spread:
  robust z-score ``0.6745·(x − median)/MAD`` over the villages compared, flagged when |z| exceeds the
  configured bound (3.5, as DHIS2's outlier analysis); with MAD = 0 the mean absolute deviation
  (×1.2533) stands in, and with no spread at all nothing is flagged;
- many households of a village with exactly the same income.

Thresholds are configuration (the roster template's ``config.plausibility``). Findings are warnings:
a village may well be like that, and the township explains it.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hbreport.checks import finding
from hbreport.checks.households import JUMP, NEAR_LINE, PLAUSIBILITY_HINT, SAME_INCOME
from hbreport.checks.registry import registered
from hbreport.households.columns import column_of
from hbreport.households.summary import SUMMARY_SHEET, summary_cell
from hbreport.model.findings import Finding
from hbreport.model.values import number_or_none

RULE_NEAR_LINE = NEAR_LINE
RULE_JUMP = JUMP
RULE_IDENTICAL = SAME_INCOME
HINT = PLAUSIBILITY_HINT


@dataclass(frozen=True)
class VillageMetrics:
    """What is compared from period to period for one village."""

    village_code: str
    households: int
    people: int
    mean_income: float | None  # 人均纯收入 weighted by 家庭人口
    exited_share: float | None  # households exited (any year) ÷ households

    def value(self, key: str) -> float | None:
        return getattr(self, key)


METRIC_LABELS = {"mean_income": "人均纯收入（户人口加权）", "exited_share": "已脱贫户占比"}


def village_metrics(rows: Mapping[str, Mapping[str, Any]], config) -> dict[str, VillageMetrics]:
    """Per village metrics from household rows ({id: row})."""
    groups: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for row in rows.values():
        code = row.get("village_code")
        if code:
            groups[code].append(row)
    return {code: metrics_of(code, members, config) for code, members in groups.items()}


def metrics_of(code: str, members: Sequence[Mapping[str, Any]], config) -> VillageMetrics:
    people = weighted = weight = 0.0
    exited = 0
    for row in members:
        size = number_or_none(row.get("household_size")) or 0.0
        people += size
        income = number_or_none(row.get("income_per_capita"))
        if income is not None and size > 0:
            weighted += income * size
            weight += size
        exited += config.is_exited(row.get("exit_status"))
    n = len(members)
    return VillageMetrics(
        village_code=code,
        households=n,
        people=int(people),
        mean_income=weighted / weight if weight else None,
        exited_share=exited / n if n else None,
    )


def robust_z(values: Sequence[float]) -> list[float]:
    """Modified z-scores (Iglewicz–Hoaglin): 0.6745·(x − median)/MAD; all 0 when there is no spread."""
    if not values:
        return []
    median = statistics.median(values)
    deviations = [abs(v - median) for v in values]
    mad = statistics.median(deviations)
    if mad > 0:
        return [0.6745 * (v - median) / mad for v in values]
    mean_ad = statistics.fmean(deviations)
    if mean_ad > 0:
        return [(v - median) / (1.253314 * mean_ad) for v in values]
    return [0.0 for _ in values]


def _finding(roster, village_code: str, key: str, code: str, **fields: object) -> Finding:
    """The registered check ``code`` at the village's cell of the roster's summary sheet."""
    try:
        cell = summary_cell(roster.spec, village_code, key)
    except ValueError:
        cell = None
    return finding(
        code,
        file=roster.file_label,
        unit_code=roster.spec.unit_code,
        unit_name=roster.spec.unit_name,
        sheet=SUMMARY_SHEET,
        cell=cell,
        **fields,
    )


def _village_name(roster, code: str) -> str:
    return next((v.name for v in roster.spec.villages if v.code == code), code)


_NUMBERS = frozenset({int, float})


class _Villages:
    """A roster's households grouped by village, by column: each village code once (in the order of
    first appearance), and per household its village's number, income and exit."""

    def __init__(self, roster) -> None:
        rows = roster.rows
        columns = [
            column_of(rows, key) for key in ("village_code", "income_per_capita", "exit_status", "exit_year")
        ]
        if not all(columns[0]):  # households without a village are left out
            keep = [i for i, code in enumerate(columns[0]) if code]
            columns = [[values[i] for i in keep] for values in columns]
        codes, incomes, statuses, years = columns
        order = {code: i for i, code in enumerate(dict.fromkeys(codes))}
        self.group = np.fromiter(map(order.__getitem__, codes), dtype=np.int64, count=len(codes))
        self.codes = list(order)
        self.size = np.bincount(self.group, minlength=len(self.codes))
        if _NUMBERS.issuperset(map(type, incomes)):  # numbers alone: each as number_or_none takes it
            self.income = np.array(incomes, dtype=float)
        else:
            numbers = [number_or_none(x) for x in incomes]
            self.income = np.array([np.nan if x is None else x for x in numbers], dtype=float)
        cfg = roster.spec.config
        exited: dict[Any, bool] = {}
        self.exited_now = np.array(
            [
                (exited[s] if s in exited else exited.setdefault(s, bool(cfg.is_exited(s))))
                and year == roster.period
                for s, year in zip(statuses, years, strict=True)
            ],
            dtype=bool,
        )

    def count(self, mask: np.ndarray) -> np.ndarray:
        return np.bincount(self.group[mask], minlength=len(self.codes))


def near_line_exits(roster, villages: _Villages | None = None) -> list[Finding]:
    """Villages where every household exited this period and most incomes sit just above the line."""
    cfg = roster.spec.config
    p = cfg.plausibility
    line = cfg.poverty_line
    margin, share, least = p["near_line_margin"], p["near_line_share"], p["near_line_min_households"]
    v = villages if villages is not None else _Villages(roster)
    if not v.codes:
        return []
    with np.errstate(invalid="ignore"):
        near_mask = (v.income > line) & (v.income <= line * (1 + margin))
    all_exited = v.count(v.exited_now) == v.size
    near = v.count(near_mask)
    findings = []
    for i in np.flatnonzero(
        (v.size >= least) & all_exited & (near / np.maximum(v.size, 1) >= share)
    ).tolist():
        code, members, n_near = v.codes[i], int(v.size[i]), int(near[i])
        if n_near / members < share:
            continue
        findings.append(
            _finding(
                roster,
                code,
                "exited_households",
                NEAR_LINE,
                village=_village_name(roster, code),
                members=members,
                period=roster.period,
                near=n_near,
                line=line,
                margin=margin,
                upper=line * (1 + margin),
            )
        )
    return findings


def _most_alike(group: np.ndarray, income: np.ndarray, villages: int) -> np.ndarray:
    """Per village, how many of its households share its commonest income (incomes equal as numbers):
    the households sorted by village then income, the longest run of one income in each village."""
    order = np.lexsort((income, group))
    group, income = group[order], income[order]
    starts = np.flatnonzero(np.concatenate(([True], (group[1:] != group[:-1]) | (income[1:] != income[:-1]))))
    most = np.zeros(villages, dtype=np.int64)
    np.maximum.at(most, group[starts], np.diff(np.append(starts, len(group))))
    return most


def identical_incomes(roster, villages: _Villages | None = None) -> list[Finding]:
    """Villages where many households report exactly the same 人均纯收入."""
    p = roster.spec.config.plausibility
    least, share = p["identical_income_min_households"], p["identical_income_share"]
    v = villages if villages is not None else _Villages(roster)
    known = ~np.isnan(v.income)
    if not known.any():
        return []
    most = _most_alike(v.group[known], v.income[known], len(v.codes))
    findings = []
    for i in np.flatnonzero((most >= least) & (most / np.maximum(v.size, 1) >= share)).tolist():
        size = int(v.size[i])
        incomes = v.income[(v.group == i) & known].tolist()
        value, count = Counter(incomes).most_common(1)[0]  # the value named: the first of the commonest
        if count >= least and count / size >= share:
            findings.append(
                _finding(
                    roster,
                    v.codes[i],
                    "households",
                    SAME_INCOME,
                    village=_village_name(roster, v.codes[i]),
                    size=size,
                    count=count,
                    value=value,
                )
            )
    return findings


@dataclass(frozen=True)
class Jump:
    """A village whose change since the previous period is an outlier among the villages compared."""

    village_code: str
    metric: str  # mean_income | exited_share
    before: float
    after: float
    change: float  # relative for income, absolute for shares
    z: float
    compared: int

    def fields(self, village_name: str, bound: float) -> dict[str, object]:
        """The fields of the registered check :data:`JUMP` for this village."""
        if self.metric == "mean_income":
            how = f"由 {self.before:,.0f} 元变为 {self.after:,.0f} 元（{self.change:+.0%}）"
        else:
            how = f"由 {self.before:.0%} 变为 {self.after:.0%}（{self.change * 100:+.0f} 个百分点）"
        return {
            "village": village_name,
            "metric": METRIC_LABELS[self.metric],
            "how": how,
            "others": self.compared - 1,
            "z": self.z,
            "bound": bound,
        }

    def describe(self, village_name: str, bound: float) -> str:
        return registered(JUMP).message(**self.fields(village_name, bound))


def period_jumps(
    current: Mapping[str, VillageMetrics],
    previous: Mapping[str, VillageMetrics],
    *,
    bound: float,
    least: float,
    metrics: Sequence[str] = ("mean_income", "exited_share"),
) -> list[Jump]:
    """Villages whose change from ``previous`` to ``current`` has |robust z| > ``bound`` among all the
    villages present in both (at least ``least`` of them)."""
    jumps = []
    for key in metrics:
        changes: list[tuple[str, float, float, float]] = []
        for code, now in current.items():
            before = previous.get(code)
            if before is None:
                continue
            a, b = before.value(key), now.value(key)
            if a is None or b is None or (key == "mean_income" and a <= 0):
                continue
            changes.append((code, a, b, (b - a) / a if key == "mean_income" else b - a))
        if len(changes) < least:
            continue
        for (code, a, b, change), z in zip(changes, robust_z([c[3] for c in changes]), strict=True):
            if abs(z) > bound:
                jumps.append(Jump(code, key, a, b, change, z, len(changes)))
    return jumps


def plausibility_findings(roster) -> list[Finding]:
    """The checks that need only one roster."""
    villages = _Villages(roster)
    return near_line_exits(roster, villages) + identical_incomes(roster, villages)

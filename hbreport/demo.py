"""`hbreport demo`: the main job end to end on the embedded Hubei sample.

For each year 2016–2019: generate every township's workbook, fill it the way clerks would (synthetic,
deterministic — see :mod:`hbreport.synthetic`), with a realistic share of mistakes (a township that
does not report, a duplicate submission, a formula overwritten by a typed number, text in a number
cell, numbers that break rules), consolidate township → county → prefecture → province (the
province-direct counties straight into the province), write the return-to-sender copies, and finally
the Word reports of the last year for the province, each prefecture and each county in scope, with
the earlier years as history for the trend charts.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hbreport.errors import HBError
from hbreport.xlsx.layout import SheetLayout

#: the prefecture the default scope runs (a region with poor counties; about a minute on 2 cores)
DEMO_PREFECTURE = "421200000000"  # 咸宁市
PROVINCE = "420000000000"

Progress = Callable[[int, int], None]


@dataclass
class DemoResult:
    """What the demo made and found, for the closing summary."""

    out_dir: Path
    scope: str
    periods: list[int]
    generated: int = 0
    missing: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    returned: list[str] = field(default_factory=list)
    errors: int = 0
    warnings: int = 0
    consolidated: list[Path] = field(default_factory=list)
    annotated: int = 0
    reports: list[Path] = field(default_factory=list)
    seconds: float = 0.0
    rate_unit: str = ""
    rates: dict[int, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "out_dir": str(self.out_dir),
            "scope": self.scope,
            "periods": self.periods,
            "generated_workbooks": self.generated,
            "missing": self.missing,
            "duplicates": self.duplicates,
            "returned": self.returned,
            "findings": {"error": self.errors, "warning": self.warnings},
            "consolidated": [str(p) for p in self.consolidated],
            "annotated_copies": self.annotated,
            "reports": [str(p) for p in self.reports],
            "cum_exit_rate": {"unit": self.rate_unit, "by_year": self.rates},
            "seconds": round(self.seconds, 1),
        }

    def render(self) -> str:
        rates = "，".join(
            f"{y}年 {r * 100:.1f}%" if isinstance(r, int | float) else f"{y}年 —"
            for y, r in self.rates.items()
        )
        lines = [
            f"演示完成（范围：{'全省' if self.scope == 'province' else '一个市州'}，报告期 {self.periods[0]}—{self.periods[-1]} 年，"
            f"用时 {self.seconds:.0f} 秒）",
            "",
            f"  生成并模拟填报的工作簿   {self.generated} 个",
            f"  初报时未报               {len(self.missing)} 个：{'、'.join(self.missing[:6])}{'…' if len(self.missing) > 6 else ''}",
            f"  重复报送                 {len(self.duplicates)} 个：{'、'.join(self.duplicates[:6])}",
            f"  初报退回（更正后重报）   {len(self.returned)} 个：{'、'.join(self.returned[:6])}{'…' if len(self.returned) > 6 else ''}",
            f"  初报发现的问题           错误 {self.errors} 条，警告 {self.warnings} 条",
            "  （早年份迟报的乡镇当年仍为未报；其余退回件均已更正重报，最后一年全部报齐）",
            f"  汇总工作簿               {len(self.consolidated)} 个",
            f"  退回批注件               {self.annotated} 个",
            f"  Word 报告                {len(self.reports)} 份",
            f"  累计脱贫率（{self.rate_unit}）  {rates}",
            "",
            f"输出目录：{self.out_dir}",
            f"  各年报表：{self.out_dir}/<年份>/（乡镇报表、县级汇总、市州汇总、省级汇总、退回）",
            f"  报告：    {self.out_dir}/报告/",
        ]
        return "\n".join(lines)


def _clean_dir(path: Path) -> None:
    if path.exists():
        if not (path / ".hbreport-demo").exists() and any(path.iterdir()):
            raise HBError(f"输出目录「{path}」已存在且不是演示目录", hint="换一个 --out 目录，或先清空它")
        shutil.rmtree(path)
    path.mkdir(parents=True)
    (path / ".hbreport-demo").write_text("hbreport demo output\n", encoding="utf-8")


def _dir_name(unit) -> str:
    return f"{unit.short_code}_{unit.name}"


class _Demo:
    def __init__(self, out_dir: Path, scope: str, progress: Progress | None) -> None:
        from hbreport.baseline import load_baseline
        from hbreport.catalog import load_catalog
        from hbreport.registry import load_registry
        from hbreport.synthetic import Story

        self.registry = load_registry()
        self.baseline = load_baseline()
        self.catalog = load_catalog()
        self.story = Story(self.registry, self.baseline, self.catalog)
        self.out = out_dir
        self.scope = scope
        self.progress = progress or (lambda done, total: None)
        province_children = self.registry.children(PROVINCE)
        if scope == "province":
            self.top = province_children
        else:
            self.top = [self.registry.get(DEMO_PREFECTURE)]
        self.periods = list(range(self.catalog.start, self.story.last_year + 1))
        self.result = DemoResult(out_dir=out_dir, scope=scope, periods=self.periods)
        self.counties = [
            c for t in self.top for c in (self.registry.children(t.code) if t.level == "prefecture" else [t])
        ]
        n_towns = sum(len(self.registry.children(c.code)) for c in self.counties)
        self.total_steps = (
            len(self.periods) * (n_towns + 2 * len(self.counties) + len(self.top) + 1)
            + len(self.counties)
            + len(self.top)
            + 1
        )
        self.done = 0

    def step(self, n: int = 1) -> None:
        self.done += n
        self.progress(min(self.done, self.total_steps), self.total_steps)

    # -- one period -----------------------------------------------------------------------------

    def township_folder(self, year: int, county) -> Path:
        return self.out / str(year) / "乡镇报表" / _dir_name(county)

    def write_town(self, year: int, county, town, mistake: str | None) -> None:
        """One township clerk's submission (with the given mistake, if any)."""
        from hbreport.forms import prefill_values
        from hbreport.spec import build_workbook_spec
        from hbreport.xlsx.writer import write_workbook

        folder = self.township_folder(year, county)
        spec = build_workbook_spec(
            town.code, year, registry=self.registry, catalog=self.catalog, baseline=self.baseline
        )
        values = self.story.township_values(spec, prefill_values(spec, self.registry, self.baseline))
        _break_values(spec, values, mistake)
        path = write_workbook(spec, folder / spec.file_name(), values=values)
        self.result.generated += 1
        if mistake == "overwrite":
            _overwrite_formula(spec, path)
        elif mistake == "duplicate":
            first = spec.sheet("poverty_progress").rows[0].code
            values["poverty_progress"][first]["exited_people"] += 1
            write_workbook(spec, folder / f"{path.stem}(重报).xlsx", values=values)

    def fill_townships(self, year: int) -> None:
        from hbreport.forms import prefill_values
        from hbreport.spec import build_workbook_spec
        from hbreport.xlsx.writer import write_workbook

        self.mistakes: dict[str, list] = {}
        for i, county in enumerate(self.counties):
            folder = self.township_folder(year, county)
            folder.mkdir(parents=True, exist_ok=True)
            for j, town in enumerate(self.registry.children(county.code)):
                self.step()
                mistake = _mistake_for(i, j, year)
                if mistake:
                    self.mistakes.setdefault(county.code, []).append((town, mistake))
                if mistake == "missing":
                    self.result.missing.append(f"{year}年{town.name}")
                    continue
                if mistake == "duplicate":
                    self.result.duplicates.append(f"{year}年{town.name}")
                self.write_town(year, county, town, mistake)
            # the county office fills its own form (infrastructure) and puts it with the townships'
            spec = build_workbook_spec(
                county.code, year, registry=self.registry, catalog=self.catalog, baseline=self.baseline
            )
            values = prefill_values(spec, self.registry, self.baseline)
            values.update(self.story.county_own_values(spec))
            write_workbook(spec, folder / f"本级_{spec.file_name()}", values=values)
            self.result.generated += 1
            self.step()

    def resubmit(self, year: int, county) -> bool:
        """Townships whose submission came back fix it and send it again; a late one in an early
        year still has not reported. Returns whether anything was resubmitted."""
        again = False
        for town, mistake in self.mistakes.get(county.code, []):
            if mistake == "missing" and year != self.periods[-1]:
                continue  # still 未报 this year
            if mistake == "warning":
                continue  # a warning needs an explanation, not a correction
            for old in self.township_folder(year, county).glob(f"{town.short_code}_*.xlsx"):
                old.unlink()  # the clerk replaces their own submission
            self.write_town(year, county, town, None)
            again = True
        return again

    def consolidate_period(self, year: int) -> Path:
        from hbreport.consolidation.consolidate import consolidate

        base = self.out / str(year)
        top_dir = base / "市州汇总"
        top_dir.mkdir(parents=True, exist_ok=True)
        for top in self.top:
            county_dir = base / "县级汇总" / _dir_name(top)
            county_dir.mkdir(parents=True, exist_ok=True)
            for county in self.registry.children(top.code) if top.level == "prefecture" else [top]:
                target = (
                    top_dir if top.level != "prefecture" else county_dir
                ) / f"{_dir_name(county)}_{year}.xlsx"
                folder = self.township_folder(year, county)
                returns = base / "退回" / _dir_name(county)
                self._run(consolidate, folder, county.code, year, target, returns)
                if self.resubmit(year, county):  # second round after the corrections
                    self._run(consolidate, folder, county.code, year, target, returns, count=False)
                self.step()
            if top.level == "prefecture":
                self._run(
                    consolidate,
                    county_dir,
                    top.code,
                    year,
                    top_dir / f"{_dir_name(top)}_{year}.xlsx",
                    base / "退回" / _dir_name(top),
                )
            self.step()
        province = self.registry.get(PROVINCE)
        out = base / "省级汇总" / f"{_dir_name(province)}_{year}.xlsx"
        out.parent.mkdir(parents=True, exist_ok=True)
        self._run(consolidate, top_dir, PROVINCE, year, out, base / "退回" / "省级")
        self.step()
        # the scope's own progress: the province, or the one prefecture the default scope runs
        shown = out if self.scope == "province" else top_dir / f"{_dir_name(self.top[0])}_{year}.xlsx"
        self.result.rate_unit = province.name if self.scope == "province" else self.top[0].name
        self.result.rates[year] = _cum_exit_rate(shown, self.registry)
        return out

    def _run(
        self, consolidate, folder: Path, code: str, year: int, out: Path, returns: Path, *, count: bool = True
    ):
        summary = consolidate(
            folder,
            code,
            year,
            out,
            registry=self.registry,
            catalog=self.catalog,
            baseline=self.baseline,
            force=True,
            annotate_dir=returns,
        )
        if not count:
            return summary
        self.result.consolidated.append(out)
        data = summary.to_dict()
        for f in data.get("findings", []):
            if f.get("importance") == "error":
                self.result.errors += 1
            elif f.get("importance") == "warning":
                self.result.warnings += 1
        for r in data.get("returned", []):
            name = r.get("name") if isinstance(r, dict) else str(r)
            self.result.returned.append(f"{year}年{name}")
        if returns.exists():
            self.result.annotated += sum(1 for _ in returns.glob("*.xlsx"))
        return summary

    # -- reports --------------------------------------------------------------------------------

    def reports(self) -> None:
        from hbreport.report import report_from_workbook

        last = self.periods[-1]
        out = self.out / "报告"
        out.mkdir(parents=True, exist_ok=True)

        def consolidated(unit, year: int) -> Path:
            base = self.out / str(year)
            if unit.code == PROVINCE:
                return base / "省级汇总" / f"{_dir_name(unit)}_{year}.xlsx"
            if unit.level == "prefecture" or self.registry.reporting_parent(unit.code).code == PROVINCE:
                return base / "市州汇总" / f"{_dir_name(unit)}_{year}.xlsx"
            top = self.registry.reporting_parent(unit.code)
            return base / "县级汇总" / _dir_name(top) / f"{_dir_name(unit)}_{year}.xlsx"

        units = [
            self.registry.get(PROVINCE),
            *[t for t in self.top if t.level == "prefecture"],
            *self.counties,
        ]
        for unit in units:
            history = [consolidated(unit, y) for y in self.periods[:-1] if consolidated(unit, y).exists()]
            target = out / f"{unit.name}{last}年脱贫攻坚进展情况报告.docx"
            report_from_workbook(
                consolidated(unit, last), target, registry=self.registry, history_files=history
            )
            self.result.reports.append(target)
            self.step()


def _mistake_for(county_index: int, town_index: int, year: int) -> str | None:
    """Which mistake (if any) a township makes this year: a few per year, in different counties."""
    plan = {
        (0, 1): "missing",
        (1, 2): "duplicate",
        (2, 0): "overwrite",
        (3, 1): "rule",
        (4, 2): "text",
        (5, 0): "warning",
    }
    shift = year % 3  # a different township each year
    return plan.get((county_index % 6, (town_index + shift) % 7)) if town_index < 7 else None


def _break_values(spec, values: dict, mistake: str | None) -> None:
    """Plant a mistake in the values a clerk types."""
    if mistake not in ("rule", "text", "warning"):
        return
    people = spec.sheet("poverty_progress")
    if not people.rows:
        return
    row = values["poverty_progress"][people.rows[-1].code]
    if mistake == "rule":  # more households than people exited: PP02
        row["exited_households"] = (row.get("exited_people") or 0) + 5
    elif mistake == "text":  # a number typed as Chinese text
        row["new_people"] = "十二"
    elif mistake == "warning":  # household PV far above the plan's 3–5 kW: a warning, not blocking
        kp = values["key_projects"][spec.sheet("key_projects").rows[0].code]
        kp["pv_households"] = max(kp.get("pv_households") or 0, 2)
        kp["pv_household_kw"] = kp["pv_households"] * 8


def _overwrite_formula(spec, path: Path) -> None:
    """A clerk types a number over the 累计脱贫人口 formula to make a check pass."""
    import openpyxl

    sheet = spec.sheet("poverty_progress")
    if not sheet.rows:
        return
    layout = SheetLayout(sheet)
    wb = openpyxl.load_workbook(path)
    ws = wb[sheet.sheet]
    ws[layout.cell(sheet.rows[0].code, "cum_exited_people")] = 0
    wb.save(path)


def _cum_exit_rate(path: Path, registry) -> Any:
    from hbreport.xlsx.reader import read_workbook

    try:
        result = read_workbook(path, registry=registry)
    except HBError:
        return None
    return result.data.value("poverty_progress", "cum_exit_rate")


def run_demo(out_dir: Path, *, scope: str = "prefecture", progress: Progress | None = None) -> DemoResult:
    """Run the whole job on the embedded sample; returns what was made and found."""
    started = time.perf_counter()
    out_dir = Path(out_dir)
    _clean_dir(out_dir)
    demo = _Demo(out_dir, scope, progress)
    for year in demo.periods:
        demo.fill_townships(year)
        demo.consolidate_period(year)
    demo.reports()
    demo.result.seconds = time.perf_counter() - started
    return demo.result

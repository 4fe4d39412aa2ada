"""Forms and reports against each unit's own tasks: a county whose 摘帽 year is 2017 is expected at
100 % in 2017 — in its workbook (the cell LibreOffice computes) and in its report; ``--tasks`` changes
what a form expects; the province report ranks its children by completion of their own tasks."""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pytest
from report_inputs import ISSUED, sample_form_data

from hbreport import office, paths
from hbreport.baseline import load_baseline
from hbreport.catalog import load_catalog
from hbreport.cli import run
from hbreport.registry import load_registry
from hbreport.report import build_context, render_report
from hbreport.spec import TOTAL, build_workbook_spec
from hbreport.xlsx.layout import SheetLayout

YEAR = 2017
EARLY = "421122"  # 红安县: 摘帽 2017
LATE = "420322"  # 郧西县: 摘帽 2019
PEOPLE = "SCHED_PEOPLE_EXIT"


@pytest.fixture(scope="module")
def parts():
    return load_registry(), load_catalog(), load_baseline()


def test_the_exit_years_are_the_sample_data_this_file_relies_on(parts):
    _, _, baseline = parts
    assert baseline.county(EARLY).exit_year == 2017 and baseline.county(LATE).exit_year == 2019


def _expected_cells(path: Path, code: str, registry) -> dict[str, float]:
    """expected_rate of each row and of 合计 on the 01 form, as the file holds them (cached values)."""
    spec = build_workbook_spec(code, YEAR, registry=registry)
    sheet = spec.sheet("poverty_progress")
    layout = SheetLayout(sheet)
    ws = openpyxl.load_workbook(path, data_only=True)[sheet.sheet]
    rows = {r.code: ws[layout.cell(r.code, "expected_rate")].value for r in sheet.rows}
    rows[TOTAL] = ws[layout.cell(TOTAL, "expected_rate")].value
    return rows


@pytest.mark.libreoffice
def test_a_county_due_in_2017_is_expected_at_100_percent_in_libreoffice(tmp_path, parts):
    registry, _, baseline = parts
    for code in (EARLY, LATE):
        assert (
            run(
                ["forms", "--level", "county", "--under", code, "--period", str(YEAR), "--out", str(tmp_path)]
            )
            == 0
        )
    tasks = baseline.tasks(registry)
    for code in (EARLY, LATE):
        (blank,) = tmp_path.glob(f"{code}_*_{YEAR}.xlsx")
        computed = _expected_cells(office.recalculate(blank, tmp_path / "lo"), code, registry)
        for row, value in computed.items():
            unit = code if row == TOTAL else row
            base = baseline.totals(registry, unit)["poor_people"]
            want = tasks.cumulative(unit, PEOPLE, YEAR) / base
            assert value == pytest.approx(want), (code, row)
        if code == EARLY:
            assert set(computed.values()) == {1}  # every township, and the county, due in full
        else:
            assert computed[TOTAL] < 0.7  # the counties not yet due carry less than the plan's 70 %


def _moved(src: Path, dst: Path, a: str, b: str, amount: int) -> None:
    """A copy of the task table with ``amount`` people of 2017 moved from county ``a`` to county ``b``."""
    with src.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        if row["indicator"] == PEOPLE and row["period"] == str(YEAR) and row["code"] in (a, b):
            row["value"] = str(int(row["value"]) + (-amount if row["code"] == a else amount))
        if row["indicator"] == PEOPLE and row["period"] == str(YEAR + 1) and row["code"] in (a, b):
            row["value"] = str(int(row["value"]) + (amount if row["code"] == a else -amount))
    with dst.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_forms_take_the_tasks_given_with_the_tasks_option(tmp_path, parts):
    registry, _, baseline = parts
    moved = tmp_path / "tasks.csv"
    _moved(paths.SAMPLE_TASKS, moved, "421181", "421182", 1000)  # 麻城市 → 武穴市, within 黄冈市
    assert run(["tasks", "check", str(moved)]) == 0
    out = tmp_path / "forms"
    assert (
        run(
            [
                "forms",
                "--level",
                "prefecture",
                "--under",
                "421100",
                "--period",
                str(YEAR),
                "--out",
                str(out),
                "--tasks",
                str(moved),
            ]
        )
        == 0
    )
    (path,) = out.glob("*.xlsx")
    spec = build_workbook_spec("421100", YEAR, registry=registry)
    sheet = spec.sheet("poverty_progress")
    layout = SheetLayout(sheet)
    ws = openpyxl.load_workbook(path)[sheet.sheet]
    tasks = baseline.tasks(registry)
    for code, delta in (("421181000000", -1000), ("421182000000", 1000), ("421122000000", 0)):
        assert ws[layout.cell(code, "task_people")].value == tasks.cumulative(code, PEOPLE, YEAR) + delta
    # a table that does not add up stops the command with the units named
    _moved(paths.SAMPLE_TASKS, moved, "421181", "420322", 1000)  # 麻城市 → 郧西县: 黄冈市 and 十堰市 both off
    assert (
        run(
            [
                "forms",
                "--level",
                "county",
                "--under",
                "421181",
                "--period",
                str(YEAR),
                "--out",
                str(out),
                "--tasks",
                str(moved),
            ]
        )
        == 2
    )


@pytest.mark.slow
def test_a_county_due_in_2017_is_expected_at_100_percent_in_its_report(tmp_path, parts):
    registry, catalog, baseline = parts
    data = sample_form_data(EARLY, YEAR, registry=registry, baseline=baseline, catalog=catalog)
    ctx = build_context(data, registry=registry, baseline=baseline, catalog=catalog, issued=ISSUED)
    assert ctx["people"]["expected"] == 1.0 and ctx["villages"]["expected"] == 1.0
    assert ctx["people"]["deadline"] == 2017
    assert all(c["expected"] == 1.0 for c in ctx["children"])
    path = render_report(
        data, tmp_path / "红安县.docx", registry=registry, baseline=baseline, catalog=catalog, issued=ISSUED
    )
    import docx

    text = "".join(p.text for p in docx.Document(str(path)).paragraphs)
    assert "按下达的任务分解，到2017年底应累计脱贫100%、贫困村累计出列100%" in text
    assert "按规划到2017年底全部脱贫出列" in text


def test_a_late_county_is_expected_below_the_plans_share(parts):
    registry, catalog, baseline = parts
    data = sample_form_data(LATE, YEAR, registry=registry, baseline=baseline, catalog=catalog)
    ctx = build_context(data, registry=registry, baseline=baseline, catalog=catalog, issued=ISSUED)
    base = baseline.totals(registry, LATE)["poor_people"]
    assert ctx["people"]["expected"] == pytest.approx(
        baseline.tasks(registry).cumulative(LATE, PEOPLE, YEAR) / base
    )
    assert ctx["people"]["expected"] < catalog.cumulative_share(PEOPLE, YEAR)

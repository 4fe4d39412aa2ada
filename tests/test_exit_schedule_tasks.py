"""One schedule for 摘帽: when the tasks move a county's 摘帽 year (the task workbooks' 摘帽 columns,
SCHED_COUNTY_EXIT), its consolidated workbooks and reports follow the tasks, not counties.csv's
``exit_year``; the list's year is only the fallback for a county the tasks give no year."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import docx
import openpyxl
import pytest
from consolidation_inputs import write_filled

from hbreport import paths
from hbreport.baseline import load_baseline
from hbreport.catalog import load_catalog
from hbreport.consolidation.consolidate import consolidate
from hbreport.consolidation.county_exit import SHEET as EXIT_SHEET
from hbreport.registry import load_registry
from hbreport.report import report_from_workbook
from hbreport.tasks import TaskTable, load_unit_tasks

COUNTY, PERIOD = "421122", 2017  # 红安县: the list (counties.csv) plans its 摘帽 for 2017
PREFECTURE, PROVINCE = "421100", "420000"


def moved_tasks(folder: Path) -> Path:
    """The sample's tasks with 红安县's 摘帽 moved from 2017 to 2019 (黄冈市 and the province with it,
    so the tasks still add up)."""
    with paths.SAMPLE_TASKS.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    shift = {(code, "2017"): -1 for code in (COUNTY, PREFECTURE, PROVINCE)}
    shift.update({(code, "2019"): 1 for code in (COUNTY, PREFECTURE, PROVINCE)})
    for row in rows:
        if row["indicator"] == "SCHED_COUNTY_EXIT":
            row["value"] = str(int(row["value"]) + shift.get((row["code"], row["period"]), 0))
    path = folder / "tasks.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def report_text(path: Path) -> str:
    document = docx.Document(str(path))
    rows = ["|".join(c.text for c in row.cells) for t in document.tables for row in t.rows]
    return "\n".join(p.text for p in document.paragraphs) + "\n" + "\n".join(rows)


def exit_rows(path: Path) -> dict[str, list]:
    ws = openpyxl.load_workbook(path, data_only=True)[EXIT_SHEET]
    return {row[0].value: [c.value for c in row] for row in ws.iter_rows() if row[0].value}


def test_the_list_is_the_fallback_when_the_tasks_give_no_year():
    registry, baseline = load_registry(), load_baseline()
    assert baseline.planned_exit(COUNTY, registry) == 2017  # the sample's tasks agree with the list
    bare = baseline.with_tasks(TaskTable())
    assert bare.planned_exit(COUNTY, registry) == 2017 and bare.exit_moved([COUNTY], registry) == []
    assert baseline.planned_exit("420102", registry) is None  # 江岸区 is no poor county


@pytest.mark.slow  # a county consolidated and reported, then carried up to its prefecture
def test_tasks_that_move_a_county_exit_rule_its_workbooks_and_reports(tmp_path):
    registry, catalog = load_registry(), load_catalog()
    baseline = load_baseline()
    table = load_unit_tasks(moved_tasks(tmp_path), registry=registry, baseline=baseline).table
    kw = {"registry": registry, "catalog": catalog, "baseline": baseline.with_tasks(table)}
    assert kw["baseline"].planned_exit(COUNTY, registry) == 2019

    inbox = tmp_path / "county-in"
    inbox.mkdir()
    for town in registry.children(COUNTY):
        write_filled(town.code, PERIOD, inbox, **kw)
    write_filled(COUNTY, PERIOD, inbox, only=("infrastructure",), name=f"本级_{COUNTY}.xlsx", **kw)
    county = consolidate(inbox, COUNTY, PERIOD, tmp_path / "county.xlsx", workers=1, **kw)
    rows = exit_rows(Path(county.output))
    assert rows["计划摘帽年份"][1] == "2019年"
    assert rows["说明"][1] == "摘帽年份按任务分解（贫困县名单为2017年）"
    text = report_text(report_from_workbook(county.output, tmp_path / "county.docx", **kw))
    assert (
        "红安县为国定贫困县，按计划于2019年摘帽。摘帽计划以任务分解为准，红安县的摘帽年份与贫困县名单不同。"
        in text
    )
    assert "按计划应于2017年" not in text

    # one level up: 红安县 is listed with 2019 and not counted among the counties due by 2017
    up = tmp_path / "prefecture-in"
    up.mkdir()
    shutil.copy(county.output, up / Path(county.output).name)
    prefecture = consolidate(up, PREFECTURE, PERIOD, tmp_path / "prefecture.xlsx", workers=1, **kw)
    (carried,) = prefecture.county_exits
    assert carried.planned_year == 2019
    row = exit_rows(Path(prefecture.output))["红安县"]
    assert row[2] == "2019年"
    text = report_text(report_from_workbook(prefecture.output, tmp_path / "prefecture.docx", **kw))
    assert "红安县|2019|未达到" in text
    assert (
        "按摘帽计划，到2017年底应摘帽0个（规划进度0%）。摘帽计划以任务分解为准，红安县的摘帽年份与贫困县名单不同。"
        in text
    )
    assert "贫困县摘帽|1个|0%|0个|" in text  # 表1: the one county reported, none of it due by 2017

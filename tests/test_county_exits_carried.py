"""A poor county's 摘帽 status, judged by its own consolidation from its data, travels up in the
Summary (the hidden ``_summary`` part) to the prefecture and the province: their 贫困县退出 sheet and
their report list which counties met the standard, which did not and which have no data (未报),
against the list's planned years (the schedule, never the achievement). When the county's data
change, its status one and two levels up changes with them."""

from __future__ import annotations

import shutil
from pathlib import Path

import docx
import openpyxl
import pytest
from consolidation_inputs import inputs_for, write_filled

from hbreport.baseline import load_baseline
from hbreport.catalog import load_catalog
from hbreport.consolidation.consolidate import consolidate
from hbreport.consolidation.county_exit import APPLYING, NOT_MET, NOT_REPORTED
from hbreport.consolidation.county_exit import SHEET as EXIT_SHEET
from hbreport.forms import prefill_values
from hbreport.registry import load_registry
from hbreport.report import report_from_workbook
from hbreport.spec import build_workbook_spec
from hbreport.xlsx.writer import write_workbook

COUNTY, PERIOD = "421122", 2017  # 红安县, a poor county the list plans to exit in 2017

pytestmark = pytest.mark.slow  # three county consolidations, each carried up and reported


@pytest.fixture(scope="module")
def kw():
    return {"registry": load_registry(), "catalog": load_catalog(), "baseline": load_baseline()}


def write_done(code: str, folder: Path, kw) -> None:
    """A township that reports nearly every poor person out and every poor village exited."""
    spec = build_workbook_spec(code, PERIOD, **kw)
    prefill = prefill_values(spec, kw["registry"], kw["baseline"])
    values = inputs_for(spec, prefill, kw["catalog"].parameter("provincial_rural_income", PERIOD))
    for cells in values["poverty_progress"].values():
        base = cells["base_people"]
        exited = base // 100
        cells.update(prior_exited_people=base - exited - (exited and 1), exited_people=exited)
        cells.update(exited_households=(exited + 2) // 3, returned_people=0, new_people=0)
    for cells in values["village_exit"].values():
        cells.update(remaining_poor_households=0, collective_income=8, infrastructure_ok="是")
        cells.update(services_ok="是", exited_before="是", apply_exit="否")
        cells["village_income"] = max(cells["village_income"], 20000)
    write_workbook(spec, folder / spec.file_name(), values=values)


def county_workbook(root: Path, name: str, kind: str, kw) -> Path:
    """红安县's consolidated workbook: ``kind`` partial (3 townships missing), sample (all in, the
    sample's figures) or done (all in, nearly every poor person and village out)."""
    inbox = root / name
    inbox.mkdir()
    towns = kw["registry"].children(COUNTY)
    for i, town in enumerate(towns):
        if kind == "partial" and i < 3:
            continue
        if kind == "done":
            write_done(town.code, inbox, kw)
        else:
            write_filled(town.code, PERIOD, inbox, **kw)
    write_filled(COUNTY, PERIOD, inbox, only=("infrastructure",), name=f"本级_{COUNTY}.xlsx", **kw)
    summary = consolidate(inbox, COUNTY, PERIOD, root / f"{name}.xlsx", workers=1, **kw)
    return Path(summary.output)


def carried_up(root: Path, name: str, child: Path, parent: str, kw):
    """``child`` consolidated by ``parent`` (alone of its children), and the parent's report."""
    inbox = root / f"{name}-in"
    inbox.mkdir()
    shutil.copy(child, inbox / child.name)
    summary = consolidate(inbox, parent, PERIOD, root / f"{name}.xlsx", workers=1, **kw)
    report = report_from_workbook(summary.output, root / f"{name}.docx", **kw)
    return summary, report


def sheet_row(path: Path, county: str) -> list:
    ws = openpyxl.load_workbook(path, data_only=True)[EXIT_SHEET]
    return next([c.value for c in row] for row in ws.iter_rows() if row[0].value == county)


def report_text(path: Path) -> tuple[str, list[str]]:
    document = docx.Document(str(path))
    body = "\n".join(p.text for p in document.paragraphs)
    rows = ["|".join(c.text for c in row.cells) for t in document.tables for row in t.rows]
    return body, rows


def test_a_county_exit_status_changes_one_and_two_levels_up_when_its_data_change(tmp_path, kw):
    registry = kw["registry"]
    prefecture = registry.reporting_parent(COUNTY).code
    province = registry.reporting_parent(prefecture).code
    code = registry.get(COUNTY).code
    seen = {}
    for kind, status in (("partial", NOT_REPORTED), ("sample", NOT_MET), ("done", APPLYING)):
        county = county_workbook(tmp_path, f"county-{kind}", kind, kw)
        summary, report = carried_up(tmp_path, f"prefecture-{kind}", county, prefecture, kw)
        # the prefecture's Summary carries the county's own judgement, and its sheet shows it
        (carried,) = [e for e in summary.county_exits if e.code == code]
        assert carried.status == status and carried.planned_year == 2017
        row = sheet_row(Path(summary.output), "红安县")
        assert row[2] == "2017年" and row[3] == status
        # the other poor counties of 黄冈市 sent nothing: 未报, whatever the list plans for them
        others = [e for e in summary.county_exits if e.code != code]
        assert not others
        assert sheet_row(Path(summary.output), "团风县")[3] == NOT_REPORTED
        body, rows = report_text(report)
        seen[kind] = (body, rows)
        assert "红安县|2017|" + status in "\n".join(rows)
        assert "名单所列年份只是计划，不代表已经摘帽" in body

    body, _ = seen["partial"]
    assert "没有数据或数据不全（未报）的6个（红安县、团风县" in body
    assert "达到标准的0个；" in body
    body, rows = seen["sample"]
    assert "未达到的1个（红安县：贫困发生率" in body
    assert any(r.startswith("红安县|2017|未达到|贫困发生率") for r in rows)
    # 表1 rests on the one county that reported: its poor county, due this year, judged not met
    assert "贫困县摘帽|1个|100%|1个|达标0个|—|—" in rows
    body, _ = seen["done"]
    assert "达到标准的1个（红安县，其中本年申请摘帽1个）" in body
    assert "到2017年底应摘帽的1个中，达到标准1个、未达到0个、未报0个。" in body
    _, rows = seen["partial"]  # no county with data: the headline says so, no count of 0
    assert any(r.startswith("贫困县摘帽|") and "未报送" in r for r in rows)

    # two levels up: the province carries the status its prefecture carried
    summary, report = carried_up(tmp_path, "province", Path(tmp_path / "prefecture-done.xlsx"), province, kw)
    assert {e.code: e.status for e in summary.county_exits} == {code: APPLYING}
    assert sheet_row(Path(summary.output), "红安县")[3] == APPLYING
    body, rows = report_text(report)
    assert "达到标准的1个（红安县，其中本年申请摘帽1个）" in body
    assert "没有数据或数据不全（未报）的36个" in body

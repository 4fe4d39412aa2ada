"""The model: data values with status, the Dataset's pivots, and the consolidation Summary written into
the consolidated workbook as a hidden machine-readable part and read back from it (never from the
Chinese 下级明细 / 汇总校验 sheets)."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from consolidation_inputs import write_filled

from hbreport.baseline import load_baseline
from hbreport.catalog import load_catalog
from hbreport.consolidation.consolidate import consolidate
from hbreport.model import Dataset, Summary
from hbreport.model.dataset import DERIVED, NOT_REPORTED, REPORTED
from hbreport.registry import load_registry
from hbreport.xlsx.layout import SUMMARY_SHEET
from hbreport.xlsx.reader import read_workbook

PERIOD = 2017
COUNTY = "420702"  # 梁子湖区
PP = "poverty_progress"


@pytest.fixture(scope="module")
def ctx():
    return {"registry": load_registry(), "catalog": load_catalog(), "baseline": load_baseline()}


@pytest.fixture(scope="module")
def county(tmp_path_factory, ctx):
    """梁子湖区 consolidated from all its townships but the first."""
    root = tmp_path_factory.mktemp("model")
    inbox = root / "收到的报表"
    inbox.mkdir()
    towns = ctx["registry"].children(COUNTY)
    for town in towns[1:]:
        write_filled(town.code, PERIOD, inbox, **ctx)
    summary = consolidate(inbox, COUNTY, PERIOD, root / "out" / "梁子湖区.xlsx", workers=1, **ctx)
    return {"root": root, "summary": summary, "late": towns[0], "towns": towns}


def test_the_summary_is_read_back_from_the_hidden_part_as_it_was(county, ctx):
    summary: Summary = county["summary"]
    result = read_workbook(summary.output, **ctx)
    back = result.summary
    assert back is not None and result.consolidated
    assert back.to_part() == summary.to_part()
    assert [c.code for c in back.missing] == [county["late"].code]
    assert back.levels == summary.levels and back.completeness == summary.completeness
    assert [(Path(f).name, s) for f, s in summary.inputs] == back.inputs
    # the part keeps file names, not where the inputs lay: the same inputs give the same bytes
    assert str(county["root"]) not in summary.to_part()
    book = openpyxl.load_workbook(summary.output)
    assert book[SUMMARY_SHEET].sheet_state == "veryHidden"


def test_a_damaged_part_is_a_warning_not_a_guess_from_the_sheets(county, ctx, tmp_path):
    book = openpyxl.load_workbook(county["summary"].output)
    book[SUMMARY_SHEET]["A1"] = '{"format": "hbreport.summary", "version": 99}'
    damaged = tmp_path / "damaged.xlsx"
    book.save(damaged)
    result = read_workbook(damaged, **ctx)
    assert result.summary is None and result.consolidated
    warning = [f for f in result.findings if f.sheet == SUMMARY_SHEET]
    assert len(warning) == 1 and warning[0].importance == "warning" and "99" in warning[0].message


def test_dataset_statuses_and_pivots(county, ctx):
    summary = county["summary"]
    result = read_workbook(summary.output, **ctx)
    data = Dataset.from_form_data(result.data, row_status=result.summary.row_statuses())
    late, present = county["late"].code, county["towns"][1].code
    sheet = result.spec.sheet(PP)
    late_values = data.only(form=PP, row=late)
    assert {v.status for v in late_values} == {NOT_REPORTED}
    assert all(v.value is None for v in late_values if sheet.column(v.field).role == "input")
    derived = {c.key for c in sheet.derived_columns}
    assert {v.status for v in data.only(form=PP, row=present)} == {REPORTED, DERIVED}
    assert {v.field for v in data.only(form=PP, row=present, status=DERIVED)} == derived
    # pivot to the form's rows: the values the workbook holds, derived recomputed the same
    assert data.rows(PP)[present] == {
        k: (None if v == "" else v) for k, v in result.data.rows[PP][present].items()
    }
    again = data.to_form_data(result.spec)
    assert again.totals == result.data.totals
    frame = data.to_frame()
    assert len(frame) == len(data) and list(frame.columns)[:6] == [
        "unit",
        "period",
        "form",
        "row",
        "field",
        "value",
    ]
    assert set(frame["unit"]) == {result.spec.unit_code} and (frame["sha256"] == result.sha256).all()

"""The report's 数据质量 section: warnings a reporting unit explained counted apart from open ones,
their explanations quoted, and the children's timeliness (按时 / 逾期 / 未报)."""

from __future__ import annotations

import datetime as dt
import os

import docx
import openpyxl
import pytest
from test_explanations import WHY, _explained_township
from test_verification import COUNTY as VERIFIED_COUNTY
from test_verification import _forms, _rows
from test_verification import sources as verify_sources

from hbreport.cli import run
from hbreport.consolidation.consolidate import consolidate
from hbreport.report import report_from_workbook
from hbreport.timeliness import BEIJING

COUNTY, PERIOD = "420702", 2017  # 梁子湖区


def _text(path) -> str:
    document = docx.Document(str(path))
    return "\n".join(p.text for p in document.paragraphs)


@pytest.mark.slow
def test_quality_section_explained_warnings_and_timeliness(tmp_path, registry, catalog, baseline):
    inbox = tmp_path / "inbox"
    path, _, _ = _explained_township(inbox, registry, catalog, baseline)
    late = dt.datetime(2018, 1, 12, 8, 15, tzinfo=BEIJING)
    os.utime(path, (late.timestamp(), late.timestamp()))
    others = [p for p in inbox.glob("*.xlsx") if p != path]
    on_time = dt.datetime(2018, 1, 8, 10, 0, tzinfo=BEIJING)
    for p in others[1:]:
        os.utime(p, (on_time.timestamp(), on_time.timestamp()))
    others[0].unlink()  # one township did not report
    out = tmp_path / "county.xlsx"
    summary = consolidate(inbox, COUNTY, PERIOD, out, registry=registry, catalog=catalog, baseline=baseline)
    late_name = next(c.name for c in summary.children if path.name in c.files)
    doc = report_from_workbook(
        out, tmp_path / "report.docx", registry=registry, catalog=catalog, baseline=baseline
    )
    text = _text(doc)
    assert "报送截止日期为2018年1月10日" in text
    assert f"按时报送{len(others) - 1}个，逾期1个（{late_name}2018-01-12 08:15），未报1个" in text
    assert "另有1条警告填报单位已说明原因" in text
    assert WHY[:20] in text  # the clerk's words, quoted


sources = verify_sources  # the household store and townships of tests/test_verification.py


@pytest.mark.slow
def test_report_with_the_verification_workbook_says_verified_status(
    sources,
    tmp_path,
    registry,
    catalog,
    baseline,  # noqa: F811 (the fixture above)
):
    """`report --verification`: the 出列与摘帽 section counts 申报 / 验收通过 / 未通过 / 未验收."""
    _, inbox, _, _ = sources
    out = tmp_path / "county.xlsx"
    consolidate(inbox, VERIFIED_COUNTY, PERIOD, out, registry=registry, catalog=catalog, baseline=baseline)
    path = _forms(sources, tmp_path / "verify", "--share", "0.5", "--seed", "11")
    wb = openpyxl.load_workbook(path)
    ws = wb["01贫困户验收"]
    n = len(_rows(ws))
    first = 9
    for step in range(8):
        ws.cell(first, 3 + step, f"2017-11-{10 + step}")
    ws.cell(first, 11, "有")
    ws.cell(first, 12, "有")
    ws.cell(first, 14, "通过")
    ws.cell(first + 1, 14, "未通过")
    filled = tmp_path / "filled.xlsx"
    wb.save(filled)
    docx_path = tmp_path / "report.docx"
    args = ["report", str(out), "--out", str(docx_path), "--verification", str(filled)]
    assert run(args) == 0
    text = _text(docx_path)
    assert f"据2017年脱贫验收工作簿：贫困户申报{n}户，验收通过1户、未通过1户、未验收{n - 2}户" in text
    plain = tmp_path / "plain.docx"
    assert run(["report", str(out), "--out", str(plain)]) == 0
    assert "脱贫验收工作簿" not in _text(plain)

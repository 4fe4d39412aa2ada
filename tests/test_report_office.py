"""The report's 数据质量 section: warnings a reporting unit explained counted apart from open ones,
their explanations quoted, and the children's timeliness (按时 / 逾期 / 未报)."""

from __future__ import annotations

import datetime as dt
import os

import docx
from test_explanations import WHY, _explained_township

from hbreport.consolidate import consolidate
from hbreport.report import report_from_workbook
from hbreport.timeliness import BEIJING

COUNTY, PERIOD = "420702", 2017  # 梁子湖区


def _text(path) -> str:
    document = docx.Document(str(path))
    return "\n".join(p.text for p in document.paragraphs)


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

"""`hbreport demo` end to end on the embedded sample: the main job, through the real CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from docx import Document

from hbreport.registry import load_registry
from hbreport.xlsx.reader import read_workbook

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, dict, subprocess.CompletedProcess]:
    out = tmp_path_factory.mktemp("demo") / "run"
    done = subprocess.run(
        [sys.executable, "-m", "hbreport.cli", "demo", "--out", str(out), "--json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    payload = json.loads(done.stdout) if done.returncode == 0 else {}
    return out, payload, done


def test_demo_exits_zero_without_traceback(demo):
    _out, payload, done = demo
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert payload["periods"] == [2016, 2017, 2018, 2019]


def test_demo_plants_and_reports_the_usual_mistakes(demo):
    _out, payload, _done = demo
    assert payload["missing"], "a township that did not report"
    assert payload["duplicates"], "a duplicate submission"
    assert payload["returned"], "townships returned for errors"
    assert payload["findings"]["error"] > 0 and payload["findings"]["warning"] > 0
    assert payload["annotated_copies"] > 0


def test_demo_chain_reaches_the_plan_in_2019(demo):
    out, payload, _done = demo
    rates = payload["cum_exit_rate"]["by_year"]
    assert float(rates["2019"]) == pytest.approx(1.0)
    assert float(rates["2016"]) < float(rates["2017"]) < float(rates["2018"]) < 1.0
    registry = load_registry()
    province = out / "2019" / "省级汇总" / "420000_湖北省_2019.xlsx"
    result = read_workbook(province, registry=registry)
    assert result.data.spec.unit_code == "420000000000"
    prefecture = result.data.rows["poverty_progress"]["421200000000"]
    assert prefecture["cum_exit_rate"] == pytest.approx(1.0)


def test_demo_writes_every_output(demo):
    out, payload, _done = demo
    for year in payload["periods"]:
        towns = list((out / str(year) / "乡镇报表").rglob("*.xlsx"))
        assert len(towns) >= 60
        assert (out / str(year) / "市州汇总" / f"421200_咸宁市_{year}.xlsx").exists()
        assert list((out / str(year) / "退回").rglob("*.xlsx"))
    reports = sorted((out / "报告").glob("*.docx"))
    assert len(reports) == len(payload["reports"]) == 8  # province, 咸宁市, its six counties
    text = "\n".join(
        p.text for p in Document(str(out / "报告" / "咸宁市2019年脱贫攻坚进展情况报告.docx")).paragraphs
    )
    assert "咸宁市" in text and "2019年" in text


def test_demo_province_report_says_on_page_1_how_many_prefectures_reported(demo, tmp_path):
    """One prefecture of 17 is consolidated: page 1 says so and judges neither the province as a whole
    nor a 贫困县摘帽 it has no data for."""
    import re
    import shutil

    out, _payload, _done = demo
    (province,) = sorted((out / "报告").glob("湖北省*.docx"))
    opening = next(p.text for p in Document(str(province)).paragraphs if p.text.startswith("按照"))
    assert "根据已报送的1个（共17个）市州汇总" in opening and "不对湖北省总体进度作出判断" in opening
    if shutil.which("soffice") is None and shutil.which("libreoffice") is None:
        return
    from hbreport.office import pdf_text
    from hbreport.report import docx_to_pdf

    page1 = re.sub(r"\s+", "", pdf_text(docx_to_pdf(province, tmp_path)).split("\f")[0])
    assert "根据已报送的1个（共17个）市州汇总" in page1
    assert not re.search(r"总体进度(超前|正常|滞后)", page1)

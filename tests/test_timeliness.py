"""Timeliness: each child's 报送时间 and 按时 / 逾期 / 未报 against the deadline, in 下级明细, the
consolidation's JSON and summary."""

from __future__ import annotations

import datetime as dt
import json
import os

import openpyxl
import pytest

from hbreport.cli import run
from hbreport.consolidation.consolidate import consolidate
from hbreport.timeliness import BEIJING
from hbreport.xlsx.layout import CHECK_SHEET, DETAIL_SHEET

COUNTY, PERIOD = "420702", 2017  # 梁子湖区


def _stamp(path, when: dt.datetime) -> None:
    os.utime(path, (when.timestamp(), when.timestamp()))


def _detail(out) -> dict[str, dict]:
    rows = list(openpyxl.load_workbook(out)[DETAIL_SHEET].iter_rows(values_only=True))
    head = rows[0]
    return {str(r[0]): dict(zip(head, r, strict=True)) for r in rows[1:]}


@pytest.mark.slow
def test_late_on_time_and_missing_against_the_deadline(inbox_copy, tmp_path, registry, catalog, baseline):
    files = sorted(inbox_copy.glob("*.xlsx"))
    late, gone, on_time = files[0], files[1], files[2:]
    _stamp(late, dt.datetime(2018, 1, 11, 9, 30, tzinfo=BEIJING))  # the day after 1月10日
    for f in on_time:
        _stamp(f, dt.datetime(2018, 1, 10, 23, 0, tzinfo=BEIJING))  # the deadline day itself is on time
    gone.unlink()
    out = tmp_path / "county.xlsx"
    summary = consolidate(
        inbox_copy, COUNTY, PERIOD, out, registry=registry, catalog=catalog, baseline=baseline
    )

    assert summary.deadline == dt.date(2018, 1, 10)  # the catalog's reporting_due
    detail = _detail(out)
    assert detail[late.name[:9]]["按时报送"] == "逾期"
    assert detail[late.name[:9]]["报送时间"] == "2018-01-11 09:30"
    assert detail[gone.name[:9]]["按时报送"] == "未报" and detail[gone.name[:9]]["报送时间"] in ("", None)
    assert {detail[f.name[:9]]["按时报送"] for f in on_time} == {"按时"}
    check = {r[0]: r[1] for r in openpyxl.load_workbook(out)[CHECK_SHEET].iter_rows(values_only=True) if r}
    assert check["报送截止日期"] == "2018-01-10"
    assert (check["按时单位数"], check["逾期单位数"], check["未报单位数"]) == (len(on_time), 1, 1)
    assert check["报送时间取自"] == "文件的修改时间"
    assert "逾期 1 个" in summary.render() and "2018-01-11 09:30" in summary.render()
    assert summary.to_dict()["timeliness"] == {"按时": len(on_time), "逾期": 1, "未报": 1}


def test_deadline_option_and_json(inbox_copy, tmp_path, capsys):
    first = sorted(inbox_copy.glob("*.xlsx"))[0]
    for f in inbox_copy.glob("*.xlsx"):
        _stamp(f, dt.datetime(2018, 1, 5, 12, 0, tzinfo=BEIJING))
    _stamp(first, dt.datetime(2018, 1, 3, 12, 0, tzinfo=BEIJING))
    out = tmp_path / "county.xlsx"
    capsys.readouterr()
    code = run(
        ["consolidate", str(inbox_copy), "--parent", COUNTY, "--period", str(PERIOD), "--out", str(out)]
        + ["--deadline", "2018年1月4日", "--json"]
    )
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["deadline"] == "2018-01-04"
    by_code = {c["code"][:9]: c for c in data["children"]}
    assert by_code[first.name[:9]]["timeliness"] == "按时"
    assert by_code[first.name[:9]]["received_from"] == "mtime"
    assert data["timeliness"]["逾期"] == len(by_code) - 1


@pytest.mark.slow
def test_the_store_first_sight_counts_when_earlier_than_the_mtime(
    inbox_copy, tmp_path, registry, catalog, baseline
):
    """A file re-saved after the store kept it (a later mtime) still counts from when it was first received."""
    store = tmp_path / "store.sqlite"
    first = sorted(inbox_copy.glob("*.xlsx"))[0]
    args = dict(registry=registry, catalog=catalog, baseline=baseline, store=store)
    before = consolidate(inbox_copy, COUNTY, PERIOD, tmp_path / "a.xlsx", **args)
    child = next(c for c in before.children if first.name in c.files)
    assert child.received_from == "mtime"
    later = dt.datetime.now(BEIJING) + dt.timedelta(days=400)  # touched long after the store kept it
    _stamp(first, later)
    deadline = (later - dt.timedelta(days=1)).date()
    after = consolidate(inbox_copy, COUNTY, PERIOD, tmp_path / "b.xlsx", deadline=deadline, **args)
    child = next(c for c in after.children if first.name in c.files)
    assert child.received_from == "store" and child.timeliness == "按时"
    assert child.received_at < later.strftime("%Y-%m-%d %H:%M")
    assert "数据库首次收到该文件" in _detail_sources(tmp_path / "b.xlsx")


def _detail_sources(out) -> str:
    rows = openpyxl.load_workbook(out)[CHECK_SHEET].iter_rows(values_only=True)
    return next(r[1] for r in rows if r and r[0] == "报送时间取自")

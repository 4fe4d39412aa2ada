"""Approval: `hbreport approve` records who approved which file (by sha256); `consolidate
--require-approved` returns a child whose file was never approved or changed after approval."""

from __future__ import annotations

import json

import openpyxl

from hbreport.cli import run

COUNTY, PERIOD = "420702", 2017  # 梁子湖区


def test_approved_then_changed_is_returned(inbox_copy, tmp_path, capsys):
    store = tmp_path / "store.sqlite"
    files = sorted(inbox_copy.glob("*.xlsx"))
    for f in files:
        assert run(["approve", str(f), "--by", "李审核", "--note", "已核对", "--store", str(store)]) == 0
    changed = files[0]
    wb = openpyxl.load_workbook(changed)
    wb.properties.keywords = "改过"  # any change of the bytes after approval
    wb.save(changed)
    out = tmp_path / "county.xlsx"
    capsys.readouterr()
    args = ["consolidate", str(inbox_copy), "--parent", COUNTY, "--period", str(PERIOD), "--out", str(out)]
    run([*args, "--store", str(store), "--require-approved", "--json"])
    data = json.loads(capsys.readouterr().out)
    returned = {c["file"] for c in data["returned"]}
    assert returned == {changed.name}
    by_file = {c["files"][0]: c for c in data["children"] if c["files"]}
    assert by_file[changed.name]["status"] == "退回" and "未经审核" in by_file[changed.name]["note"]
    assert {by_file[f.name]["status"] for f in files[1:]} == {"已报"}
    reasons = [f for f in data["findings"] if f["rule"] == "审核"]
    assert len(reasons) == 1 and changed.name in reasons[0]["message"]

    # without the flag the same folder is consolidated whole
    run([*args, "--store", str(tmp_path / "other.sqlite"), "--json", "--force"])
    assert json.loads(capsys.readouterr().out)["returned"] == []

    assert run(["history", changed.name[:9], "--period", str(PERIOD), "--store", str(store)]) == 0
    text = capsys.readouterr().out
    assert "李审核 审核了" in text and changed.name in text and "已核对" in text

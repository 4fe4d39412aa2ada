"""Approval: `hbreport approve` writes an approved copy whose identity (_meta) carries the stamp —
approver, time, note, digest of the data values — and records both files (by sha256) in the store;
`consolidate --require-approved` accepts a child the store knows as approved or whose stamp holds for
its values, and returns (退回) one never approved or changed after approval, saying why."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import openpyxl
import pytest
from docx import Document

from hbreport.cli import run
from hbreport.spec import build_workbook_spec
from hbreport.xlsx.layout import DETAIL_SHEET, SheetLayout
from hbreport.xlsx.reader import read_workbook

COUNTY, PERIOD = "420702", 2017  # 梁子湖区
BY, NOTE = "李审核", "已电话核实"


def _consolidate(folder: Path, out: Path, store: Path, capsys, *extra: str) -> dict:
    capsys.readouterr()
    args = ["consolidate", str(folder), "--parent", COUNTY, "--period", str(PERIOD), "--out", str(out)]
    run([*args, "--store", str(store), "--json", *extra])
    return json.loads(capsys.readouterr().out)


def _detail(out: Path) -> dict[str, dict]:
    rows = list(openpyxl.load_workbook(out)[DETAIL_SHEET].iter_rows(values_only=True))
    return {str(r[0]): dict(zip(rows[0], r, strict=True)) for r in rows[1:]}


def _meta_rows(path: Path) -> dict[str, str]:
    ws = openpyxl.load_workbook(path)["_meta"]
    return {
        str(a): str(b) for a, b, *_ in ws.iter_rows(values_only=True) if a and str(a).startswith("approval.")
    }


def _approve_into(files: list[Path], folder: Path, store: Path) -> list[Path]:
    """The township's approvals: each file approved, its approved copy written into ``folder``."""
    folder.mkdir(exist_ok=True)
    copies = []
    for f in files:
        copy = folder / f.name
        args = ["approve", str(f), "--by", BY, "--note", NOTE, "--out", str(copy), "--store", str(store)]
        assert run(args) == 0
        copies.append(copy)
    return copies


def _change_one_cell(path: Path, registry, catalog, baseline) -> str:
    """One input cell of form 01 changed with openpyxl (its first village's 本年脱贫人口 - 1); its place."""
    code = read_workbook(path, registry=registry).data.unit_code
    spec = build_workbook_spec(code, PERIOD, registry=registry, catalog=catalog, baseline=baseline)
    sheet = spec.sheets[0]
    layout = SheetLayout(sheet)
    ref = layout.cell(sheet.rows[0].code, "exited_people")
    wb = openpyxl.load_workbook(path)
    ws = wb[sheet.sheet]
    ws[ref] = (ws[ref].value or 0) - 1
    wb.save(path)
    return f"{sheet.sheet}!{ref}"


def test_approve_writes_a_stamped_copy_and_leaves_the_input(inbox_copy, tmp_path, capsys):
    original = sorted(inbox_copy.glob("*.xlsx"))[0]
    before = original.read_bytes()
    assert run(["approve", str(original), "--by", BY, "--note", NOTE, "--json"]) == 0
    done = json.loads(capsys.readouterr().out)

    assert original.read_bytes() == before  # the input, byte for byte
    copy = original.with_name(f"{original.stem}（已审核）.xlsx")
    assert Path(done["copy"]) == copy and copy.is_file()
    stamp = _meta_rows(copy)  # read by another reader than ours
    assert stamp["approval.by"] == BY and stamp["approval.note"] == NOTE
    assert stamp["approval.digest"].startswith("values-sha256-1:") and stamp["approval.at"] == done["at"]
    read = read_workbook(copy)
    assert read.stamp is not None and read.stamp.valid and read.stamp.by == BY
    assert read.data.rows == read_workbook(original).data.rows  # the copy holds the same values
    assert read_workbook(original).stamp is None

    # the store beside the input knows both files
    assert Path(done["store"]) == original.parent / "hbreport.sqlite"
    assert run(["history", original.name[:9], "--period", str(PERIOD), "--store", done["store"]]) == 0
    text = capsys.readouterr().out
    assert original.name in text and copy.name in text and BY in text and NOTE in text

    # an existing approved copy is not overwritten without --force; the input never is
    assert run(["approve", str(original), "--by", BY]) == 2
    assert "已存在" in capsys.readouterr().err
    assert run(["approve", str(original), "--by", BY, "--out", str(original), "--force"]) == 2
    assert original.read_bytes() == before
    assert run(["approve", str(original), "--by", "王复核", "--force"]) == 0
    assert read_workbook(copy).stamp.by == "王复核"


def test_stamped_copies_are_accepted_on_another_store(inbox_copy, tmp_path, capsys):
    county_inbox = _approve_into(
        sorted(inbox_copy.glob("*.xlsx")), tmp_path / "county", tmp_path / "town.sqlite"
    )
    fresh = tmp_path / "county.sqlite"  # the county's machine: it never saw the approvals
    out = tmp_path / "out" / "county.xlsx"
    data = _consolidate(tmp_path / "county", out, fresh, capsys, "--require-approved")
    assert data["returned"] == [] and len(data["received"]) == len(county_inbox)
    assert {(c["approval"], c["approved_by"]) for c in data["children"]} == {("已审核", BY)}
    capsys.readouterr()
    run(
        [
            "consolidate",
            str(tmp_path / "county"),
            "--parent",
            COUNTY,
            "--period",
            str(PERIOD),
            "--out",
            str(out),
            "--force",
        ]
    )
    assert f"审核：{len(county_inbox)} 个单位的报表已审核。" in capsys.readouterr().out
    assert {d["审核"] for d in _detail(out).values()} == {f"已审核（{BY}）"}

    # the county's store now holds the approvals that came inside the files
    code = county_inbox[0].name[:9]
    assert run(["history", code, "--period", str(PERIOD), "--store", str(fresh)]) == 0
    text = capsys.readouterr().out
    assert f"{BY} 审核了 {county_inbox[0].name}" in text and "据文件内的审核标记" in text


def test_a_stamped_copy_changed_after_approval_is_returned(
    inbox_copy, tmp_path, capsys, registry, catalog, baseline
):
    copies = _approve_into(sorted(inbox_copy.glob("*.xlsx")), tmp_path / "county", tmp_path / "town.sqlite")
    changed = copies[1]
    _change_one_cell(changed, registry, catalog, baseline)
    assert read_workbook(changed).stamp.valid is False

    out = tmp_path / "out" / "county.xlsx"
    data = _consolidate(tmp_path / "county", out, tmp_path / "county.sqlite", capsys, "--require-approved")
    assert {c["file"] for c in data["returned"]} == {changed.name}
    reasons = [f for f in data["findings"] if f["rule"] == "审核"]
    assert len(reasons) == 1
    message = reasons[0]["message"]
    assert "审核后被改动" in message and BY in message and changed.name in message
    assert read_workbook(copies[0]).stamp.at.replace("T", " ")[:16] in message  # when it was approved
    detail = _detail(out)[changed.name[:9]]
    assert detail["状态"] == "退回" and detail["审核"] == "审核后被改动" and "审核后被改动" in detail["说明"]

    # check says it too, per file
    capsys.readouterr()
    run(["check", str(tmp_path / "county")])
    text = capsys.readouterr().out
    assert f"审核后被改动（{BY}" in text and f"已审核（{BY}" in text
    run(["check", str(tmp_path / "county"), "--json"])
    stamps = {Path(a["file"]).name: a for a in json.loads(capsys.readouterr().out)["approvals"]}
    assert len(stamps) == len(copies) and stamps[changed.name]["valid"] is False
    assert all(a["valid"] and a["by"] == BY for name, a in stamps.items() if name != changed.name)

    # without --require-approved it is consolidated, its 审核 still saying what happened
    data = _consolidate(tmp_path / "county", out, tmp_path / "other.sqlite", capsys, "--force")
    assert data["returned"] == []
    assert _detail(out)[changed.name[:9]]["审核"] == "审核后被改动"

    # and the report's 数据质量 section says who approved which return
    docx = tmp_path / "report.docx"
    assert run(["report", str(out), "--out", str(docx)]) == 0
    text = "".join(p.text for p in Document(str(docx)).paragraphs)
    names = {c["code"][:9]: c["name"] for c in data["children"]}
    others = [names[c.name[:9]] for c in copies if c != changed]
    assert f"报送的{len(copies)}个乡镇报表中，已审核{len(others)}个" in text
    assert all(f"{name}由{BY}审核" in text for name in others)
    assert f"审核后数据被改动、审核已失效的1个：{names[changed.name[:9]]}" in text


def test_approved_then_changed_bytes_is_returned_by_the_store(inbox_copy, tmp_path, capsys):
    """The store's rule alone: a file approved (copies elsewhere) then saved again is not approved."""
    store = tmp_path / "store.sqlite"
    files = sorted(inbox_copy.glob("*.xlsx"))
    _approve_into(files, tmp_path / "approved", store)
    changed = files[0]
    wb = openpyxl.load_workbook(changed)
    wb.properties.keywords = "改过"  # any change of the bytes after approval
    wb.save(changed)
    out = tmp_path / "county.xlsx"
    data = _consolidate(inbox_copy, out, store, capsys, "--require-approved")
    assert {c["file"] for c in data["returned"]} == {changed.name}
    by_file = {c["files"][0]: c for c in data["children"] if c["files"]}
    assert by_file[changed.name]["status"] == "退回" and "未经审核" in by_file[changed.name]["note"]
    assert {by_file[f.name]["status"] for f in files[1:]} == {"已报"}
    reasons = [f for f in data["findings"] if f["rule"] == "审核"]
    assert len(reasons) == 1 and changed.name in reasons[0]["message"]

    # without the flag the same folder is consolidated whole
    data = _consolidate(inbox_copy, out, tmp_path / "other.sqlite", capsys, "--force")
    assert data["returned"] == []


def test_an_original_beside_its_approved_copy_gives_the_copy(inbox_copy, tmp_path, capsys):
    """Approving in the folder of received files leaves original and approved copy side by side: the
    copy is used, the original is named as such (not two differing files of one unit)."""
    original = sorted(inbox_copy.glob("*.xlsx"))[0]
    assert run(["approve", str(original), "--by", BY]) == 0
    data = _consolidate(inbox_copy, tmp_path / "county.xlsx", tmp_path / "c.sqlite", capsys)
    used = {c["code"][:9]: c for c in data["children"]}[original.name[:9]]
    assert used["status"] == "已报" and used["files"] == [f"{original.stem}（已审核）.xlsx"]
    assert data["duplicates"] == []  # not two submissions of one unit
    assert [f["rule"] for f in data["findings"] if (f["file"] or "").endswith(original.name)] == ["原件"]
    # the store approve kept beside the files is not said to be an unread file
    assert not any("hbreport.sqlite" in f["message"] for f in data["findings"])


@pytest.mark.libreoffice
def test_a_libreoffice_resaved_stamped_copy_keeps_its_approval(
    inbox_copy, tmp_path, capsys, registry, catalog, baseline
):
    from hbreport.office import convert

    copies = _approve_into(
        sorted(inbox_copy.glob("*.xlsx"))[:2], tmp_path / "approved", tmp_path / "t.sqlite"
    )
    county = tmp_path / "county"
    county.mkdir()
    for copy in copies:  # opened and saved in LibreOffice, as a county clerk might
        shutil.move(convert(copy, "xlsx", tmp_path / "lo" / copy.stem), county / copy.name)
    for f in county.iterdir():
        assert _meta_rows(f)["approval.by"] == BY  # the identity survived the round trip
        assert read_workbook(f).stamp.valid
    data = _consolidate(
        county, tmp_path / "out" / "c.xlsx", tmp_path / "c.sqlite", capsys, "--require-approved"
    )
    assert data["returned"] == [] and len(data["received"]) == 2

    changed = sorted(county.iterdir())[0]
    _change_one_cell(changed, registry, catalog, baseline)
    data = _consolidate(
        county, tmp_path / "out" / "c.xlsx", tmp_path / "c2.sqlite", capsys, "--require-approved", "--force"
    )
    assert {c["file"] for c in data["returned"]} == {changed.name}
    assert any(
        "审核后被改动" in f["message"] and BY in f["message"] for f in data["findings"] if f["rule"] == "审核"
    )


def test_every_command_finds_the_store_beside_its_file(county_inbox, tmp_path, capsys, monkeypatch):
    """One rule for the store: hbreport.sqlite beside the consolidated workbook (consolidate), beside the
    file approved (approve), beside the output asked for (export and report without a workbook), and in
    the current folder for history — the consolidated workbook's folder."""
    county = tmp_path / "county"
    out = county / "梁子湖区_2017.xlsx"
    args = ["consolidate", str(county_inbox), "--parent", COUNTY, "--period", str(PERIOD), "--out", str(out)]
    assert run(args) == 0
    assert (county / "hbreport.sqlite").is_file()

    assert run(["export", "--out", str(county / "values.csv"), "--period", str(PERIOD)]) == 0
    lines = (county / "values.csv").read_text(encoding="utf-8-sig").splitlines()
    assert len(lines) > 100 and any("420702" in line for line in lines[1:])
    docx = county / "report.docx"
    assert run(["report", "--unit", COUNTY, "--period", str(PERIOD), "--out", str(docx)]) == 0
    assert "梁子湖区" in "".join(p.text for p in Document(str(docx)).paragraphs)
    monkeypatch.chdir(county)
    capsys.readouterr()
    assert run(["history", sorted(county_inbox.glob("*.xlsx"))[0].name[:9], "--period", str(PERIOD)]) == 0
    assert "第1版" in capsys.readouterr().out

    elsewhere = tmp_path / "elsewhere"
    assert run(["export", "--out", str(elsewhere / "values.csv")]) == 2
    assert f"输出文件旁没有数据库「{elsewhere / 'hbreport.sqlite'}」" in capsys.readouterr().err

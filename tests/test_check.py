"""Checking a batch of returned workbooks, and the annotated copy sent back to a clerk."""

from __future__ import annotations

import json
import os
from types import SimpleNamespace

import openpyxl
import pytest
import readback as rb

from hbreport.checks.check import check_files, exit_code, findings_to_json, render_findings
from hbreport.errors import EXIT_FINDINGS, EXIT_OK, HBError
from hbreport.xlsx.annotate import ISSUES_SHEET, annotate_copy
from hbreport.xlsx.layout import SheetLayout
from hbreport.xlsx.reader import read_workbook

PP = "poverty_progress"


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """A clean township file, one with a text value and a rule error, one without _meta, one not a workbook."""
    folder = tmp_path_factory.mktemp("batch")
    spec = rb.spec_of(rb.TOWNSHIP)
    blank = rb.generate(rb.TOWNSHIP, folder / "blank")
    inputs = rb.valid_inputs(spec)
    clean = rb.fill(blank, folder / "梅塘镇_clean.xlsx", spec, inputs)
    layout = SheetLayout(spec.sheet(PP))
    rows = [r.code for r in spec.sheet(PP).rows if inputs[PP][r.code]["exited_people"] > 0]
    text_cell = layout.cell(rows[0], "exited_people")
    rule_cell = layout.cell(rows[1], "exited_households")

    def spoil(book):
        ws = book["01脱贫进展"]
        ws[text_cell] = "约300"
        ws[rule_cell] = inputs[PP][rows[1]]["exited_people"] + 1  # PP02: more households than people

    bad = rb.spoil(clean, folder / "梅塘镇_bad.xlsx", spoil)

    def drop_meta(book):
        del book["_meta"]

    foreign = rb.spoil(clean, folder / "foreign.xlsx", drop_meta)
    other = rb.generate("421122102", folder)  # 石坪镇, blank: nothing to report
    junk = folder / "junk.xlsx"
    junk.write_bytes(b"%PDF-1.4 not a workbook")
    return SimpleNamespace(
        clean=clean,
        bad=bad,
        foreign=foreign,
        junk=junk,
        other=other,
        text_cell=text_cell,
        rule_cell=rule_cell,
    )


def test_unusable_files_become_one_finding_each_and_the_others_go_on(batch):
    paths = [batch.junk, batch.clean, batch.foreign, batch.bad]
    before = [rb.sha256(p) for p in paths]
    findings, results = check_files(paths)
    assert [rb.sha256(p) for p in paths] == before
    assert [r.path for r in results] == [batch.clean, batch.bad]
    unusable = [f for f in findings if f.rule == "文件"]
    assert [f.file for f in unusable] == [str(batch.junk), str(batch.foreign)]
    assert all(f.importance == "error" and f.message and f.hint for f in unusable)
    assert "不是 hbreport 生成的报表" in unusable[1].message
    by_rule = {f.rule: f for f in findings if f.file == str(batch.bad)}
    assert by_rule["文本"].cell == batch.text_cell
    assert by_rule["PP02"].cell == batch.rule_cell
    # two different files of one unit: both refused, as consolidation refuses them
    assert [f.rule for f in findings if f.file == str(batch.clean)] == ["重复"]
    assert exit_code(findings) == EXIT_FINDINGS  # as consolidate gives for the same files
    assert exit_code([f for f in findings if f.rule == "文件"]) == EXIT_FINDINGS
    assert exit_code(check_files([batch.clean])[0]) == EXIT_OK


def test_the_same_unit_twice_is_a_duplicate_and_each_file_says_so(batch):
    findings, results = check_files([batch.clean, batch.bad])
    duplicate = [f for f in findings if f.rule == "重复"]
    assert len(results) == 2 and {f.file for f in duplicate} == {str(batch.clean), str(batch.bad)}
    assert all(f.importance == "error" and batch.clean.name in f.message for f in duplicate)


def test_check_and_consolidate_judge_byte_identical_copies_alike(batch, tmp_path):
    """A "(1)" copy beside its original: the original is used and not flagged, the copy is a 副本 warning,
    in check and in consolidate."""
    import shutil

    from hbreport.consolidation.consolidate import consolidate

    folder = tmp_path / "收到的报表"
    folder.mkdir()
    original = folder / rb.spec_of(rb.TOWNSHIP).file_name()
    shutil.copy(batch.clean, original)
    copy = folder / f"{original.stem} (1).xlsx"
    shutil.copy(batch.clean, copy)
    for order in ([original, copy], [copy, original]):
        findings, _ = check_files(order)
        assert [(f.rule, f.file, f.importance) for f in findings] == [("副本", str(copy), "warning")]
        assert original.name in findings[0].message
        assert exit_code(findings) == EXIT_OK
    summary = consolidate(folder, rb.COUNTY, rb.PERIOD, tmp_path / "out" / "汇总.xlsx", workers=1)
    said = [(f.rule, f.file, f.importance) for f in summary.findings if f.rule in ("副本", "重复")]
    assert said == [("副本", str(copy), "warning")]
    (dup,) = summary.duplicates
    assert dup.identical and dup.used == original.name


def test_expect_period_rejects_other_years(batch):
    findings, results = check_files([batch.clean], expect_period=2018)
    assert results == [] and [f.rule for f in findings] == ["文件"]
    assert "2018" in findings[0].hint


def test_a_folder_stands_for_the_workbooks_in_it(batch, tmp_path):
    import shutil
    import zipfile

    folder = tmp_path / "收到的报表"
    folder.mkdir()
    for p in (batch.bad, batch.other):
        shutil.copy(p, folder / p.name)
    with zipfile.ZipFile(folder / "打包.zip", "w") as z:
        z.write(batch.clean, batch.clean.name)
    from_folder, results = check_files([folder])
    names = sorted([batch.bad.name, batch.other.name])  # a folder's workbooks are read in name order
    from_files, _ = check_files([folder / name for name in names])
    assert [r.path.name for r in results] == names
    (unread,) = [f for f in from_folder if f.rule == "未读取"]
    assert unread.importance == "warning" and "打包.zip" in unread.message and "解压" in unread.hint
    assert [f for f in from_folder if f is not unread] == from_files
    assert "打包.zip" in render_findings(from_folder, results)
    assert exit_code(from_folder) == exit_code(from_files) == EXIT_FINDINGS


def test_json_and_text_renderings(batch):
    findings, results = check_files([batch.junk, batch.bad, batch.other])
    payload = json.loads(findings_to_json(findings))
    assert payload["errors"] == sum(f.importance == "error" for f in findings)
    assert payload["unusable_files"] == [str(batch.junk)]
    assert [f["rule"] for f in payload["findings"]] == [f.rule for f in findings]
    assert {"file", "sheet", "cell", "message", "hint", "importance_zh"} <= set(payload["findings"][0])

    text = render_findings(findings, results)
    lines = text.splitlines()
    headings = [line for line in lines if line.startswith("■")]
    names = sorted([batch.junk.name, batch.bad.name, batch.other.name])
    assert [h.split("（")[0].split("：")[0] for h in headings] == [f"■ {name}" for name in names]
    headings = {h.split("（")[0].split("：")[0][2:]: h for h in headings}
    headings = [headings[batch.junk.name], headings[batch.bad.name], headings[batch.other.name]]
    assert "无法使用" in headings[0] and "错误 2 项" in headings[1]
    # the blank form is 空表, as consolidate says — not a clean report
    assert "错误 0 项，警告 1 项" in headings[2] and any(
        "空表" in line and "没有填报任何数据" in line for line in lines
    )
    assert "（石坪镇 2017年）" in headings[2]
    assert any(batch.text_cell in line and "[错误][文本]" in line for line in lines)
    assert lines[-1].startswith("共 3 个文件")
    assert render_findings([]) == "未发现问题"


def test_annotated_copy_marks_cells_and_lists_every_finding(batch, tmp_path):
    result = read_workbook(batch.bad)
    before = rb.sha256(batch.bad)
    out = annotate_copy(batch.bad, result.findings, tmp_path / "退回" / batch.bad.name)
    assert rb.sha256(batch.bad) == before
    assert sorted(p.name for p in out.parent.iterdir()) == [batch.bad.name]  # no temporary left behind

    book = openpyxl.load_workbook(out)
    assert book.sheetnames[0] == ISSUES_SHEET
    ws = book["01脱贫进展"]
    text = ws[batch.text_cell]
    assert "约300" in text.comment.text and "处理办法" in text.comment.text
    assert text.fill.fgColor.rgb.endswith("FF8080")
    issues = book[ISSUES_SHEET]
    listed = [row for row in issues.iter_rows(min_row=3, values_only=True) if row[0] is not None]
    assert len(listed) == len(result.findings)
    assert {(r[3], r[4]) for r in listed} == {(f.sheet, f.cell) for f in result.findings}
    # still a workbook hbreport reads, with the same problems
    again = read_workbook(out)
    assert sorted((f.rule, f.cell) for f in again.findings) == sorted(
        (f.rule, f.cell) for f in result.findings
    )


def test_warnings_are_yellow_and_findings_on_one_cell_are_joined(batch, tmp_path):
    result = read_workbook(batch.clean)
    cell = batch.text_cell
    from hbreport.model.findings import Finding

    findings = [
        Finding("第一个问题", "warning", "W1", str(batch.clean), sheet="01脱贫进展", cell=cell, hint="核实"),
        Finding("第二个问题", "warning", "W2", str(batch.clean), sheet="01脱贫进展", cell=cell),
        Finding("文件层面的问题", "error", "X", str(batch.clean)),
    ]
    out = annotate_copy(result.path, findings, tmp_path / "clean.xlsx")
    book = openpyxl.load_workbook(out)
    marked = book["01脱贫进展"][cell]
    assert "第一个问题" in marked.comment.text and "第二个问题" in marked.comment.text
    assert marked.fill.fgColor.rgb.endswith("FFFF66")
    assert len([r for r in book[ISSUES_SHEET].iter_rows(min_row=3, values_only=True) if r[0]]) == 3


def test_annotate_refuses_to_overwrite_its_source(batch):
    before = rb.sha256(batch.bad)
    with pytest.raises(HBError):
        annotate_copy(batch.bad, [], batch.bad)
    assert rb.sha256(batch.bad) == before


@pytest.mark.slow
def test_a_rare_character_on_a_gbk_console_does_not_stop_the_command(tmp_path):
    """A Chinese Windows writes redirected output in GBK, which lacks rare characters found in village
    names: the text shows '?' for them, JSON stays UTF-8, and the command ends with its own exit code."""
    import os
    import subprocess
    import sys

    junk = tmp_path / "村𠀀.xlsx"  # U+20000 is not in GBK
    junk.write_text("not a workbook", encoding="utf-8")
    env = {**os.environ, "PYTHONIOENCODING": "gbk"}
    run = [sys.executable, "-m", "hbreport", "check", str(junk)]
    text = subprocess.run(run, capture_output=True, env=env, cwd=tmp_path)
    assert text.returncode == EXIT_FINDINGS
    assert "村?.xlsx：无法使用" in text.stdout.decode("gbk") and not text.stderr
    machine = subprocess.run([*run, "--json"], capture_output=True, env=env, cwd=tmp_path)
    assert machine.returncode == EXIT_FINDINGS
    assert json.loads(machine.stdout.decode("utf-8"))["findings"][0]["file"] == str(junk)


def test_what_cannot_be_read_as_a_file_is_named_not_passed_over(batch, tmp_path):
    """A pipe, a shortcut whose target is gone, a shortcut to a device and a subfolder that cannot be
    opened each get a 未读取 warning naming them; the workbooks beside them are read as ever."""
    import os
    import shutil

    folder = tmp_path / "收到的报表"
    folder.mkdir()
    shutil.copy(batch.other, folder / batch.other.name)
    os.mkfifo(folder / "管道.xlsx")
    (folder / "已删除的报表.xlsx").symlink_to(tmp_path / "不存在.xlsx")
    (folder / "设备.xlsx").symlink_to("/dev/zero")
    findings, results = check_files([folder])
    assert [r.path.name for r in results] == [batch.other.name]
    unread = {f.file and os.path.basename(f.file): f for f in findings if f.rule == "未读取"}
    assert set(unread) == {"管道.xlsx", "已删除的报表.xlsx", "设备.xlsx"}
    assert "管道" in unread["管道.xlsx"].message and "不是普通文件" in unread["管道.xlsx"].message
    assert (
        "不存在.xlsx" in unread["已删除的报表.xlsx"].message
        and "符号链接" in unread["已删除的报表.xlsx"].message
    )
    assert "设备" in unread["设备.xlsx"].message
    assert all(f.importance == "warning" and f.hint for f in unread.values())


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root opens every folder")
def test_a_subfolder_that_cannot_be_opened_is_named(tmp_path):
    closed = tmp_path / "收到的报表" / "去年"
    closed.mkdir(parents=True)
    closed.chmod(0)
    try:
        findings, _ = check_files([tmp_path / "收到的报表"])
    finally:
        closed.chmod(0o755)
    (unread,) = [f for f in findings if f.rule == "未读取"]
    assert "去年" in unread.message and "无法打开" in unread.message

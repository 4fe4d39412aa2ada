"""Outputs appear whole or not at all, and a target that cannot be replaced (open in Excel or Word on
Windows, a folder in the way) is a Chinese message naming the file, with the old file left as it was."""

from __future__ import annotations

import os
import shutil

import pytest
from consolidation_inputs import write_filled

from hbreport.baseline import load_baseline
from hbreport.catalog import load_catalog
from hbreport.consolidation.consolidate import RULE_RETURN_COPY, consolidate
from hbreport.errors import HBError
from hbreport.registry import load_registry
from hbreport.xlsx.atomic import atomic_output

COUNTY, PERIOD = "420702", 2017  # 梁子湖区


def held_open(monkeypatch, target):
    """Windows refuses to replace a file another program has open: PermissionError (WinError 5/32)."""
    replace = os.replace

    def refuse(src, dst):
        if os.fspath(dst) == os.fspath(target):
            raise PermissionError(13, "The process cannot access the file because it is being used")
        replace(src, dst)

    monkeypatch.setattr(os, "replace", refuse)


def test_a_completed_block_replaces_the_file_and_leaves_nothing_else(tmp_path):
    target = tmp_path / "out" / "表.xlsx"
    with atomic_output(target) as tmp:
        assert tmp.parent == target.parent and not target.exists()
        tmp.write_bytes(b"new")
    assert target.read_bytes() == b"new" and [p.name for p in target.parent.iterdir()] == ["表.xlsx"]


def test_a_failed_block_keeps_the_old_file(tmp_path):
    target = tmp_path / "表.xlsx"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_output(target, force=True) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("the writer failed half way")
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["表.xlsx"]


def test_a_target_open_in_another_program_is_said_with_what_to_do(tmp_path, monkeypatch):
    for name, program in (("汇总.xlsx", "Excel/WPS"), ("报告.docx", "Word/WPS")):
        target = tmp_path / name
        target.write_bytes(b"old")
        held_open(monkeypatch, target)
        with pytest.raises(HBError) as caught, atomic_output(target, force=True) as tmp:
            tmp.write_bytes(b"new")
        assert "被占用" in caught.value.message and program in caught.value.hint
        assert caught.value.file == str(target) and target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["报告.docx", "汇总.xlsx"]


def test_a_folder_in_the_way_is_said(tmp_path):
    target = tmp_path / "汇总.xlsx"
    (target / "里面").mkdir(parents=True)
    for force in (False, True):
        with pytest.raises(HBError) as caught, atomic_output(target, force=force) as tmp:
            tmp.write_bytes(b"new")
        assert "文件夹" in caught.value.message and (target / "里面").is_dir()


def test_a_return_copy_that_cannot_be_written_is_a_warning_and_the_rest_is_done(tmp_path, monkeypatch):
    registry, catalog, baseline = load_registry(), load_catalog(), load_baseline()
    inbox = tmp_path / "收件"
    townships = [u.code for u in registry.children(COUNTY)]
    kw = {"registry": registry, "catalog": catalog, "baseline": baseline}
    good, _, _ = write_filled(townships[0], PERIOD, inbox, **kw)
    late, _, _ = write_filled(townships[1], PERIOD - 1, tmp_path / "去年", **kw)
    shutil.copy(late, inbox / late.name)  # last year's file: rejected, and readable, so it gets a copy
    back = tmp_path / "退回"
    (back / late.name / "挡路").mkdir(parents=True)  # a folder where the copy would go
    summary = consolidate(inbox, COUNTY, PERIOD, tmp_path / "out.xlsx", annotate_dir=back, **kw)
    (problem,) = [f for f in summary.findings if f.rule == RULE_RETURN_COPY]
    assert problem.importance == "warning" and late.name in problem.message
    assert (tmp_path / "out.xlsx").exists() and summary.annotated == []
    assert good.name in {c.files[0] for c in summary.received}
    # and when the old copy is open in Excel, the same
    shutil.rmtree(back)
    back.mkdir()
    (back / late.name).write_bytes(b"old copy")
    held_open(monkeypatch, back / late.name)
    again = consolidate(inbox, COUNTY, PERIOD, tmp_path / "out.xlsx", annotate_dir=back, force=True, **kw)
    (problem,) = [f for f in again.findings if f.rule == RULE_RETURN_COPY]
    assert "被占用" in problem.message and "Excel" in problem.hint
    assert (back / late.name).read_bytes() == b"old copy"

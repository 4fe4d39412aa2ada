"""Outputs never clobber: no command writes over an existing file without --force, never over one of
its own inputs (not even with --force), only over regular files, only under the suffix of what it
writes, and creating a file is exclusive. Outputs get the permissions any new file gets (0666 less the
umask), so colleagues on a shared folder can open them."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from consolidation_inputs import write_filled

from hbreport import cli
from hbreport.baseline import load_baseline
from hbreport.catalog import load_catalog
from hbreport.consolidation.consolidate import NOT_WRITTEN, consolidate
from hbreport.errors import EXIT_UNUSABLE, HBError
from hbreport.forms import generate_forms
from hbreport.registry import load_registry
from hbreport.xlsx.atomic import atomic_output
from hbreport.xlsx.safety import sha256_file

COUNTY, PERIOD = "420702", 2017  # 梁子湖区: 6 townships


@pytest.fixture(scope="module")
def context():
    registry = load_registry()
    return {"registry": registry, "catalog": load_catalog(), "baseline": load_baseline()}


@pytest.fixture(scope="module")
def filled(tmp_path_factory, context) -> Path:
    """The county's township workbooks as the clerks filled them."""
    folder = tmp_path_factory.mktemp("收到的报表")
    for unit in context["registry"].children(COUNTY):
        write_filled(unit.code, PERIOD, folder, **context)
    return folder


@pytest.fixture(scope="module")
def county(tmp_path_factory, filled, context) -> Path:
    """A consolidated county workbook."""
    out = tmp_path_factory.mktemp("汇总") / "梁子湖区_2017.xlsx"
    consolidate(filled, COUNTY, PERIOD, out, **context)
    return out


def run_cli(capsys, *args: str) -> tuple[int, str]:
    code = cli.run(list(args))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def fingerprints(folder: Path) -> dict[str, tuple[str, float]]:
    return {p.name: (sha256_file(p), p.stat().st_mtime) for p in sorted(folder.iterdir()) if p.is_file()}


def assert_refused(code: int, text: str, *words: str) -> None:
    assert code == EXIT_UNUSABLE, text
    assert "错误：" in text and "程序内部错误" not in text and "Traceback" not in text, text
    for word in words:
        assert word in text, text


# ---------------------------------------------------------------- never over an input


def test_report_never_writes_over_its_input_or_a_history_file(capsys, county, tmp_path):
    before = sha256_file(county)
    for extra in ((), ("--force",)):
        code, text = run_cli(capsys, "report", str(county), "--out", str(county), *extra)
        assert_refused(code, text, "输入文件", "加 --force 也不行")
        history = tmp_path / "梁子湖区_2016.xlsx"
        history.write_bytes(county.read_bytes())
        kept = sha256_file(history)
        code, text = run_cli(
            capsys, "report", str(county), "--history", str(history), "--out", str(history), *extra
        )
        assert_refused(code, text, "输入文件")
        assert sha256_file(history) == kept
    assert sha256_file(county) == before


def test_an_input_reached_by_another_name_is_still_an_input(capsys, county, tmp_path):
    link = tmp_path / "同一个文件.docx"
    os.link(county, link)  # a hard link: another name, the same file
    code, text = run_cli(capsys, "report", str(county), "--out", str(link), "--force")
    assert_refused(code, text, "输入文件")
    assert link.read_bytes()[:2] == b"PK" and sha256_file(link) == sha256_file(county)


def test_a_report_is_written_only_under_docx(capsys, county, tmp_path):
    code, text = run_cli(capsys, "report", str(county), "--out", str(tmp_path / "报告.pdf"))
    assert_refused(code, text, ".docx")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- never over an existing file without --force


def test_forms_into_a_folder_of_filled_workbooks_write_nothing_without_force(capsys, filled, tmp_path):
    folder = tmp_path / "收到的报表"
    folder.mkdir()
    for p in filled.iterdir():
        (folder / p.name).write_bytes(p.read_bytes())
    before = fingerprints(folder)
    args = ("forms", "--level", "township", "--period", str(PERIOD), "--under", COUNTY, "--out", str(folder))
    code, text = run_cli(capsys, *args)
    assert_refused(code, text, f"已有 {len(before)} 个同名工作簿", "一个也未写入", "--force")
    assert fingerprints(folder) == before
    code, text = run_cli(capsys, *args, "--force")  # asked for: the blank forms replace them
    assert code == 0, text
    after = fingerprints(folder)
    assert after.keys() == before.keys() and all(after[n][0] != before[n][0] for n in after)


@pytest.mark.slow
def test_roster_forms_into_a_folder_of_filled_rosters_write_nothing_without_force(capsys, tmp_path):
    from hbreport.households.synth import write_synthetic

    synth = write_synthetic(tmp_path / "synth", PERIOD, under="421122", limit=2)
    folder = synth.rosters[0].parent
    before = fingerprints(folder)
    code, text = run_cli(
        capsys,
        "roster",
        "forms",
        "--period",
        str(PERIOD),
        "--under",
        "421122",
        "--roster",
        str(synth.export),
        "--out",
        str(folder),
    )
    assert_refused(code, text, "同名台账", "一个也未写入")
    assert fingerprints(folder) == before


def test_consolidate_and_report_do_not_replace_an_existing_file_without_force(
    capsys, filled, county, tmp_path
):
    out = tmp_path / "汇总.xlsx"
    out.write_bytes(b"last month's workbook")
    args = ("consolidate", str(filled), "--parent", COUNTY, "--period", str(PERIOD), "--out", str(out))
    code, text = run_cli(capsys, *args)
    assert_refused(code, text, "已存在", "--force")
    assert out.read_bytes() == b"last month's workbook"
    report = tmp_path / "报告.docx"
    report.write_bytes(b"yesterday's report")
    code, text = run_cli(capsys, "report", str(county), "--out", str(report))
    assert_refused(code, text, "已存在", "--force")
    assert report.read_bytes() == b"yesterday's report"


# ---------------------------------------------------------------- only over regular files


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_device_pipe_or_folder_is_never_written_over_even_with_force(capsys, filled, tmp_path):
    pipe = tmp_path / "管道.xlsx"
    os.mkfifo(pipe)
    device = tmp_path / "设备.xlsx"
    device.symlink_to(os.devnull)  # a name that leads to a device node
    folder = tmp_path / "文件夹.xlsx"
    folder.mkdir()
    for target in (pipe, device, folder):
        for extra in ((), ("--force",)):
            code, text = run_cli(
                capsys,
                "consolidate",
                str(filled),
                "--parent",
                COUNTY,
                "--period",
                str(PERIOD),
                "--out",
                str(target),
                *extra,
            )
            assert_refused(code, text)
            assert "不是普通文件" in text or "文件夹" in text, text
    assert stat.S_ISFIFO(pipe.lstat().st_mode) and device.is_symlink() and folder.is_dir()
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)


def test_an_output_under_a_file_or_in_a_folder_that_takes_no_files_is_a_chinese_message(
    capsys, county, tmp_path
):
    plain = tmp_path / "一个文件"
    plain.write_text("x", encoding="utf-8")
    places = [plain / "报告.docx"]
    if Path("/proc/self").is_dir():
        places.append(Path("/proc") / "报告.docx")
    for out in places:
        code, text = run_cli(capsys, "report", str(county), "--out", str(out))
        assert_refused(code, text)
        assert "文件夹" in text and "处理办法" in text, text


# ---------------------------------------------------------------- creating is exclusive


def test_of_two_runs_into_one_output_the_second_says_so(filled, context, tmp_path):
    """The other run's workbook appears while this one reads its inputs (the moment between looking
    for the output and writing it): this run must not replace it, and must say so."""
    out = tmp_path / "汇总.xlsx"

    def other_run_finishes(done: int, total: int) -> None:
        if done == total and not out.exists():
            out.write_bytes(b"the other run's workbook")

    with pytest.raises(HBError) as caught:
        consolidate(filled, COUNTY, PERIOD, out, workers=1, progress=other_run_finishes, **context)
    assert "为防止覆盖未写入" in caught.value.message and caught.value.file == str(out)
    assert out.read_bytes() == b"the other run's workbook"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["汇总.xlsx"]  # no temporary file left


def test_a_file_that_appears_while_the_output_is_written_is_not_replaced(tmp_path):
    target = tmp_path / "汇总.xlsx"
    with pytest.raises(HBError, match="另一个程序"), atomic_output(target, suffix=".xlsx") as tmp:
        tmp.write_bytes(b"mine")
        target.write_bytes(b"the other run's")  # finished between this run's check and its rename
    assert target.read_bytes() == b"the other run's" and [p.name for p in tmp_path.iterdir()] == ["汇总.xlsx"]


def test_exclusive_creation_without_hard_links_reserves_the_name(tmp_path, monkeypatch):
    """Where the file system has no hard links (FAT sticks, some shares), O_EXCL takes their place."""

    def no_links(src, dst):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    first, second = tmp_path / "甲.xlsx", tmp_path / "乙.xlsx"
    with atomic_output(first) as tmp:
        tmp.write_bytes(b"first")
    assert first.read_bytes() == b"first"
    with pytest.raises(HBError, match="另一个程序"), atomic_output(second, suffix=".xlsx") as tmp:
        second.write_bytes(b"someone else's")  # appears while this one writes
        tmp.write_bytes(b"mine")
    assert second.read_bytes() == b"someone else's"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["乙.xlsx", "甲.xlsx"]


# ---------------------------------------------------------------- file modes


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
@pytest.mark.parametrize("mask", [0o022, 0o002, 0o027])
def test_outputs_get_the_mode_of_a_normal_new_file(mask, filled, context, tmp_path):
    from hbreport.report import report_from_workbook

    previous = os.umask(mask)
    try:
        (tmp_path / "普通文件").write_text("x", encoding="utf-8")
        normal = stat.S_IMODE((tmp_path / "普通文件").stat().st_mode)
        assert normal == 0o666 & ~mask
        forms = generate_forms("township", PERIOD, under=COUNTY, out_dir=tmp_path / "表式", **context)
        inbox = tmp_path / "收件"
        inbox.mkdir()
        for p in filled.iterdir():
            (inbox / p.name).write_bytes(p.read_bytes())
        spoiled = write_filled(
            context["registry"].children(COUNTY)[0].code, PERIOD - 1, tmp_path / "去年", **context
        )[0]
        (inbox / spoiled.name).write_bytes(
            spoiled.read_bytes()
        )  # last year's form: refused, a return copy made
        summary = consolidate(inbox, COUNTY, PERIOD, tmp_path / "汇总.xlsx", **context)
        assert summary.annotated
        report = report_from_workbook(tmp_path / "汇总.xlsx", tmp_path / "报告.docx", **context)
        outputs = [*forms, Path(summary.output), *map(Path, summary.annotated), report]
    finally:
        os.umask(previous)
    modes = {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in outputs}
    assert set(modes.values()) == {oct(normal)}, modes


# ---------------------------------------------------------------- nothing to consolidate


def test_a_consolidation_in_which_every_file_was_refused_writes_no_workbook(capsys, context, tmp_path):
    inbox = tmp_path / "收件"
    for unit in context["registry"].children(COUNTY)[:3]:
        write_filled(unit.code, PERIOD - 1, inbox, **context)  # all last year's: all refused
    out = tmp_path / "汇总.xlsx"
    code, text = run_cli(
        capsys, "consolidate", str(inbox), "--parent", COUNTY, "--period", str(PERIOD), "--out", str(out)
    )
    assert code == 1 and "未写出汇总工作簿" in text and "拒收" in text, text
    assert not out.exists() and len(list((tmp_path / "退回").iterdir())) == 3  # the senders' copies
    summary = consolidate(inbox, COUNTY, PERIOD, out, annotate_dir=tmp_path / "退回2", **context)
    assert summary.output is None and summary.to_dict()["output_not_written"] == NOT_WRITTEN
    assert len(summary.annotated) == 3

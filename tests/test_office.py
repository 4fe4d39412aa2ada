"""The LibreOffice bridge, against the real soffice and poppler (and stand-in executables for failures)."""

from __future__ import annotations

import os
import random
import re
import stat
import struct
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import docx
import openpyxl
import pytest
import xlsxwriter

from hbreport.errors import HBError
from hbreport.office import (
    SOFFICE_ENV,
    convert,
    convert_many,
    pdf_text,
    pdf_to_png,
    recalculate,
    soffice_path,
    to_pdf,
)
from hbreport.xlsx.safety import sha256_file

posix_only = pytest.mark.skipif(os.name != "posix", reason="stand-in executables are shell scripts")

TITLE = "湖北省脱贫攻坚规划（2016—2020年）实施情况"


def _values(path: Path, sheet: str) -> dict[str, object]:
    book = openpyxl.load_workbook(path, data_only=True)
    return {cell.coordinate: cell.value for row in book[sheet].iter_rows() for cell in row}


def _report(path: Path, pages: int = 2) -> Path:
    document = docx.Document()
    document.add_heading(TITLE, level=1)
    for page in range(1, pages + 1):
        document.add_paragraph(f"第{page}页：全省建档立卡贫困人口稳定实现“两不愁、三保障”。")
        if page < pages:
            document.add_page_break()
    document.save(path)
    return path


def _png_width(path: Path) -> int:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">I", header[16:20])[0]


# ---------------------------------------------------------------- real LibreOffice


@pytest.fixture
def village_book(tmp_path: Path) -> tuple[Path, list[tuple[str, int, int]]]:
    """An openpyxl workbook with inputs and formulas but no cached values."""
    rng = random.Random(2016)
    villages = [(f"村{i}", rng.randint(20, 400), 0) for i in range(1, 9)]
    villages = [(name, poor, rng.randint(0, poor)) for name, poor, _ in villages]
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "村级进度"
    sheet.append(["村名", "贫困人口", "已脱贫人口", "脱贫率", "状态"])
    for name, poor, exited in villages:
        r = sheet.max_row + 1
        sheet.append([name, poor, exited, f"=ROUND(C{r}/B{r},4)", f'=IF(C{r}>=B{r}*0.5,"过半","未过半")'])
    last = sheet.max_row
    sheet.append(["合计", f"=SUM(B2:B{last})", f"=SUM(C2:C{last})", f"=ROUND(C{last + 1}/B{last + 1},4)"])
    summary = book.create_sheet("汇总")
    summary["A1"] = f'=COUNTIF(村级进度!E2:E{last},"过半")'
    summary["A2"] = "=村级进度!B" + str(last + 1) + "-村级进度!C" + str(last + 1)
    path = tmp_path / "村级进度.xlsx"
    book.save(path)
    return path, villages


@pytest.mark.libreoffice
@pytest.mark.skipif(
    soffice_path() is None, reason="LibreOffice (soffice) is not installed; .ci/run installs it"
)
class TestWithLibreOffice:
    def test_recalculate_computes_openpyxl_formulas(self, village_book, tmp_path: Path) -> None:
        path, villages = village_book
        assert _values(path, "村级进度")["D2"] is None  # openpyxl stores no results
        values = _values(recalculate(path, tmp_path / "out"), "村级进度")
        for i, (_, poor, exited) in enumerate(villages, start=2):
            assert values[f"D{i}"] == pytest.approx(round(exited / poor, 4))
            assert values[f"E{i}"] == ("过半" if exited >= poor * 0.5 else "未过半")
        total = len(villages) + 2
        assert values[f"B{total}"] == sum(poor for _, poor, _ in villages)
        assert values[f"C{total}"] == sum(exited for _, _, exited in villages)
        summary = _values(tmp_path / "out" / "村级进度.xlsx", "汇总")
        assert summary["A1"] == sum(1 for _, poor, exited in villages if exited >= poor * 0.5)
        assert summary["A2"] == sum(poor - exited for _, poor, exited in villages)

    def test_recalculate_replaces_stale_cached_values(self, tmp_path: Path) -> None:
        source = tmp_path / "in" / "乡镇表.xlsx"
        source.parent.mkdir()
        book = xlsxwriter.Workbook(source)
        sheet = book.add_worksheet("表1")
        sheet.write_column("A1", [356, 241])
        sheet.write_formula("A3", "=A1+A2", None, 999)
        sheet.write_formula("A4", '=IF(A3>500,"达标","未达标")', None, "未达标")
        sheet.write_formula("A5", "=A3*2", None, 0)
        book.close()
        assert [_values(source, "表1")[c] for c in ("A3", "A4", "A5")] == [999, "未达标", 0]
        digest, listing = sha256_file(source), sorted(os.listdir(source.parent))

        result = recalculate(source, tmp_path / "out")

        assert result == tmp_path / "out" / "乡镇表.xlsx"
        values = _values(result, "表1")
        assert [values["A3"], values["A4"], values["A5"]] == [597, "达标", 1194]
        assert sha256_file(source) == digest
        assert sorted(os.listdir(source.parent)) == listing  # no lock file, no output beside the source

    def test_recalculate_refuses_to_overwrite_its_source(self, village_book) -> None:
        path, _ = village_book
        digest = sha256_file(path)
        with pytest.raises(HBError, match="覆盖原文件"):
            recalculate(path, path.parent)
        assert sha256_file(path) == digest

    def test_docx_to_pdf_has_its_chinese_text(self, tmp_path: Path) -> None:
        pdf = to_pdf(_report(tmp_path / "进度报告.docx"), tmp_path / "pdf")
        assert pdf == tmp_path / "pdf" / "进度报告.pdf"
        assert pdf.read_bytes()[:5] == b"%PDF-"
        text = re.sub(r"\s+", "", pdf_text(pdf))
        assert TITLE in text
        assert "第2页：全省建档立卡贫困人口" in text

    def test_pdf_to_png_renders_pages(self, tmp_path: Path) -> None:
        pdf = to_pdf(_report(tmp_path / "报告.docx", pages=2), tmp_path)
        pages = pdf_to_png(pdf, tmp_path / "png")
        assert [p.name for p in pages] == ["报告-1.png", "报告-2.png"]
        second = pdf_to_png(pdf, tmp_path / "png2", dpi=40, first=2, last=2)
        assert [p.name for p in second] == ["报告-2.png"]
        assert _png_width(pages[1]) == pytest.approx(2 * _png_width(second[0]), abs=2)

    def test_convert_many_converts_every_file(self, village_book, tmp_path: Path) -> None:
        workbook, _ = village_book
        report = _report(tmp_path / "进度报告.docx", pages=1)
        pdfs = convert_many([report, workbook], "pdf", tmp_path / "pdf")
        assert pdfs == [tmp_path / "pdf" / "进度报告.pdf", tmp_path / "pdf" / "村级进度.pdf"]
        assert TITLE in re.sub(r"\s+", "", pdf_text(pdfs[0]))
        assert "村名" in pdf_text(pdfs[1])

    def test_convert_between_document_formats(self, tmp_path: Path) -> None:
        report = _report(tmp_path / "报告.docx", pages=1)
        odt = convert(report, "odt", tmp_path / "odt")
        back = convert(odt, "docx", tmp_path / "docx")
        assert TITLE in "".join(p.text for p in docx.Document(back).paragraphs)

    def test_parallel_calls_do_not_share_a_profile(self, village_book, tmp_path: Path) -> None:
        path, villages = village_book
        with ThreadPoolExecutor(max_workers=3) as pool:
            results = list(pool.map(lambda i: recalculate(path, tmp_path / f"out{i}"), range(3)))
        expected = sum(poor for _, poor, _ in villages)
        for result in results:
            assert _values(result, "村级进度")[f"B{len(villages) + 2}"] == expected

    def test_no_profile_or_copy_is_left_behind(
        self, village_book, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        scratch = tmp_path / "scratch"
        scratch.mkdir()
        monkeypatch.setattr(tempfile, "tempdir", str(scratch))
        path, _ = village_book
        recalculate(path, tmp_path / "out")
        assert list(scratch.iterdir()) == []


def test_convert_many_refuses_two_sources_with_one_output_name(tmp_path: Path) -> None:
    for folder in ("甲乡", "乙乡"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "报表.xlsx").write_bytes(b"x")
    with pytest.raises(HBError, match="同名"):
        convert_many(
            [tmp_path / "甲乡" / "报表.xlsx", tmp_path / "乙乡" / "报表.xlsx"], "pdf", tmp_path / "out"
        )


def test_missing_source_is_named(tmp_path: Path) -> None:
    with pytest.raises(HBError, match="文件不存在") as refused:
        convert(tmp_path / "没有这个文件.docx", "pdf", tmp_path)
    assert "没有这个文件.docx" in str(refused.value)
    with pytest.raises(HBError, match="文件不存在"):
        pdf_text(tmp_path / "没有.pdf")


# ---------------------------------------------------------------- failures, with stand-in executables


def _stand_in(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "bin" / "soffice"
    script.parent.mkdir(exist_ok=True)
    script.write_text("#!/bin/sh\n" + body + "\n", encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return script


@pytest.fixture
def source(tmp_path: Path) -> Path:
    return _report(tmp_path / "进度报告.docx", pages=1)


def test_missing_libreoffice_is_explained(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SOFFICE_ENV, str(tmp_path / "nowhere" / "soffice"))
    assert soffice_path() is None
    with pytest.raises(HBError) as refused:
        convert(source, "pdf", tmp_path / "out")
    message = str(refused.value)
    assert "未找到 LibreOffice" in message and SOFFICE_ENV in message and "进度报告.docx" in message
    assert "apt-get install" in message


@posix_only
def test_exit_zero_without_output_is_retried_once_then_reported(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "calls.log"
    monkeypatch.setenv(SOFFICE_ENV, str(_stand_in(tmp_path, f'echo "$@" >> "{log}"\nexit 0')))
    with pytest.raises(HBError) as refused:
        convert(source, "pdf", tmp_path / "out")
    message = str(refused.value)
    assert "进度报告.docx" in message and "没有生成输出文件" in message and "已重试一次" in message
    calls = log.read_text(encoding="utf-8").splitlines()
    assert len(calls) == 2
    for call in calls:
        args = call.split()
        for flag in ("--headless", "--norestore", "--nologo", "--nodefault", "--convert-to"):
            assert flag in args
        profile = re.search(r"-env:UserInstallation=file://(\S*/lo-[0-9a-f]{32})", call)
        assert profile, call
        assert not Path(profile.group(1)).exists(), "the private profile is removed after the call"
    assert not (tmp_path / "out" / "进度报告.pdf").exists()


@posix_only
def test_failing_exit_code_is_reported(source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        SOFFICE_ENV, str(_stand_in(tmp_path, 'echo "Error: source file could not be loaded"\nexit 3'))
    )
    with pytest.raises(HBError) as refused:
        convert(source, "pdf", tmp_path / "out")
    assert "退出码 3" in str(refused.value) and "could not be loaded" in str(refused.value)


@pytest.mark.slow
@posix_only
def test_timeout_kills_the_whole_process_group(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pids = tmp_path / "pids"
    # The stand-in's child sleeps far longer than any loaded machine needs for two 1-s attempts, so the
    # bound below tells "killed at the timeout" from "waited for the child" without depending on speed.
    monkeypatch.setenv(SOFFICE_ENV, str(_stand_in(tmp_path, f'sleep 600 &\necho $! >> "{pids}"\nwait')))
    started = time.monotonic()
    with pytest.raises(HBError, match="超过 1 秒"):
        convert(source, "pdf", tmp_path / "out", timeout=1)
    assert time.monotonic() - started < 300
    children = [int(pid) for pid in pids.read_text().split()]
    assert len(children) == 2  # tried twice
    deadline = time.monotonic() + 120  # SIGKILL is delivered at once; the bound only ends a broken run
    while any(_running(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in children if _running(pid)], "children of the timed-out soffice still run"


def _running(pid: int) -> bool:
    """Alive and not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    try:
        return "\nState:\tZ" not in status.read_text()
    except FileNotFoundError:
        return False

"""The input gate: every bad input is refused with a Chinese reason, nothing is changed, memory stays bounded."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import corpus
import openpyxl
import pytest
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hbreport.errors import HBError
from hbreport.office import recalculate, soffice_path
from hbreport.xlsx.safety import inspect_workbook, sha256_file

# What each refusal must say, beyond naming the file.
EXPECTED = {
    "empty": ["空的"],
    "oversized": ["超过 50 MB"],
    "random_bytes": ["无法识别"],
    "docx_renamed": ["Word 文档"],
    "csv_renamed": ["CSV"],
    "legacy_xls": ["旧版 Excel 97-2003 (.xls) 或 WPS (.et)", "另存为 .xlsx"],
    "wps_et": ["旧版 Excel 97-2003 (.xls) 或 WPS (.et)", "另存为 .xlsx"],
    "encrypted": ["加密", "取消打开密码"],
    "pdf_renamed": ["PDF"],
    "html_export": ["HTML"],
    "truncated": ["不完整或已损坏"],
    "ods_renamed": ["OpenDocument", ".ods"],
    "plain_zip": ["普通 ZIP", "xl/workbook.xml"],
    "zip_bomb": ["压缩炸弹", "超过上限 500 MB"],
    "ratio_bomb": ["压缩炸弹", "xl/worksheets/sheet1.xml", "200:1"],
    "lying_header_bomb": ["压缩炸弹", "xl/worksheets/sheet1.xml", "声明"],
    "too_many_parts": ["超过上限 10000"],
    "billion_laughs": ["DOCTYPE/ENTITY", "xl/sharedStrings.xml"],
    "billion_laughs_utf16": ["DOCTYPE/ENTITY", "xl/sharedStrings.xml"],
    "external_entity": ["DOCTYPE/ENTITY", "xl/workbook.xml"],
    "external_link": ["外部链接", "县汇总表.xlsx", "断开链接"],
    "macros": ["含宏", "不含宏"],
}

# Peak memory of a fresh process, two ways: the kernel's high-water mark of resident memory
# (VmHWM belongs to the process image since its exec, unlike ru_maxrss, which Linux carries over
# from the forking test process) and tracemalloc's peak of Python allocations.
MEMORY_PROBE = """
import json, sys, tracemalloc, zipfile
from pathlib import Path
from hbreport.errors import HBError
from hbreport.xlsx.safety import inspect_workbook

def high_water_kib():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])

mode, path = sys.argv[1], Path(sys.argv[2])
before = high_water_kib()
tracemalloc.start()
outcome = "passed"
try:
    if mode == "inspect":
        inspect_workbook(path)
    else:  # what a naive reader does: inflate the first sheet whole
        zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml")
except HBError:
    outcome = "HBError"
traced_peak = tracemalloc.get_traced_memory()[1]
print(json.dumps({"outcome": outcome, "rss_growth_kib": high_water_kib() - before, "traced_kib": traced_peak // 1024}))
"""
MEMORY_LIMIT_KIB = 200 * 1024


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return corpus.make_all(tmp_path_factory.mktemp("bad"))


@pytest.fixture(scope="module")
def valid_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return corpus.make_valid(tmp_path_factory.mktemp("valid")).read_bytes()


def test_every_corpus_case_has_an_expectation() -> None:
    assert set(EXPECTED) == set(corpus.BAD_CASES)


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_bad_input_is_refused_with_its_reason(bad_files: dict[str, Path], case: str) -> None:
    path = bad_files[case]
    digest, mtime = sha256_file(path), path.stat().st_mtime_ns
    with pytest.raises(HBError) as refused:
        inspect_workbook(path)
    message = str(refused.value)
    assert f"「{path.name}」" in message
    for fragment in EXPECTED[case]:
        assert fragment in message, message
    assert refused.value.hint, "a refusal must say what to do"
    assert sha256_file(path) == digest
    assert path.stat().st_mtime_ns == mtime


needs_proc = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc for VmHWM")


def _probe(mode: str, path: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", MEMORY_PROBE, mode, str(path)], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)


@needs_proc
@pytest.mark.parametrize(
    "case", ["zip_bomb", "ratio_bomb", "lying_header_bomb", "billion_laughs", "billion_laughs_utf16"]
)
def test_memory_stays_bounded(bad_files: dict[str, Path], case: str) -> None:
    result = _probe("inspect", bad_files[case])
    assert result["outcome"] == "HBError"
    assert result["rss_growth_kib"] < MEMORY_LIMIT_KIB
    assert result["traced_kib"] < MEMORY_LIMIT_KIB


@needs_proc
def test_memory_probe_sees_a_naive_inflate(bad_files: dict[str, Path]) -> None:
    """The probe above does see memory: inflating the 100 MiB sheet whole shows as 100 MiB more."""
    result = _probe("naive", bad_files["ratio_bomb"])
    assert result["rss_growth_kib"] > 95 * 1024
    assert result["traced_kib"] > 95 * 1024


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(HBError, match="文件不存在") as refused:
        inspect_workbook(tmp_path / "张家湾村.xlsx")
    assert "张家湾村.xlsx" in str(refused.value)


def test_folder(tmp_path: Path) -> None:
    folder = tmp_path / "各乡镇报表"
    folder.mkdir()
    with pytest.raises(HBError, match="文件夹") as refused:
        inspect_workbook(folder)
    assert "各乡镇报表" in str(refused.value)


def test_normal_workbook_passes(tmp_path: Path) -> None:
    path = corpus.make_valid(tmp_path)
    data = path.read_bytes()
    result = inspect_workbook(path)
    assert result.sheets == corpus.SHEET_NAMES
    assert result.kind == "xlsx"
    assert not result.has_macros
    assert result.external_links == []
    assert result.size == len(data)
    assert result.sha256 == hashlib.sha256(data).hexdigest() == sha256_file(path)
    assert path.read_bytes() == data


def test_openpyxl_workbook_with_markup_like_text_passes(tmp_path: Path) -> None:
    """Text that looks like a DTD is escaped inside cells and must not be taken for one."""
    book = openpyxl.Workbook()
    book.active.title = "备注"
    book.active["A1"] = '<!DOCTYPE x [<!ENTITY a "b">]>'
    book.create_sheet("_meta").sheet_state = "veryHidden"
    path = tmp_path / "备注.xlsx"
    book.save(path)
    assert inspect_workbook(path).sheets == ["备注", "_meta"]


def test_macros_pass_when_allowed(bad_files: dict[str, Path]) -> None:
    result = inspect_workbook(bad_files["macros"], allow_macros=True)
    assert (result.kind, result.has_macros) == ("xlsm", True)
    assert result.sheets == corpus.SHEET_NAMES


def test_corpus_cases_are_real_files(bad_files: dict[str, Path]) -> None:
    """The link and macro cases are what Excel writes: openpyxl reads them as such."""
    linked = openpyxl.load_workbook(bad_files["external_link"])
    assert [link.file_link.Target for link in linked._external_links] == [corpus.EXTERNAL_TARGET]
    vba_archive = openpyxl.load_workbook(bad_files["macros"], keep_vba=True).vba_archive
    assert vba_archive is not None
    vba_archive.close()


@pytest.mark.slow
def test_largest_township_roster_passes(tmp_path: Path) -> None:
    """20,000 households × 25 columns, strings, numbers and a check formula per row."""
    path = tmp_path / "某乡镇贫困户花名册.xlsx"
    book = xlsxwriter.Workbook(path, {"constant_memory": True})
    sheet = book.add_worksheet("贫困户花名册")
    sheet.write_row(0, 0, [f"字段{c}" for c in range(25)])
    causes = ["因病", "因残", "因学", "缺技术", "缺劳力"]
    for r in range(1, 20_001):
        row = [f"户主{r}", f"4201{r:014d}"] + [r % 7] * 8 + [causes[r % 5]] * 10
        sheet.write_row(r, 0, row)
        for c in range(20, 25):
            sheet.write_formula(r, c, f'=IF(C{r + 1}>D{r + 1},"错误","")', None, "")
    book.close()
    result = inspect_workbook(path)
    assert result.sheets == ["贫困户花名册"]


@pytest.mark.libreoffice
@pytest.mark.skipif(
    soffice_path() is None, reason="LibreOffice (soffice) is not installed; .ci/run installs it"
)
def test_libreoffice_saved_workbook_passes(tmp_path: Path) -> None:
    saved = recalculate(corpus.make_valid(tmp_path), tmp_path / "out")
    assert inspect_workbook(saved).sheets == corpus.SHEET_NAMES


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_damaged_workbooks_raise_only_hberror(
    tmp_path: Path, valid_bytes: bytes, data: st.DataObject
) -> None:
    """Truncated, overwritten or spliced bytes give an Inspection or an HBError, never another error."""
    damaged = bytearray(valid_bytes)
    for _ in range(data.draw(st.integers(1, 4), label="edits")):
        at = data.draw(st.integers(0, len(damaged)), label="at")
        kind = data.draw(st.sampled_from(["cut", "overwrite", "insert"]), label="kind")
        chunk = data.draw(st.binary(min_size=1, max_size=16), label="bytes")
        if kind == "cut":
            del damaged[at:]
        elif kind == "overwrite":
            damaged[at : at + len(chunk)] = chunk
        else:
            damaged[at:at] = chunk
    path = tmp_path / "damaged.xlsx"
    path.write_bytes(bytes(damaged))
    try:
        inspect_workbook(path)
    except HBError as refused:
        assert "「damaged.xlsx」" in str(refused)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    head=st.sampled_from([b"", b"PK\x03\x04", b"PK\x05\x06", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"]),
    body=st.binary(),
)
def test_arbitrary_bytes_raise_hberror(tmp_path: Path, head: bytes, body: bytes) -> None:
    path = tmp_path / "arbitrary.xlsx"
    path.write_bytes(head + body)
    with pytest.raises(HBError):
        inspect_workbook(path)

"""Hostile and broken input through the whole command line: every bad file gets a clear answer,
nothing is lost, nothing crashes.

Every corpus case (the input gate's cases in ``corpus.BAD_CASES`` and the tampered real forms in
``corpus.FORM_CASES``) goes through ``hbreport check`` and through ``hbreport consolidate`` with the
bad file in a folder beside good children. The answers must follow the CLI contract (exit 0 clean,
1 findings of importance 错误 or units missing, 2 a file that cannot be used), say in Chinese what is
wrong where and what to do, leave every input byte-for-byte unchanged, still consolidate the good
children exactly, and never turn text into a formula.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import corpus
import openpyxl
import pytest
from county_totals import assert_county_holds, county_input_expected
from defusedxml import ElementTree as SafeET
from openpyxl.utils import get_column_letter
from test_safety import EXPECTED as GATE_MESSAGES

from hbreport import cli
from hbreport.errors import EXIT_FINDINGS, EXIT_OK, HBError
from hbreport.spec import build_workbook_spec
from hbreport.xlsx.layout import CODE_COL, CODE_ROW, FIRST_DATA_ROW, HEADER_ROW, SheetLayout
from hbreport.xlsx.safety import inspect_workbook, sha256_file

REPO = Path(__file__).resolve().parent.parent
PERIOD = str(corpus.FORM_PERIOD)
COUNTY = corpus.FORM_COUNTY
BAD_UNIT = corpus.FORM_TOWNSHIP + "000"  # the unit every tampered form belongs to: 梅塘镇
GOOD = ("421122102", "421122103")  # 石坪镇, 黄河镇: clean siblings in every consolidation folder
PP, VE, KP = corpus.PP, corpus.VE, corpus.KP
ALL_CASES = {**corpus.BAD_CASES, **corpus.FORM_CASES}
CJK = re.compile(r"[\u4e00-\u9fff]")
CRASH_SIGNS = ("Traceback", "程序内部错误", "意外错误", "panicked", "stack backtrace")
MEMORY_LIMIT_MIB = 300

# ---------------------------------------------------------------- what each case must be told


@dataclass(frozen=True)
class Told:
    """One finding a case must produce: its rule, words its message holds, and where (sheet, cell)."""

    rule: str
    words: tuple[str, ...]
    sheet: str | None = None
    cell: str | None = None


@dataclass(frozen=True)
class Expect:
    exit_code: int
    told: tuple[Told, ...] = field(default_factory=tuple)
    unusable: bool = False  # the whole file is refused (rule FILE), not read with findings


def _sheet(form: str) -> str:
    return build_workbook_spec(corpus.FORM_TOWNSHIP, corpus.FORM_PERIOD).sheet(form).sheet


def _layout(form: str) -> SheetLayout:
    return SheetLayout(build_workbook_spec(corpus.FORM_TOWNSHIP, corpus.FORM_PERIOD).sheet(form))


def _at(form: str, field_key: str, row: int) -> tuple[str, str]:
    return corpus.form_cell(form, field_key, row)


def _unusable(*words: str, sheet: str | None = None, cell: str | None = None) -> Expect:
    return Expect(EXIT_FINDINGS, (Told("文件", words, sheet, cell),), unusable=True)


def _content(*told: Told) -> Expect:
    return Expect(EXIT_FINDINGS, told)


def _value(rule: str, form: str, field_key: str, row: int, *words: str) -> Told:
    sheet, cell = _at(form, field_key, row)
    return Told(rule, words, sheet, cell)


def expectations() -> dict[str, Expect]:
    pp = _layout(PP)
    expect = {name: _unusable(*words) for name, words in GATE_MESSAGES.items()}
    expect |= {
        "form_no_meta": _unusable("不是 hbreport 生成的报表", "_meta"),
        "form_meta_other_unit": _unusable("名册中「石坪镇」的下级", "不一致", sheet="01脱贫进展"),
        "form_meta_forged": _unusable(
            "插入、删除或调换了行", sheet=_sheet(PP), cell=f"{get_column_letter(CODE_COL)}{FIRST_DATA_ROW}"
        ),
        "form_heading_changed": _unusable(
            "表头被改动",
            "本年脱贫户数",
            sheet=_sheet(PP),
            cell=f"{pp.col_letter('exited_people')}{HEADER_ROW}",
        ),
        "form_row_code_changed": _unusable(
            "421122101999", sheet=_sheet(PP), cell=f"{get_column_letter(CODE_COL)}{FIRST_DATA_ROW + 2}"
        ),
        "form_column_inserted": _unusable(
            "列", sheet=_sheet(PP), cell=f"{pp.col_letter('exited_households')}{CODE_ROW}"
        ),
        "form_sheet_renamed": _unusable("找不到工作表", "03重点工程（修改稿）", sheet=_sheet(KP)),
        "form_sheet_deleted": _unusable("找不到工作表", "可能被改名或删除", sheet=_sheet(VE)),
        "form_row_inserted": _unusable(
            "新增村", sheet=_sheet(PP), cell=f"{get_column_letter(CODE_COL)}{FIRST_DATA_ROW + 3}"
        ),
        "form_row_deleted": _unusable(
            "插入、删除或调换了行",
            sheet=_sheet(PP),
            cell=f"{get_column_letter(CODE_COL)}{FIRST_DATA_ROW + 3}",
        ),
        "form_unprotected_prefill_changed": _content(_value("预填被改", PP, "base_people", 2, "预填的基数")),
        "form_macros": _unusable("含宏", "不含宏"),
        "form_external_link": _unusable("外部链接", "县汇总表.xlsx", "断开链接"),
        "form_far_corner_value": _unusable("XFD1048576", "Ctrl+End", sheet=_sheet(PP), cell="XFD1048576"),
        "form_hidden_far_corner": _unusable("XFD1048576", "Ctrl+End", sheet=_sheet(PP), cell="XFD1048576"),
        "form_text_in_count": _content(_value("文本", PP, "exited_people", 2, "约300")),
        "form_date_in_count": _content(_value("日期", PP, "exited_households", 2, "日期", "2017-05-01")),
        "form_negative_count": _content(_value("负数", PP, "new_people", 2, "负数", "-5")),
        "form_decimal_count": _content(_value("小数", PP, "exited_households", 2, "整数", "3.5")),
        "form_huge_count": _content(
            _value("超出范围", KP, "training_person_times", 2, "123456789012345", "超出"),
            _value("超出范围", KP, "reloc_area", 3, "1e+300", "超出"),
        ),
        "form_nan_and_infinity": _content(
            _value("无效数值", VE, "village_income", 1, "不是有效的数值", "nan"),
            _value("无效数值", KP, "reloc_area", 1, "不是有效的数值", "inf"),
            _value("无效数值", PP, "exited_people", 1, "不是有效的数值", "-inf"),
        ),
        "form_merged_inputs": _content(
            _value("合并单元格", PP, "exited_households", 2, "合并单元格", _at(PP, "exited_people", 2)[1])
        ),
        "form_value_over_formula": _content(_value("公式被删", PP, "cum_exited_people", 2, "公式", "999")),
        "form_formula_text": _content(
            *(
                # "+1" and "-1" are numbers stored as text, the rest plain text: neither is taken
                _value("文本型数字" if text in ("+1", "-1") else "文本", PP, "new_people", i, text)
                for i, text in enumerate(corpus.FORMULA_LIKE, 1)
            ),
            *(_value("选项", VE, "apply_exit", i, text) for i, text in enumerate(corpus.FORMULA_LIKE, 1)),
        ),
        "form_formula_in_input": _content(
            _value("公式无结果", PP, "new_people", 1, "=cmd|' /C calc'!A0"),
            _value("公式无结果", PP, "new_people", 2, "HYPERLINK"),
            _value("公式无结果", VE, "apply_exit", 1, "HYPERLINK"),
        ),
    }
    return expect


EXPECT = expectations()
NO_ANNOTATED_COPY = {"form_nan_and_infinity"}  # openpyxl cannot open a sheet storing NaN: no marked-up copy
CATEGORIES = {
    "not_a_workbook_or_hostile": sorted(corpus.BAD_CASES),
    "not_what_it_claims": [
        "form_no_meta",
        "form_meta_other_unit",
        "form_meta_forged",
        "form_heading_changed",
        "form_row_code_changed",
        "form_column_inserted",
        "form_sheet_renamed",
        "form_sheet_deleted",
        "form_row_inserted",
        "form_row_deleted",
        "form_unprotected_prefill_changed",
        "form_macros",
        "form_external_link",
        "form_far_corner_value",
        "form_hidden_far_corner",
    ],
    "wrong_content": [
        "form_text_in_count",
        "form_date_in_count",
        "form_negative_count",
        "form_decimal_count",
        "form_huge_count",
        "form_nan_and_infinity",
        "form_merged_inputs",
        "form_value_over_formula",
        "form_formula_text",
        "form_formula_in_input",
    ],
}


# ---------------------------------------------------------------- fixtures and shared checks


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("corpus")
    return corpus.make_all(folder / "gate") | corpus.make_all_forms(folder / "forms")


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return corpus.good_children(tmp_path_factory.mktemp("good"), GOOD)


def run_cli(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str]:
    """``hbreport ARGS`` in this process: (exit code, stdout and stderr together)."""
    code = cli.run(list(args))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def run_subprocess(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    """``hbreport ARGS`` in a fresh Python process running this checkout's package."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    program = "import sys; from hbreport.cli import main; sys.argv[0] = 'hbreport'; main()"
    return subprocess.run(
        [sys.executable, "-c", program, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=600
    )


def assert_no_crash(text: str) -> None:
    for sign in CRASH_SIGNS:
        assert sign not in text, text[-3000:]


def fingerprints(folder: Path) -> dict[str, tuple[str, int]]:
    return {p.name: (sha256_file(p), p.stat().st_mtime_ns) for p in sorted(folder.iterdir()) if p.is_file()}


def folder_with(path: Path, good: dict[str, Path], folder: Path) -> Path:
    """``folder`` holding the good children and ``path`` (hard links: the very same files)."""
    folder.mkdir(parents=True)
    for source in [*good.values(), path]:
        os.link(source, folder / source.name)
    return folder


def assert_no_formula_from_text(path: Path, *, formulas: bool = True) -> int:
    """Formula-like text sits in string cells and (``formulas``) no formula cell carries it. Returns how
    many string cells hold such text."""
    book = openpyxl.load_workbook(path)
    texts = 0
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                where = (ws.title, cell.coordinate, cell.value)
                if cell.data_type == "f":
                    assert not (formulas and any(m in str(cell.value) for m in corpus.FORMULA_MARKERS)), where
                elif isinstance(cell.value, str) and any(t in cell.value for t in corpus.FORMULA_LIKE):
                    assert cell.data_type == "s", where
                    texts += 1
    return texts


def assert_annotated_copy_adds_no_formula(copy: Path, source: Path) -> None:
    """The copy returned to the sender holds a formula only where the sender's own file held one."""
    original = openpyxl.load_workbook(source)
    annotated = openpyxl.load_workbook(copy)
    for ws in annotated.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type != "f":
                    continue
                assert ws.title in original.sheetnames, (ws.title, cell.coordinate)
                assert original[ws.title][cell.coordinate].data_type == "f", (ws.title, cell.coordinate)


@pytest.fixture(scope="module")
def good_expected(good: dict[str, Path]) -> dict:
    return county_input_expected({code: corpus.form_values(code) for code in good})


# ---------------------------------------------------------------- the cases through `check`


def test_every_case_has_an_answer() -> None:
    assert set(EXPECT) == set(ALL_CASES)
    assert set().union(*CATEGORIES.values()) == set(ALL_CASES)


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(ALL_CASES))
def test_check_answers_every_case(files: dict[str, Path], case: str, capsys: pytest.CaptureFixture) -> None:
    path, expect = files[case], EXPECT[case]
    before = sha256_file(path), path.stat().st_mtime_ns

    code, text = run_cli(capsys, "check", str(path))
    assert code == expect.exit_code, text
    assert_no_crash(text)
    assert path.name in text and "处理办法" in text

    code, out = run_cli(capsys, "check", "--json", str(path))
    assert code == expect.exit_code
    report = json.loads(out)
    findings = report["findings"]
    assert findings and all(f["file"] == str(path) for f in findings)
    if expect.unusable:
        assert report["unusable_files"] == [str(path)]
    for f in findings:
        assert CJK.search(f["message"]) and f["hint"] and CJK.search(f["hint"]), f
    for told in expect.told:
        matching = [
            f
            for f in findings
            if f["rule"] == told.rule
            and all(word in f"{f['message']}。处理办法：{f['hint']}" for word in told.words)
            and (told.sheet is None or f["sheet"] == told.sheet)
            and (told.cell is None or f["cell"] == told.cell)
        ]
        assert matching, (told, findings)
        if told.sheet:
            assert f"「{told.sheet}」" in text
        if told.cell:
            assert told.cell in text
    assert (sha256_file(path), path.stat().st_mtime_ns) == before


# ---------------------------------------------------------------- the cases through `consolidate`


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(ALL_CASES))
def test_consolidate_keeps_the_good_children(
    files: dict[str, Path],
    good: dict[str, Path],
    good_expected: dict,
    case: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
) -> None:
    bad = files[case]
    folder = folder_with(bad, good, tmp_path / "收到的报表")
    before = fingerprints(folder)
    out_path = tmp_path / "汇总" / "红安县_2017.xlsx"

    code, out = run_cli(
        capsys,
        "consolidate",
        str(folder),
        "--parent",
        COUNTY,
        "--period",
        PERIOD,
        "--out",
        str(out_path),
        "--json",
    )
    assert_no_crash(out)
    assert code == EXIT_FINDINGS  # the bad file is refused or returned, and the other townships are missing
    summary = json.loads(out)
    status = {c["code"]: c for c in summary["children"]}
    for code9 in GOOD:
        assert status[code9 + "000"]["status"] == "已报"
    if EXPECT[case].unusable:
        (rejection,) = [r for r in summary["rejected"] if r["file"] == bad.name]
        assert rejection["kind"] == "unusable" and CJK.search(rejection["reason"])
        (finding,) = [f for f in summary["findings"] if f["file"] == str(folder / bad.name)]
        for told in EXPECT[case].told:  # the same answer as `check` gives, at the same place
            assert all(word in f"{finding['message']}。处理办法：{finding['hint']}" for word in told.words)
            assert (finding["sheet"], finding["cell"]) == (told.sheet, told.cell)
        assert finding["importance"] == "error" and CJK.search(finding["hint"])
        assert status[BAD_UNIT]["status"] == "未报"
    else:
        assert status[BAD_UNIT]["status"] == "退回" and status[BAD_UNIT]["files"] == [bad.name]
        assert status[BAD_UNIT]["errors"] >= len(EXPECT[case].told)
        copy = out_path.parent / "退回" / bad.name
        if case in NO_ANNOTATED_COPY:
            assert not copy.exists() and str(copy) not in summary["annotated"]
        else:
            assert str(copy) in summary["annotated"]
            assert_annotated_copy_adds_no_formula(
                copy, bad
            )  # what the sender typed as a formula stays theirs
            assert assert_no_formula_from_text(copy, formulas=False) >= (
                10 if case == "form_formula_text" else 0
            )
    assert {i["file"] for i in summary["inputs"]} == {str(p) for p in folder.iterdir()}

    assert_county_holds(out_path, good_expected, absent=(BAD_UNIT,))
    texts = assert_no_formula_from_text(out_path)
    if case in ("form_formula_text", "form_formula_in_input"):
        assert texts > 0  # the findings quote the entries, as text
    assert fingerprints(folder) == before


@pytest.mark.slow
def test_all_good_children_consolidate_clean_and_one_bad_file_is_what_fails(
    good: dict[str, Path], files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """The exit code is the bad file's doing: every township clean gives 0; the same folder with 梅塘镇's
    clean file swapped for a spoiled one gives 1."""
    from hbreport.registry import load_registry

    codes = tuple(u.code[:9] for u in load_registry().children(COUNTY))
    everyone = corpus.good_children(tmp_path / "all", codes)
    out = tmp_path / "out"
    code, text = run_cli(
        capsys,
        "consolidate",
        str(tmp_path / "all"),
        "--parent",
        COUNTY,
        "--period",
        PERIOD,
        "--out",
        str(out / "clean.xlsx"),
    )
    assert code == EXIT_OK, text
    everyone[corpus.FORM_TOWNSHIP].unlink()
    os.link(files["form_text_in_count"], tmp_path / "all" / "form_text_in_count.xlsx")
    code, text = run_cli(
        capsys,
        "consolidate",
        str(tmp_path / "all"),
        "--parent",
        COUNTY,
        "--period",
        PERIOD,
        "--out",
        str(out / "spoiled.xlsx"),
    )
    assert code == EXIT_FINDINGS and "退回" in text and "约300" in text
    assert_no_crash(text)


# ---------------------------------------------------------------- one real process per category


@pytest.mark.slow
@pytest.mark.parametrize("category", sorted(CATEGORIES))
def test_a_real_process_per_category(
    category: str, files: dict[str, Path], good: dict[str, Path], tmp_path: Path
) -> None:
    cases = CATEGORIES[category]
    paths = [files[c] for c in cases]
    before = {p: sha256_file(p) for p in paths}

    done = run_subprocess("check", *map(str, paths))
    assert_no_crash(done.stdout + done.stderr)
    assert done.returncode == max(EXPECT[c].exit_code for c in cases), done.stdout[-2000:]
    for path in paths:
        assert path.name in done.stdout

    folder = tmp_path / "收到的报表"
    folder.mkdir()
    for source in [*good.values(), *paths]:
        os.link(source, folder / source.name)
    done = run_subprocess(
        "consolidate",
        str(folder),
        "--parent",
        COUNTY,
        "--period",
        PERIOD,
        "--out",
        str(tmp_path / "out.xlsx"),
        "--json",
    )
    assert_no_crash(done.stdout + done.stderr)
    assert done.returncode == EXIT_FINDINGS, done.stderr[-2000:]
    summary = json.loads(done.stdout)
    assert {c["code"] for c in summary["children"] if c["status"] == "已报"} == {g + "000" for g in GOOD}
    assert {p: sha256_file(p) for p in paths} == before
    assert_no_formula_from_text(tmp_path / "out.xlsx")


# ---------------------------------------------------------------- memory stays bounded

MEMORY_PROBE = """
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.stderr.write(done.stdout + done.stderr)
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    "case",
    [
        "zip_bomb",
        "ratio_bomb",
        "lying_header_bomb",
        "billion_laughs",
        "billion_laughs_utf16",
        "form_far_corner_value",
        "form_hidden_far_corner",
    ],
)
def test_check_memory_stays_bounded(files: dict[str, Path], case: str) -> None:
    """Peak RSS of a whole `hbreport check` process on the bombs (1 GiB inflated, 10^9 entities, a grid
    of 17 billion cells) stays far below what expanding them would take."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    program = "import sys; from hbreport.cli import main; sys.argv[0] = 'hbreport'; main()"
    done = subprocess.run(
        [sys.executable, "-c", MEMORY_PROBE, sys.executable, "-c", program, "check", str(files[case])],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=600,
    )
    code, peak_kib = map(int, done.stdout.split())
    assert code == EXIT_FINDINGS, done.stderr[-2000:]
    assert_no_crash(done.stderr)
    assert (
        10 * 1024 < peak_kib < MEMORY_LIMIT_MIB * 1024
    )  # the probe sees the process (Python alone is >10 MiB)


# ---------------------------------------------------------------- the sheet-size guard, exactly


def _sheet_xml(body: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{corpus.MAIN_NS}"><sheetData>'
        f"{body}</sheetData></worksheet>"
    ).encode()


FAR_VALUE = '<row r="1"><c r="A1"><v>1</v></c></row><row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'
NO_REFERENCES = (
    '<row r="1">' + "<c><v>1</v></c>" * 300 + '</row><row r="20000"><c r="A20000"><v>1</v></c></row>'
)
SHEET_BODIES = [
    pytest.param(FAR_VALUE, True, id="far-corner"),
    pytest.param(
        "<row r='1'><c r='A1'><v>1</v></c><c r='XFD1048576'><v>1</v></c></row>", True, id="single-quotes"
    ),
    pytest.param(
        '<row r="1"><c s="0" r="A1"><v>1</v></c><c t="n" r="XFD9"><v>1</v></c></row>', False, id="wide-9-rows"
    ),
    pytest.param(
        '<row r="1"><c r="A1"><v>1</v></c><c t="n" r="XFD300"><v>1</v></c></row>', True, id="wide-300-rows"
    ),
    pytest.param(
        f'<row r="1"><x:c xmlns:x="{corpus.MAIN_NS}" r="ZZ99999"><x:v>1</x:v></x:c></row>',
        True,
        id="prefixed-tags",
    ),
    pytest.param(
        '<row r="300000"><c r="A300000" t="inlineStr"><is><t>x</t></is></c></row>', True, id="300000-rows"
    ),
    pytest.param(NO_REFERENCES, True, id="cells-without-references"),
    pytest.param(
        FAR_VALUE.split('<row r="1048576">')[0] + '<row r="1048576"><c r="XFD1048576" s="1"/></row>',
        False,
        id="formatted-only-far-cell",
    ),
    pytest.param(
        FAR_VALUE.split('<row r="1048576">')[0] + '<row r="1048576"><c r="XFD1048576" s="1"></c></row>',
        False,
        id="formatted-only-far-cell-open-tag",
    ),
    pytest.param(
        "<row><c><v>1</v></c></row>" + "<row/>" * 10 + "<row><c><v>2</v></c></row>",
        False,
        id="rows-without-references",
    ),
    pytest.param(
        '<row r="1"><c r="A1"><v>1</v></c><c r="&#88;FD1048576"><v>1</v></c></row>',
        True,
        id="character-reference",
    ),
    pytest.param(
        '<row r="1"><c r="A1"><v>1</v></c><c r="XFD1048576"><!-- a comment --><v>1</v></c></row>',
        True,
        id="comment-before-value",
    ),
    pytest.param(
        '<row r="1"><c r="A1"><v>1</v></c><c\n\tr = "XFD1048576"\n><v>1</v></c></row>',
        True,
        id="spaces-in-tag",
    ),
]


@pytest.mark.parametrize(("body", "refused"), SHEET_BODIES)
def test_cells_far_outside_the_table_are_refused_before_any_reader(
    tmp_path: Path, body: str, refused: bool
) -> None:
    """A value far away makes readers allocate a dense grid up to it: the gate measures the sheet as it
    inflates (with or without cell references, any quoting or prefix) and refuses it, naming the far
    corner; cells that only carry formatting do not count, as readers skip them."""
    parts = corpus.workbook_parts()
    parts["xl/worksheets/sheet1.xml"] = _sheet_xml(body)
    path = corpus.write_zip(tmp_path / "far.xlsx", parts)
    if not refused:
        assert inspect_workbook(path).sheets == corpus.SHEET_NAMES
        return
    with pytest.raises(HBError) as caught:
        inspect_workbook(path)
    assert caught.value.sheet == corpus.SHEET_NAMES[0]
    assert caught.value.cell and caught.value.cell in caught.value.message
    assert "上限" in caught.value.message and "Ctrl+End" in caught.value.hint


def _moved_sheet(parts: dict[str, bytes], name: str, target: str) -> None:
    """Store the first sheet under ``name`` and point the workbook's relationship at ``target``."""
    parts[name] = parts.pop("xl/worksheets/sheet1.xml")
    rels = parts["xl/_rels/workbook.xml.rels"].decode()
    parts["xl/_rels/workbook.xml.rels"] = rels.replace('"/xl/worksheets/sheet1.xml"', f'"{target}"').encode()


@pytest.mark.parametrize(
    ("name", "target"),
    [
        pytest.param("xl/data/s1.xml", "/xl/data/s1.xml", id="another-folder"),
        pytest.param("xl/data/s1.xml", "data/s1.xml", id="relative-target"),
        pytest.param("xl\\worksheets\\sheet1.xml", "/xl/worksheets/sheet1.xml", id="backslash-name"),
        pytest.param("xl\\data\\s1.bin", "data\\s1.bin", id="backslash-target-other-suffix"),
        pytest.param("XL/Data/S1.XML", "/xl/data/s1.xml", id="letter-case"),
        pytest.param("xl/s1.xml", "worksheets/../s1.xml", id="dot-dot"),
    ],
)
def test_the_gate_measures_every_sheet_readers_reach_whatever_its_part_name(
    tmp_path: Path, name: str, target: str
) -> None:
    """Readers find a sheet through the workbook's relationships, whatever its folder, letter case or
    path separator: the gate measures that part, not the parts with the usual names."""
    parts = corpus.workbook_parts()
    parts["xl/worksheets/sheet1.xml"] = _sheet_xml(FAR_VALUE)
    _moved_sheet(parts, name, target)
    path = corpus.write_zip(tmp_path / "moved.xlsx", parts)
    with pytest.raises(HBError) as caught:
        inspect_workbook(path)
    assert caught.value.sheet == corpus.SHEET_NAMES[0] and caught.value.cell == "XFD1048576"


def test_a_far_corner_hidden_from_names_would_abort_a_reader_and_is_refused(files: dict[str, Path]) -> None:
    """The corpus's hidden far corner is real: python-calamine, given it without the gate, aborts the
    whole process (a native crash, no Python exception); through the gate it is refused, naming the sheet
    and the cell."""
    path = files["form_hidden_far_corner"]
    reader = (
        "import sys, python_calamine as c\n"
        "book = c.CalamineWorkbook.from_path(sys.argv[1])\n"
        "[book.get_sheet_by_name(n).to_python() for n in book.sheet_names]\n"
    )
    done = subprocess.run([sys.executable, "-c", reader, str(path)], capture_output=True, timeout=300)
    assert done.returncode < 0, done.stderr[-500:]  # killed by a signal (SIGABRT), not an exception
    with pytest.raises(HBError) as caught:
        inspect_workbook(path)
    assert (caught.value.sheet, caught.value.cell) == (_sheet(PP), "XFD1048576")


def test_part_names_with_backslashes_read_as_the_same_parts(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """A clean form whose zip stores every name with backslashes (some Windows zip tools) is the same
    workbook: no false 公式被删除 or any other finding."""
    path = corpus.make_form_backslash_names(tmp_path)
    code, text = run_cli(capsys, "check", str(path))
    assert code == EXIT_OK, text
    assert "公式" not in text


def test_millions_of_unused_shared_strings_are_refused(tmp_path: Path) -> None:
    """Readers hold every shared string in memory, used or not: past MAX_SHARED_STRINGS the gate refuses."""
    from hbreport.xlsx.safety import MAX_SHARED_STRINGS

    count = MAX_SHARED_STRINGS + 1
    strings = "".join(f"<si><t>{n}</t></si>" for n in range(count))
    parts = corpus.workbook_parts()
    parts["xl/sharedStrings.xml"] = (
        f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{corpus.MAIN_NS}" count="{count}" '
        f'uniqueCount="{count}">{strings}</sst>'
    ).encode()
    path = corpus.write_zip(tmp_path / "strings.xlsx", parts)
    with pytest.raises(HBError) as caught:
        inspect_workbook(path)
    assert "共享文本" in caught.value.message and f"{MAX_SHARED_STRINGS:,}" in caught.value.message


# ---------------------------------------------------------------- formula-like unit names in the registry


@pytest.fixture(scope="module")
def formula_registry(tmp_path_factory: pytest.TempPathFactory):
    from hbreport.registry import load_registry

    folder = tmp_path_factory.mktemp("registry")
    units = corpus.make_registry_with_formula_names(folder)
    return units, load_registry(units)


@pytest.mark.slow
def test_formula_like_unit_names_stay_text_from_forms_to_report(
    formula_registry, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    units, registry = formula_registry
    names = corpus.formula_names()

    forms = tmp_path / "表式"
    code, text = run_cli(
        capsys,
        "forms",
        "--level",
        "township",
        "--period",
        PERIOD,
        "--under",
        COUNTY,
        "--units",
        str(units),
        "--out",
        str(forms),
    )
    assert code == EXIT_OK, text
    written = sorted(forms.rglob("*"))
    assert written and all(
        p.parent == forms and p.is_file() for p in written
    )  # a "/" in a name made no folder
    assert len(written) == len(registry.children(COUNTY))
    for path in written:
        assert_no_formula_from_text(path)
    township = next(p for p in written if p.name.startswith(corpus.FORM_TOWNSHIP))
    assert "HYPERLINK" in township.name and "/" not in township.name.replace(str(forms), "")

    children = tmp_path / "收到的报表"
    codes = (corpus.FORM_TOWNSHIP, corpus.OTHER_TOWNSHIP, "421122103")
    filled = corpus.good_children(children, codes, registry=registry)
    code, text = run_cli(capsys, "check", "--units", str(units), *map(str, filled.values()))
    assert code == EXIT_OK, text
    assert names[corpus.FORM_TOWNSHIP + "000"] in text

    before = fingerprints(children)
    out_path = tmp_path / "红安县_2017.xlsx"
    code, text = run_cli(
        capsys,
        "consolidate",
        str(children),
        "--parent",
        COUNTY,
        "--period",
        PERIOD,
        "--units",
        str(units),
        "--out",
        str(out_path),
    )
    assert code == EXIT_FINDINGS, text  # the other eleven townships have not reported
    assert_no_crash(text)
    assert fingerprints(children) == before
    assert assert_no_formula_from_text(out_path) >= 2 * 3  # two township names on each of three forms
    book = openpyxl.load_workbook(out_path)
    spec = build_workbook_spec(COUNTY, corpus.FORM_PERIOD, registry=registry)
    for sheet in spec.sheets[:3]:
        layout = SheetLayout(sheet)
        for code12 in (corpus.FORM_TOWNSHIP + "000", corpus.OTHER_TOWNSHIP + "000"):
            cell = book[sheet.sheet].cell(row=layout.row_index[code12], column=1)
            assert (cell.value, cell.data_type) == (names[code12], "s")
    assert_county_holds(out_path, county_input_expected({c: corpus.form_values(c) for c in codes}))

    report = tmp_path / "红安县_2017年进展报告.docx"
    code, text = run_cli(capsys, "report", str(out_path), "--units", str(units), "--out", str(report))
    assert code == EXIT_OK, text
    assert_report_holds_names_as_text(
        report, [names[corpus.FORM_TOWNSHIP + "000"], names[corpus.OTHER_TOWNSHIP + "000"]]
    )


def assert_report_holds_names_as_text(report: Path, expected_names: list[str]) -> None:
    """Every XML part of the .docx parses; no field code (the way Word runs formulas, links and DDE)
    carries the names; the names appear as plain text runs."""
    w = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
    runs: list[str] = []
    with zipfile.ZipFile(report) as archive:
        for name in archive.namelist():
            if not name.endswith(".xml"):
                continue
            root = SafeET.fromstring(archive.read(name))
            for el in root.iter(f"{w}instrText"):
                assert not any(m in (el.text or "") for m in corpus.FORMULA_MARKERS), name
                assert (el.text or "").strip().split()[0] in ("PAGE", "NUMPAGES"), (name, el.text)
            for el in root.iter(f"{w}fldSimple"):
                assert not any(m in el.get(f"{w}instr", "") for m in corpus.FORMULA_MARKERS), name
            if name == "word/document.xml":
                runs = [el.text or "" for el in root.iter(f"{w}t")]
    text = "".join(runs)
    for name in expected_names:
        assert name in text

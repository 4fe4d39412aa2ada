"""Names that are legal but unusual — a file name in GBK bytes, names near the 255-byte limit, Rich
markup in a path, a unit name of thousands of characters or with control characters — each works or
is a Chinese message naming it, never an internal error."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import corpus
import pytest

from hbreport.errors import EXIT_FINDINGS, EXIT_OK, EXIT_UNUSABLE
from hbreport.paths import SAMPLE_UNITS

REPO = Path(__file__).resolve().parent.parent
CRASH_SIGNS = ("Traceback", "程序内部错误", "MarkupError", "Exception ignored")
COUNTY, PERIOD = corpus.FORM_COUNTY, str(corpus.FORM_PERIOD)


def _hbreport(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    return subprocess.run(
        [sys.executable, "-m", "hbreport", *args], capture_output=True, env=env, cwd=REPO, timeout=600
    )


def _text(done: subprocess.CompletedProcess) -> str:
    text = (done.stdout + done.stderr).decode("utf-8", "replace")
    assert not any(sign in text for sign in CRASH_SIGNS), text[-2000:]
    return text


@pytest.fixture(scope="module")
def children(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return corpus.good_children(tmp_path_factory.mktemp("good"), ("421122101", "421122102"))


@pytest.mark.slow
def test_a_file_name_in_gbk_bytes_is_read_and_shown_in_chinese(
    children: dict[str, Path], tmp_path: Path
) -> None:
    """What unzip makes of an archive from a Chinese Windows: the name's bytes are GBK, not UTF-8."""
    folder = tmp_path / "收到的报表"
    folder.mkdir()
    gbk = os.fsdecode("421122101_梅塘镇_2017.xlsx".encode("gbk"))
    shutil.copy(children["421122101"], folder / gbk)
    shutil.copy(children["421122102"], folder / children["421122102"].name)
    out = tmp_path / "县.xlsx"
    done = _hbreport(
        "consolidate", str(folder), "--parent", COUNTY, "--period", PERIOD, "--out", str(out), "--json"
    )
    _text(done)
    assert done.returncode == EXIT_FINDINGS  # the other townships have not reported
    summary = json.loads(done.stdout)
    assert {Path(r["file"]).name for r in summary["received"]} == {
        "421122101_梅塘镇_2017.xlsx",
        children["421122102"].name,
    }
    done = _hbreport("check", str(folder))
    assert done.returncode == EXIT_OK and "421122101_梅塘镇_2017.xlsx" in _text(done)


def _long_name(stem_bytes: int, suffix: str = ".xlsx") -> str:
    """A file name of exactly ``stem_bytes`` + len(suffix) bytes in UTF-8 (Chinese characters, 3 bytes each)."""
    chars, rest = divmod(stem_bytes, 3)
    return "报" * chars + "x" * rest + suffix


@pytest.mark.slow
def test_names_up_to_255_bytes_work_as_input_and_as_output(children: dict[str, Path], tmp_path: Path) -> None:
    """A 247-byte input name gets its return copy; a 251-byte --out is written (the temporary files
    beside them are named to fit)."""
    import openpyxl

    folder = tmp_path / "in"
    folder.mkdir()
    long_input = folder / _long_name(247 - 5)
    book = openpyxl.load_workbook(children["421122101"])
    sheet, ref = corpus.form_cell(corpus.PP, "exited_people", 2)
    book[sheet][ref] = "约300"  # a finding, so that a return copy is made
    book.save(long_input)
    shutil.copy(children["421122102"], folder / children["421122102"].name)  # one accepted, so a workbook
    assert len(long_input.name.encode()) == 247
    out = tmp_path / "out" / _long_name(251 - 5)
    assert len(out.name.encode()) == 251
    done = _hbreport("consolidate", str(folder), "--parent", COUNTY, "--period", PERIOD, "--out", str(out))
    _text(done)
    assert done.returncode == EXIT_FINDINGS and out.is_file()
    assert (out.parent / "退回" / long_input.name).is_file()


@pytest.mark.slow
def test_rich_markup_in_a_path_is_printed_as_it_is(tmp_path: Path) -> None:
    folder = tmp_path / "x\\[old]汇总"
    folder.mkdir()
    out = tmp_path / "[red]输出" / "[bold]县.xlsx"
    done = _hbreport(
        "consolidate", str(folder / "不存在"), "--parent", COUNTY, "--period", PERIOD, "--out", str(out)
    )
    assert done.returncode == EXIT_UNUSABLE and "x\\[old]汇总" in _text(done)
    (out.parent).mkdir()
    out.write_bytes(b"")
    done = _hbreport("consolidate", str(folder), "--parent", COUNTY, "--period", PERIOD, "--out", str(out))
    assert done.returncode == EXIT_UNUSABLE and "「[bold]县.xlsx」" in _text(done)


def _units_with(tmp_path: Path, code: str, name: str) -> Path:
    with open(SAMPLE_UNITS, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        if row["code"] == code:
            row["name"] = name
    path = tmp_path / "units.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.mark.parametrize(
    ("name", "words"),
    [
        pytest.param("长" * 5000, ("5,000 个字", "上限"), id="5000-characters"),
        pytest.param("梅塘\x0b镇", ("控制字符", "U+000B"), id="vertical-tab"),
        pytest.param("梅塘镇\u200b", ("控制字符", "U+200B"), id="zero-width-space"),
    ],
)
def test_a_unit_name_no_file_can_hold_is_refused_before_anything_is_written(
    tmp_path: Path, name: str, words: tuple[str, ...]
) -> None:
    units = _units_with(tmp_path, "421122102000", name)
    out = tmp_path / "forms"
    done = _hbreport(
        "forms",
        "--period",
        PERIOD,
        "--level",
        "township",
        "--under",
        COUNTY,
        "--units",
        str(units),
        "--out",
        str(out),
    )
    text = _text(done)
    assert done.returncode == EXIT_UNUSABLE, text[-2000:]
    assert "units.csv" in text and "421122102000" in text and all(w in text for w in words), text[-2000:]
    assert not out.exists() or not list(out.iterdir())

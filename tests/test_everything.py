"""One folder holding good workbooks and one file of every kind of trouble of issue 20 — a crafted
workbook that would abort a reader, names a Chinese Windows or a long path makes, a pipe, a device,
a dangling shortcut, millions of unused shared strings — and a run killed earlier while writing into
the output folder: `check` and `consolidate` answer every file in Chinese, the good workbooks are
consolidated exactly, the inputs are unchanged and nothing crashes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
from pathlib import Path

import corpus
import openpyxl
import pytest
from county_totals import assert_county_holds, county_input_expected

from hbreport.errors import EXIT_FINDINGS
from hbreport.spec import build_workbook_spec
from hbreport.xlsx.atomic import new_file_mode
from hbreport.xlsx.safety import MAX_SHARED_STRINGS, sha256_file

REPO = Path(__file__).resolve().parent.parent
COUNTY, PERIOD = corpus.FORM_COUNTY, str(corpus.FORM_PERIOD)
GOOD = ("421122102", "421122103")  # 石坪镇, 黄河镇: clean, plain names
GBK_NAMED = "421122104"  # 清山镇: clean, its name in GBK bytes
LONG_NAMED = "421122105"  # 上河镇: text in a count (returned), a 247-byte name
CRAFTED = corpus.FORM_TOWNSHIP + "000"  # 梅塘镇: the far corner hidden from names
ERROR_VALUE = "421122106"  # 竹庙镇: #N/A pasted into a count cell as a value (returned)
CRASH_SIGNS = ("Traceback", "程序内部错误", "意外错误", "panicked", "MarkupError", "Exception ignored")
SPECIALS = ("管道.xlsx", "已删除的报表.xlsx", "设备.xlsx")


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))


def _hbreport(*args: str) -> tuple[int, str, str]:
    done = subprocess.run(
        [sys.executable, "-m", "hbreport", *args], capture_output=True, env=_env(), cwd=REPO, timeout=900
    )
    out, err = done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace")
    assert not any(sign in out + err for sign in CRASH_SIGNS), (out + err)[-3000:]
    return done.returncode, out, err


def _shared_strings_bomb(path: Path) -> Path:
    count = MAX_SHARED_STRINGS + 1
    parts = corpus.workbook_parts()
    parts["xl/sharedStrings.xml"] = (
        f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{corpus.MAIN_NS}" count="{count}" '
        f'uniqueCount="{count}">' + "".join(f"<si><t>{n}</t></si>" for n in range(count)) + "</sst>"
    ).encode()
    return corpus.write_zip(path, parts)


def _killed_while_writing(target: Path) -> Path:
    """The temporary file a run leaves when it is killed while writing ``target``."""
    script = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "from hbreport.xlsx.atomic import atomic_output\n"
        "with atomic_output(Path(sys.argv[1])) as tmp:\n"
        "    tmp.write_bytes(b'half')\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(target)], env=_env(), timeout=120)
    assert done.returncode == -signal.SIGKILL
    (left,) = [p for p in target.parent.iterdir() if p.name.endswith(".tmp")]
    return left


@pytest.fixture(scope="module")
def everything(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("everything")
    folder = root / "收到的报表"
    folder.mkdir()
    corpus.good_children(folder, GOOD)
    made = corpus.good_children(root / "renamed", (GBK_NAMED, LONG_NAMED, ERROR_VALUE))
    gbk_name = os.fsdecode(made[GBK_NAMED].name.encode("gbk"))
    shutil.copy(made[GBK_NAMED], folder / gbk_name)
    book = openpyxl.load_workbook(made[LONG_NAMED])
    sheet, ref = corpus.form_cell(corpus.PP, "exited_people", 2, code=LONG_NAMED)
    book[sheet][ref] = "约300"
    long_name = "上河镇" * 26 + "x" * 8 + ".xlsx"  # 247 bytes
    assert len(long_name.encode()) == 247
    book.save(folder / long_name)
    book = openpyxl.load_workbook(made[ERROR_VALUE])
    sheet, ref = corpus.form_cell(corpus.PP, "exited_people", 1, code=ERROR_VALUE)
    book[sheet][ref] = "#N/A"  # stored as an error value (t="e"), as a paste from another workbook does
    book.save(folder / made[ERROR_VALUE].name)
    corpus.make_form_hidden_far_corner(folder)
    _shared_strings_bomb(folder / "共享文本.xlsx")
    os.mkfifo(folder / SPECIALS[0])
    (folder / SPECIALS[1]).symlink_to(root / "不存在.xlsx")
    (folder / SPECIALS[2]).symlink_to("/dev/zero")
    out = root / "汇总" / "红安县_2017.xlsx"
    out.parent.mkdir()
    stale = _killed_while_writing(out)
    regular = [p for p in folder.iterdir() if p.is_file() and not p.is_symlink()]
    return {
        "folder": folder,
        "out": out,
        "stale": stale,
        "long_name": long_name,
        "before": {p: sha256_file(p) for p in regular},
        "expected": county_input_expected({code: corpus.form_values(code) for code in (*GOOD, GBK_NAMED)}),
    }


@pytest.mark.slow
def test_consolidate_answers_every_file_and_keeps_the_good_ones_exact(everything: dict) -> None:
    folder, out = everything["folder"], everything["out"]
    code, text, err = _hbreport(
        "consolidate", str(folder), "--parent", COUNTY, "--period", PERIOD, "--out", str(out), "--json"
    )
    assert code == EXIT_FINDINGS, err[-3000:]
    summary = json.loads(text)
    status = {c["code"]: c for c in summary["children"]}
    for code9 in (*GOOD, GBK_NAMED):
        assert status[code9 + "000"]["status"] == "已报", status[code9 + "000"]
    assert status[GBK_NAMED + "000"]["files"] == [f"{GBK_NAMED}_清山镇_2017.xlsx"]  # shown in Chinese
    assert status[LONG_NAMED + "000"]["status"] == "退回"
    assert status[ERROR_VALUE + "000"]["status"] == "退回"  # an error value is an error, not a blank
    (pasted,) = [f for f in findings_of(text, ERROR_VALUE)]
    assert pasted["importance"] == "error" and "#N/A" in pasted["message"]
    assert (out.parent / "退回" / everything["long_name"]).is_file()
    assert status[CRAFTED]["status"] == "未报"
    findings = summary["findings"]
    pp = build_workbook_spec(corpus.FORM_TOWNSHIP, corpus.FORM_PERIOD).sheet(corpus.PP).sheet
    (crafted,) = [f for f in findings if (f["file"] or "").endswith("form_hidden_far_corner.xlsx")]
    assert (crafted["sheet"], crafted["cell"]) == (pp, "XFD1048576") and "Ctrl+End" in crafted["hint"]
    (strings,) = [f for f in findings if (f["file"] or "").endswith("共享文本.xlsx")]
    assert "共享文本" in strings["message"] and strings["importance"] == "error"
    unread = {Path(f["file"]).name for f in findings if f["rule"] == "未读取"}
    assert set(SPECIALS) <= unread
    assert {Path(r["file"]).name for r in summary["rejected"]} == {
        "form_hidden_far_corner.xlsx",
        "共享文本.xlsx",
    }
    for f in findings:
        assert f["hint"], f
    assert_county_holds(
        out, everything["expected"], absent=(CRAFTED, LONG_NAMED + "000", ERROR_VALUE + "000")
    )
    assert not everything["stale"].exists()  # the killed run's temporary file is gone
    assert stat.S_IMODE(out.stat().st_mode) == new_file_mode()  # as any new file (issue 20, class 3)
    assert {p: sha256_file(p) for p in everything["before"]} == everything["before"]


def findings_of(text: str, code9: str) -> list[dict]:
    """The findings of a consolidation's JSON about one township's value cells."""
    return [
        f
        for f in json.loads(text)["findings"]
        if (f.get("unit_code") or "").startswith(code9) and f.get("cell") and f["importance"] == "error"
    ]


@pytest.mark.slow
def test_check_answers_every_file_in_chinese(everything: dict) -> None:
    code, text, err = _hbreport("check", str(everything["folder"]))
    assert code == EXIT_FINDINGS, err[-3000:]
    for name in ("form_hidden_far_corner.xlsx", "共享文本.xlsx", f"{GBK_NAMED}_清山镇_2017.xlsx", *SPECIALS):
        assert name in text, name
    assert "XFD1048576" in text and "约300" in text and "#N/A" in text
    assert {p: sha256_file(p) for p in everything["before"]} == everything["before"]

"""The store: every submission kept once, versions and the cells changed between them, two
consolidations at once on one store (real processes), and a store that cannot be used said in Chinese."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from consolidation_inputs import write_filled

from hbreport.cli import run as cli
from hbreport.consolidation.consolidate import consolidate
from hbreport.store.forms import FormStore

PERIOD = 2017
COUNTY = "420702"  # 梁子湖区
REPO = Path(__file__).resolve().parent.parent


def _argv(inbox: Path, out: Path, store: Path) -> list[str]:
    return [
        "consolidate",
        str(inbox),
        "--parent",
        COUNTY,
        "--period",
        "2017",
        "--out",
        str(out),
        "--store",
        str(store),
    ]


@pytest.mark.slow
def test_the_same_files_twice_add_nothing_and_a_corrected_file_becomes_a_new_version(
    inbox_copy, tmp_path, context, capsys
):
    store = tmp_path / "store" / "hbreport.sqlite"
    out = tmp_path / "out" / "梁子湖区.xlsx"
    assert cli(_argv(inbox_copy, out, store)) == 0
    files = sorted(inbox_copy.glob("*.xlsx"))
    with FormStore(store, write=False) as db:
        first = db.counts()
    assert first["submissions"] == len(files) and first["consolidations"] == 1
    assert cli([*_argv(inbox_copy, out, store), "--force"]) == 0  # the same files again
    with FormStore(store, write=False) as db:
        again = db.counts()
    assert again == first | {"consolidations": 2}

    # a township corrects two cells and sends its workbook again
    town = context["registry"].children(COUNTY)[2]
    path, spec, values = write_filled(town.code, PERIOD, tmp_path / "scratch", **context)
    village = next(code for code, row in values["poverty_progress"].items() if row.get("exited_people"))
    old_people = values["poverty_progress"][village]["new_people"]
    values["poverty_progress"][village]["new_people"] = old_people + 1
    project_row = next(
        code for code, row in values["key_projects"].items() if row.get("dilapidated_renovated") is not None
    )
    old_houses = values["key_projects"][project_row]["dilapidated_renovated"]
    values["key_projects"][project_row]["dilapidated_renovated"] = old_houses + 2
    from hbreport.xlsx.writer import write_workbook

    write_workbook(spec, inbox_copy / spec.file_name(), values=values, force=True)
    capsys.readouterr()
    assert cli([*_argv(inbox_copy, out, store), "--force"]) == 0
    with FormStore(store, write=False) as db:
        assert db.counts()["submissions"] == len(files) + 1
        versions = db.versions(town.code, PERIOD)
    assert [v["version"] for v in versions] == [1, 2] and [v["current"] for v in versions] == [False, True]

    capsys.readouterr()
    assert cli(["history", town.code[:9], "--period", "2017", "--store", str(store), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["compared"] == [1, 2] and len(shown["versions"]) == 2
    changes = {(c["form"], c["row"], c["field"]): (c["old"], c["new"]) for c in shown["changes"]}
    assert changes == {
        ("poverty_progress", village, "new_people"): (old_people, old_people + 1),
        ("key_projects", project_row, "dilapidated_renovated"): (old_houses, old_houses + 2),
    }
    assert all(c["cell"] and c["sheet"] for c in shown["changes"])
    assert cli(["history", town.code[:9], "--period", "2017", "--store", str(store)]) == 0
    text = capsys.readouterr().out
    assert "第1版 → 第2版：修改了 2 个单元格" in text and "（当前采用）" in text


@pytest.mark.slow
def test_two_consolidations_at_once_on_one_store_keep_every_submission_once(county_inbox, tmp_path):
    """Two real processes consolidate the same folder into one new store at the same time; whichever
    order their transactions take, both finish and every file is kept once."""
    store = tmp_path / "shared.sqlite"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hbreport",
                *_argv(county_inbox, tmp_path / f"out{i}" / "县.xlsx", store),
                "--json",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=tmp_path,
        )
        for i in range(2)
    ]
    results = [p.communicate(timeout=600) for p in procs]
    for p, (out, err) in zip(procs, results, strict=True):
        assert p.returncode == 0, err.decode()
        assert json.loads(out)["store"] == str(store)
    files = list(county_inbox.glob("*.xlsx"))
    db = sqlite3.connect(store)
    try:
        assert db.execute("SELECT COUNT(*), COUNT(DISTINCT sha256) FROM submissions").fetchone() == (
            len(files),
            len(files),
        )
        assert db.execute("SELECT COUNT(*) FROM consolidations").fetchone() == (2,)
        assert db.execute("SELECT COUNT(*) FROM consolidation_inputs").fetchone() == (2 * len(files),)
        assert db.execute(
            "SELECT COUNT(*) FROM submissions WHERE version != 1 OR current != 1"
        ).fetchone() == (0,)
    finally:
        db.close()


def _fails_in_chinese(argv, capsys, *words) -> str:
    assert cli(argv) == 2
    err = capsys.readouterr().err
    assert "程序内部错误" not in err and "Traceback" not in err
    for word in words:
        assert word in err
    return err


@pytest.mark.slow
def test_a_store_that_cannot_be_used_is_a_chinese_message(county_inbox, tmp_path, capsys, monkeypatch):
    out = tmp_path / "out" / "县.xlsx"
    text = tmp_path / "notes.sqlite"
    text.write_text("这不是数据库", encoding="utf-8")
    _fails_in_chinese(_argv(county_inbox, out, text), capsys, "不是 hbreport 数据库")
    assert text.read_text(encoding="utf-8") == "这不是数据库" and not out.exists()

    other = tmp_path / "other.sqlite"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE things (x)")
    con.commit()
    con.close()
    before = other.read_bytes()
    _fails_in_chinese(_argv(county_inbox, out, other), capsys, "不是 hbreport 的数据库")
    assert other.read_bytes() == before

    good = tmp_path / "good.sqlite"
    assert cli(_argv(county_inbox, out, good)) == 0
    capsys.readouterr()
    good.chmod(0o444)
    try:
        _fails_in_chinese([*_argv(county_inbox, out, good), "--force"], capsys, "只读")
    finally:
        good.chmod(0o644)

    monkeypatch.setenv("HBREPORT_STORE_WAIT", "0")
    holder = sqlite3.connect(good, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        _fails_in_chinese([*_argv(county_inbox, out, good), "--force"], capsys, "另一个程序")
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    _fails_in_chinese(
        ["history", COUNTY, "--period", "2017", "--store", str(text)], capsys, "不是 hbreport 数据库"
    )
    _fails_in_chinese(
        ["history", COUNTY, "--period", "2017", "--store", str(tmp_path / "none.sqlite")],
        capsys,
        "找不到数据库",
    )
    _fails_in_chinese(["history", "420702", "--period", "2016", "--store", str(good)], capsys, "没有")
    _fails_in_chinese(["history", COUNTY, "--period", "2017", "--store", str(tmp_path)], capsys, "--store")


def test_the_library_keeps_nothing_without_a_store(county_inbox, tmp_path, context):
    summary = consolidate(county_inbox, COUNTY, PERIOD, tmp_path / "o" / "x.xlsx", workers=1, **context)
    assert summary.store is None and not any(tmp_path.rglob("*.sqlite"))


def _roster_argv(folder: Path, store: Path, export: Path) -> list[str]:
    return [
        "roster",
        "consolidate",
        str(folder),
        "--parent",
        "421122",
        "--period",
        "2017",
        "--store",
        str(store),
        "--roster",
        str(export),
        "--json",
    ]


@pytest.mark.slow
def test_household_rosters_share_the_store_and_two_first_runs_at_once_both_finish(tmp_path, county_inbox):
    """Rosters go into the same store file as the forms; two first runs into one fresh store at once
    both finish (no 'duplicate column name'), every household kept once; a file that is not a store
    is refused in Chinese."""
    from hbreport.households.synth import write_synthetic

    synth = write_synthetic(tmp_path / "synth", 2017, under="421122", limit=2)
    store = tmp_path / "one.sqlite"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    argv = _roster_argv(synth.rosters[0].parent, store, synth.export)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "hbreport", *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        )
        for _ in range(2)
    ]
    for p in procs:
        _out, err = p.communicate(timeout=600)
        assert p.returncode in (0, 1), err.decode()  # 1: the planted mistakes are errors
        assert "程序内部错误" not in err.decode()
    db = sqlite3.connect(store)
    try:
        assert db.execute("SELECT COUNT(*) FROM households").fetchone() == (synth.households,)
    finally:
        db.close()
    # the forms' consolidation into the same file: both kinds of data side by side
    assert cli(_argv(county_inbox, tmp_path / "out" / "县.xlsx", store)) == 0
    with FormStore(store, write=False) as forms:
        assert forms.counts()["submissions"] == len(list(county_inbox.glob("*.xlsx")))
    db = sqlite3.connect(store)
    try:
        assert db.execute("SELECT COUNT(*) FROM households").fetchone() == (synth.households,)
    finally:
        db.close()

    text = tmp_path / "台账.sqlite"
    text.write_bytes(b"PK\x03\x04 not a database")
    done = subprocess.run(
        [sys.executable, "-m", "hbreport", *_roster_argv(synth.rosters[0].parent, text, synth.export)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert (
        done.returncode == 2 and "不是 hbreport 数据库" in done.stderr and "程序内部错误" not in done.stderr
    )

"""A roster consolidation stores each township as it is read; until the run ends, the store records
which townships await its end and what they replaced. A run killed half way, or failing, leaves no
township stored: the next store opened for writing (or the run itself) takes them back."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from household_cases import LINE, OTHER_TOWNSHIP, PERIOD, TOWNSHIP, clean_inputs, households

from hbreport.errors import HBError
from hbreport.households import RosterStore, build_roster_spec, consolidate_rosters, write_roster

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
GIVE_UP = 300.0  # only a broken run takes this long; the test then fails instead of hanging


@pytest.fixture
def versions(registry, catalog, tmp_path):
    """``make(township, income, folder, name)``: a roster of the township, its first household's income
    set to ``income`` (a different file for each income)."""
    hh = {
        TOWNSHIP: households(registry, TOWNSHIP),
        OTHER_TOWNSHIP: households(registry, OTHER_TOWNSHIP, start=100),
    }
    specs = {t: build_roster_spec(t, PERIOD, h, registry=registry, catalog=catalog) for t, h in hh.items()}

    def make(township: str, income: float, folder: Path, name: str) -> Path:
        values = clean_inputs(hh[township])
        values[hh[township][0].household_id]["income_per_capita"] = income
        return write_roster(specs[township], folder / name, values=values, force=True)

    return make


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _stored(store: Path) -> dict[str, str]:
    """The store's townships and the sha256 of the file each was stored from, read from outside."""
    if not store.exists():
        return {}
    db = sqlite3.connect(f"{store.as_uri()}?mode=ro", uri=True)
    try:
        return dict(db.execute("SELECT township_code, sha256 FROM sources"))
    except sqlite3.OperationalError:  # the tables are not made yet
        return {}
    finally:
        db.close()


def _held(store: Path) -> tuple:
    with RosterStore(store) as s:
        rows = sorted(
            (r["township_code"], r["household_id"], r["income_per_capita"]) for r in s.households(PERIOD)
        )
        return rows, {x["township_code"]: (x["sha256"], x["file"]) for x in s.sources(PERIOD)}


def _stored_before(store: Path, versions, registry, catalog) -> tuple:
    """The township stored by an earlier run that ended: a roster of it consolidated into ``store``;
    what the store then holds (:func:`_held`)."""
    folder = versions(TOWNSHIP, LINE * 3, store.parent / "before", "a.xlsx").parent
    consolidate_rosters(folder, "421122", PERIOD, store, registry=registry, catalog=catalog)
    return _held(store)


def _awaiting(store: Path) -> tuple[int, int, int, int]:
    db = sqlite3.connect(store)
    try:
        return tuple(
            db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
            for t in ("runs", "pending", "pending_households", "pending_sources")
        )
    finally:
        db.close()


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="kills the run with SIGKILL")
def test_a_run_killed_between_two_townships_is_taken_back_by_the_next(registry, catalog, tmp_path, versions):
    """A real consolidation process is killed (SIGKILL: no cleanup) after it stored a township's first
    file and another township's, while a second, different file of the second township is on its way.
    While it lives, opening the store elsewhere leaves its townships alone; once it is dead, the re-run
    takes them back — the township stored before the run has its old rows back, the other is not
    stored — and refuses both files of each township, as a run that had ended would have."""
    store = tmp_path / "store.sqlite"
    before = _stored_before(store, versions, registry, catalog)
    assert set(before[1]) == {TOWNSHIP}

    folder = tmp_path / "in"
    first_a = versions(TOWNSHIP, LINE * 4, folder, "1_城关镇.xlsx")
    first_b = versions(OTHER_TOWNSHIP, LINE * 4, folder, "2_梅塘镇.xlsx")
    versions(OTHER_TOWNSHIP, LINE * 5, folder, "3_梅塘镇_停住.xlsx")  # the run waits here until killed
    versions(TOWNSHIP, LINE * 6, folder, "4_城关镇.xlsx")
    halfway = {TOWNSHIP: _sha(first_a), OTHER_TOWNSHIP: _sha(first_b)}

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    run = subprocess.Popen(
        [sys.executable, str(HERE / "stopping_run.py"), str(folder), "421122", str(PERIOD), str(store)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + GIVE_UP
        while _stored(store) != halfway:  # both first files stored: the run now waits at 停住
            assert run.poll() is None, run.stderr.read().decode()
            assert time.monotonic() < deadline, "the run never stored its first two files"
            time.sleep(0.05)
        with RosterStore(store) as alive:  # another process's run, alive: not taken back
            assert alive.taken_back == []
        assert _stored(store) == halfway and _awaiting(store)[:2] == (1, 2)
    finally:
        run.send_signal(signal.SIGKILL)
        run.wait()
        run.stderr.close()
    assert run.returncode == -signal.SIGKILL
    assert _stored(store) == halfway  # what the killed run left: its first files stored

    summary = consolidate_rosters(folder, "421122", PERIOD, store, registry=registry, catalog=catalog)
    assert {(t.township_code, t.restored, Path(t.file).name) for t in summary.taken_back} == {
        (TOWNSHIP, True, first_a.name),
        (OTHER_TOWNSHIP, False, first_b.name),
    }
    statuses = {Path(f.file).name: (f.status, f.stored) for f in summary.files}
    assert statuses == dict.fromkeys(
        ["1_城关镇.xlsx", "2_梅塘镇.xlsx", "3_梅塘镇_停住.xlsx", "4_城关镇.xlsx"], ("重复", None)
    )
    assert _held(store) == before and summary.households_in_store == len(before[0])
    text = summary.render()
    assert "上次汇总没有正常结束" in text and f"{first_a.name}" in text and "恢复为此前入库的版本" in text
    assert summary.to_dict()["taken_back"][0]["township_code"] in (TOWNSHIP, OTHER_TOWNSHIP)
    assert _awaiting(store) == (0, 0, 0, 0)
    with RosterStore(store) as again:  # taken back once
        assert again.taken_back == []


def test_a_run_that_fails_takes_its_townships_back_at_once(registry, catalog, tmp_path, versions):
    """A run stopped by an exception after storing townships (here Ctrl-C after the second file, through
    the progress callback) takes them back before it ends: the store holds what it held before."""
    store = tmp_path / "store.sqlite"
    before = _stored_before(store, versions, registry, catalog)
    folder = tmp_path / "in"
    versions(TOWNSHIP, LINE * 4, folder, "1_城关镇.xlsx")
    versions(OTHER_TOWNSHIP, LINE * 4, folder, "2_梅塘镇.xlsx")

    def progress(done: int, total: int) -> None:
        if done == 2:
            assert set(_stored(store)) == {TOWNSHIP, OTHER_TOWNSHIP}  # both stored on the way
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        consolidate_rosters(
            folder, "421122", PERIOD, store, registry=registry, catalog=catalog, progress=progress
        )
    assert _held(store) == before and _awaiting(store) == (0, 0, 0, 0)
    # the same folder run to its end: both stored, nothing awaits
    summary = consolidate_rosters(folder, "421122", PERIOD, store, registry=registry, catalog=catalog)
    assert {f.stored for f in summary.files} == {"replaced", "inserted"} and summary.taken_back == []
    assert set(_stored(store)) == {TOWNSHIP, OTHER_TOWNSHIP} and _awaiting(store) == (0, 0, 0, 0)


def test_a_store_of_the_first_version_is_brought_up_and_a_newer_one_is_refused(
    registry, catalog, tmp_path, versions
):
    """A store made before runs were recorded (schema version 1: no pending tables) gets them when it
    is opened for writing and keeps its rows; a store of a newer version is refused in Chinese."""
    store = tmp_path / "store.sqlite"
    folder = versions(TOWNSHIP, LINE * 3, tmp_path / "before", "a.xlsx").parent
    consolidate_rosters(folder, "421122", PERIOD, store, registry=registry, catalog=catalog)
    before = _held(store)
    db = sqlite3.connect(store)
    with db:
        for table in ("runs", "pending", "pending_households", "pending_sources"):
            db.execute(f"DROP TABLE {table}")
        db.execute("UPDATE store_info SET value = '1' WHERE key = 'schema_version'")
    db.close()
    with RosterStore(store):
        pass
    db = sqlite3.connect(store)
    try:
        assert db.execute("SELECT value FROM store_info WHERE key = 'schema_version'").fetchone() == ("2",)
    finally:
        db.close()
    assert _held(store) == before and _awaiting(store) == (0, 0, 0, 0)
    summary = consolidate_rosters(folder, "421122", PERIOD, store, registry=registry, catalog=catalog)
    assert {f.stored for f in summary.files} == {"unchanged"}

    db = sqlite3.connect(store)
    with db:
        db.execute("UPDATE store_info SET value = '3' WHERE key = 'schema_version'")
    db.close()
    with pytest.raises(HBError, match="更新版本的 hbreport"):
        RosterStore(store)
    assert _held_raw(store) == before[0]


def _held_raw(store: Path) -> list:
    db = sqlite3.connect(store)
    try:
        return sorted(db.execute("SELECT township_code, household_id, income_per_capita FROM households"))
    finally:
        db.close()

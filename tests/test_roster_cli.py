"""`hbreport roster forms` and `hbreport roster consolidate` through the command line, on real files."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from hbreport.households.synth import write_synthetic
from hbreport.xlsx.safety import sha256_file


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "hbreport", *args], capture_output=True, text=True, check=False, timeout=600
    )


@pytest.mark.slow
def test_roster_commands_generate_and_consolidate(tmp_path: Path) -> None:
    synth = write_synthetic(tmp_path / "synth", 2017, under="421122", limit=2)
    assert len(synth.rosters) == 2

    blank = tmp_path / "台账"
    done = _cli(
        "roster",
        "forms",
        "--period",
        "2017",
        "--under",
        "421122",
        "--roster",
        str(synth.export),
        "--out",
        str(blank),
        "--json",
    )
    assert done.returncode == 0, done.stderr
    files = json.loads(done.stdout)["files"]
    assert files and all(Path(f).name.endswith("_2017_台账.xlsx") for f in files)

    before = {p: sha256_file(p) for p in synth.rosters}
    store = tmp_path / "households.sqlite"
    done = _cli(
        "roster",
        "consolidate",
        str(synth.rosters[0].parent),
        "--parent",
        "421122",
        "--period",
        "2017",
        "--store",
        str(store),
        "--roster",
        str(synth.export),
        "--json",
    )
    assert "Traceback" not in done.stderr
    assert done.returncode in (0, 1), done.stderr  # 1: the planted mistakes are errors
    summary = json.loads(done.stdout)
    assert summary["exit_code"] == done.returncode
    with sqlite3.connect(store) as db:
        rows = db.execute("select count(*) from households").fetchone()[0]
    assert rows == synth.households
    assert {p: sha256_file(p) for p in synth.rosters} == before

    done = _cli(
        "roster",
        "consolidate",
        str(tmp_path / "nowhere"),
        "--parent",
        "421122",
        "--period",
        "2017",
        "--store",
        str(store),
    )
    assert done.returncode == 2 and "找不到目录" in done.stderr and "Traceback" not in done.stderr

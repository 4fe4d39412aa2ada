"""Rosters for every year of the plan: each year has a (sample) poverty line, so 2018 and 2019 — the
years of most county exits — generate and consolidate like 2016, 2017 and 2020."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import openpyxl
import pytest

from hbreport.catalog import load_catalog
from hbreport.households import consolidate_rosters
from hbreport.households.synth import write_synthetic


@pytest.mark.slow
@pytest.mark.parametrize("year", range(2016, 2021))
def test_rosters_generate_and_consolidate_every_plan_year(tmp_path: Path, year: int) -> None:
    synth = write_synthetic(tmp_path / "synth", year, under="421122", limit=1)
    assert len(synth.rosters) == 1 and synth.households > 0
    book = openpyxl.load_workbook(synth.rosters[0])
    notes = " ".join(str(c.value) for ws in book.worksheets for row in ws.iter_rows() for c in row if c.value)
    line = load_catalog().poverty_line(year)
    assert f"{year}年扶贫标准{line:g}元" in notes or f"扶贫标准{line:g}元" in notes
    store = tmp_path / "households.sqlite"
    summary = consolidate_rosters(
        synth.rosters[0].parent, "421122", year, store, roster_csv=synth.export, workers=1
    )
    assert summary.exit_code in (0, 1), summary.render()  # 1: the synthetic roster's planted mistakes
    with sqlite3.connect(store) as db:
        assert db.execute("select count(*) from households").fetchone()[0] == synth.households

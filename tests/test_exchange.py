"""export → import → check: the same values and no new findings; export from a consolidated workbook,
a folder of returns and a store; the JSON shaped like DHIS2's dataValueSets."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from consolidation_inputs import write_filled

from hbreport.checks.check import check_files
from hbreport.cli import run as cli
from hbreport.xlsx.writer import write_workbook

PERIOD = 2017
COUNTY = "420702"  # 梁子湖区
PP = "poverty_progress"


def _finding_keys(findings) -> set[tuple]:
    return {
        (Path(f.file).name if f.file else None, f.unit_code, f.sheet, f.cell, f.rule, f.message, f.importance)
        for f in findings
    }


@pytest.fixture
def returns(inbox_copy, tmp_path, context):
    """梁子湖区's townships, one of which reports more households than people exited (an error)."""
    town = context["registry"].children(COUNTY)[1]
    _path, spec, values = write_filled(town.code, PERIOD, tmp_path / "scratch", **context)
    row = next(r for r in values[PP].values() if r.get("exited_people"))
    row["exited_households"] = row["exited_people"] + 5
    code = next(c for c, r in values[PP].items() if r is row)
    notes = {PP: {code: "该村今年有户籍迁入，已核实"}}
    write_workbook(spec, inbox_copy / spec.file_name(), values=values, force=True, notes=notes)
    return {"inbox": inbox_copy, "wrong": town, "notes": notes}


@pytest.mark.slow
@pytest.mark.parametrize("kind", [".csv", ".json", ".parquet"])
def test_export_import_check_gives_the_same_values_and_findings(returns, tmp_path, registry, capsys, kind):
    inbox = returns["inbox"]
    findings, results = check_files([inbox], registry=registry)
    assert any(f.importance == "error" for f in findings)  # the planted error is there to survive
    out = tmp_path / f"values{kind}"
    assert cli(["export", str(inbox), "--out", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["units"] == len(results)
    back = tmp_path / "back"
    assert cli(["import", str(out), "--out", str(back)]) == 0
    again, results_again = check_files([back], registry=registry)
    assert {r.data.unit_code: r.data.rows for r in results_again} == {
        r.data.unit_code: r.data.rows for r in results
    }
    assert _finding_keys(again) == _finding_keys(findings)
    # the row's 说明 travels as the comment of its values, and back into the 说明 column
    assert {r.data.unit_code: r.notes for r in results_again} == {r.data.unit_code: r.notes for r in results}
    assert returns["notes"] in [r.notes for r in results_again]
    assert cli(["import", str(out), "--out", str(back)]) == 2  # never over what is there
    assert "已存在" in capsys.readouterr().err


def test_the_tidy_table_and_the_data_value_sets(returns, tmp_path, registry, capsys):
    inbox, town = returns["inbox"], returns["wrong"]
    csv = tmp_path / "v.csv"
    assert cli(["export", str(inbox), "--out", str(csv)]) == 0
    frame = pd.read_csv(csv, dtype=str, keep_default_na=False)
    village = registry.children(town.code)[0]
    mine = frame[(frame["org_unit"] == village.code) & (frame["field"] == "base_people")]
    assert len(mine) == 1
    row = mine.iloc[0]
    assert row["org_unit_name"] == village.name and row["reporting_unit"] == town.code
    assert row["field_name"] and row["measure_unit"] == "人" and row["indicator"] == "BASE_POOR_PEOPLE"
    assert row["period"] == "2017" and len(row["source_sha256"]) == 64 and row["status"] == "reported"
    assert set(frame["status"]) <= {"reported", "derived"}
    js = tmp_path / "v.json"
    assert cli(["export", str(inbox), "--out", str(js)]) == 0
    values = json.loads(js.read_text(encoding="utf-8"))["dataValues"]
    assert len(values) == len(frame)
    one = next(v for v in values if v["orgUnit"] == village.code and v["dataElement"] == f"{PP}.base_people")
    assert one["period"] == "2017" and one["value"] == row["value"] and isinstance(one["value"], str)


def test_export_from_a_consolidated_workbook_and_from_the_store(returns, tmp_path, capsys):
    inbox, town = returns["inbox"], returns["wrong"]
    out, store = tmp_path / "out" / "县.xlsx", tmp_path / "s.sqlite"
    argv = [
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
    assert cli(argv) == 1  # one township returned
    book = tmp_path / "book.csv"
    assert cli(["export", str(out), "--out", str(book)]) == 0
    frame = pd.read_csv(book, dtype=str, keep_default_na=False)
    theirs = frame[(frame["org_unit"] == town.code) & (frame["form"] == PP)]
    assert set(theirs["status"]) == {"returned"}
    assert (theirs[theirs["field"] == "exited_people"]["value"] == "").all()
    assert set(frame[frame["org_unit"] != town.code]["status"]) <= {"reported", "derived"}

    kept, folder = tmp_path / "store.csv", tmp_path / "folder.csv"
    assert cli(["export", str(store), "--out", str(kept)]) == 0
    assert cli(["export", str(inbox), "--out", str(folder)]) == 0
    a = pd.read_csv(kept, dtype=str, keep_default_na=False)
    b = pd.read_csv(folder, dtype=str, keep_default_na=False)
    b = b[b["reporting_unit"] != town.code]  # returned: not current in the store
    key = ["reporting_unit", "org_unit", "form", "field", "value", "status", "source_sha256"]
    assert sorted(map(tuple, a[key].values.tolist())) == sorted(map(tuple, b[key].values.tolist()))
    assert (a["received"] != "").all()


def test_export_and_import_refuse_what_they_cannot_use(tmp_path, capsys):
    bad = tmp_path / "x.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    assert cli(["import", str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "缺少列" in err and "程序内部错误" not in err
    assert cli(["export", str(tmp_path), "--out", str(tmp_path / "o.txt")]) == 2
    assert ".csv" in capsys.readouterr().err


@pytest.mark.slow
def test_the_report_from_the_store_says_what_the_report_from_the_workbook_says(returns, tmp_path, capsys):
    """The report takes (Dataset, Summary): from the store, or from the workbook read once through the
    gate; both give the same document."""
    import docx

    inbox, town = returns["inbox"], returns["wrong"]
    out, store = tmp_path / "out" / "县.xlsx", tmp_path / "s.sqlite"
    argv = [
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
    assert cli(argv) == 1
    when = ["--issued", "2018-01-15"]
    assert cli(["report", str(out), "--out", str(tmp_path / "book.docx"), *when]) == 0
    assert (
        cli(
            [
                "report",
                "--store",
                str(store),
                "--unit",
                COUNTY,
                "--period",
                "2017",
                "--out",
                str(tmp_path / "store.docx"),
                *when,
            ]
        )
        == 0
    )

    def text(path: Path) -> str:
        document = docx.Document(str(path))
        parts = [p.text for p in document.paragraphs]
        parts += ["|".join(c.text for c in row.cells) for t in document.tables for row in t.rows]
        return "\n".join(parts)

    book, kept = text(tmp_path / "book.docx"), text(tmp_path / "store.docx")
    assert f"退回1个：{town.name}" in book
    assert kept == book
    capsys.readouterr()
    assert (
        cli(
            [
                "report",
                "--store",
                str(store),
                "--unit",
                COUNTY,
                "--period",
                "2016",
                "--out",
                str(tmp_path / "x.docx"),
            ]
        )
        == 2
    )
    assert "没有" in capsys.readouterr().err

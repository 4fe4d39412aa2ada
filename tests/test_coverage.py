"""`hbreport catalog --coverage`: which form and column collects each catalog entry, checked on real workbooks."""

from __future__ import annotations

import json

import openpyxl
import pytest

from hbreport.baseline import load_baseline
from hbreport.catalog import load_catalog
from hbreport.cli import run
from hbreport.coverage import GAP, PROVINCE_ONLY, coverage
from hbreport.forms import prefill_values
from hbreport.registry import load_registry
from hbreport.spec import build_workbook_spec, load_fields
from hbreport.xlsx.layout import HEADER_ROW
from hbreport.xlsx.writer import write_workbook

PERIOD = 2017
COUNTY = "421122000000"
TOWNSHIP = "421122100000"


@pytest.fixture(scope="module")
def result():
    return coverage()


@pytest.fixture(scope="module")
def workbooks(tmp_path_factory):
    """level → opened workbook of the sample county and township, as `hbreport forms` writes them."""
    registry, catalog, baseline = load_registry(), load_catalog(), load_baseline()
    out = tmp_path_factory.mktemp("coverage")
    books = {}
    for level, code in (("county", COUNTY), ("township", TOWNSHIP)):
        spec = build_workbook_spec(code, PERIOD, registry=registry, catalog=catalog, baseline=baseline)
        path = write_workbook(spec, out / spec.file_name(), values=prefill_values(spec, registry, baseline))
        books[level] = openpyxl.load_workbook(path)
    return books


def test_every_field_names_entries_of_the_catalog() -> None:
    cat = load_catalog()
    unknown = {
        (key, code) for key, f in load_fields().items() for code in f.indicators if code not in cat.indicators
    }
    assert not unknown


def test_each_column_named_is_on_the_generated_workbook(result, workbooks) -> None:
    """The column a coverage line names holds that field's heading on the form a county or township gets."""
    checked = 0
    for entry in result.entries:
        for where in entry.where:
            for level in set(where.levels) & set(workbooks):
                sheet = workbooks[level][where.sheet]
                heading = str(sheet[f"{where.letter}{HEADER_ROW}"].value)
                assert heading.startswith(where.label), (entry.indicator.code, level, where, heading)
                checked += 1
    assert checked > 20


def test_a_province_figure_says_why_no_form_collects_it(result) -> None:
    by_code = {e.indicator.code: e for e in result.entries}
    regions = by_code["BASE_REGIONS"]
    assert not regions.collected and regions.reason == PROVINCE_ONLY
    people = by_code["BASE_POOR_PEOPLE"]
    assert people.collected and people.reason is None
    assert {w.table_no for w in people.where} == {"鄂扶贫01表"}


def test_every_uncollected_entry_has_a_reason(result) -> None:
    for entry in result.entries:
        assert entry.collected or entry.reason, entry.indicator.code


def test_cli_json_lists_every_entry_with_its_columns(capsys) -> None:
    assert run(["catalog", "--coverage", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["entries"]) == len(load_catalog())
    first = next(e for e in data["entries"] if e["code"] == "SCHED_PEOPLE_EXIT")
    assert {"鄂扶贫01表"} == {w["table_no"] for w in first["where"]}
    assert all(w["column"] >= 1 and w["letter"] for w in first["where"])
    summary = data["summary"]
    assert summary["county_township_collected"] <= summary["county_township_entries"]


def test_cli_text_names_form_column_or_reason(capsys) -> None:
    assert run(["catalog", "--coverage", "--section", "一(三)"]) == 0
    out = capsys.readouterr().out
    assert "BASE_POOR_PEOPLE" in out and "收集于 鄂扶贫01表「01脱贫进展」第2栏（D列）建档立卡贫困人口" in out
    assert "适用于县、乡镇的" in out


def test_gap_is_the_reason_only_where_county_or_township_applies(result) -> None:
    for entry in result.entries:
        if entry.reason == GAP:
            assert entry.counted, entry.indicator.code


def test_nine_in_ten_county_and_township_entries_are_collected(result) -> None:
    """The figure issue 17 asks for: of the entries that apply at county or township level, ≥ 90 % are on a form."""
    counted = result.counted
    collected = [e for e in counted if e.collected]
    assert len(counted) >= 130
    assert len(collected) / len(counted) >= 0.9, [e.indicator.code for e in counted if not e.collected]
    assert result.summary()["county_township_share"] == round(len(collected) / len(counted), 4)

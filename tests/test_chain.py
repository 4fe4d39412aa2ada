"""The full chain on the embedded sample: villages → township → county → prefecture → province.

鄂州市 (3 counties, 31 townships) and the province-direct 神农架林区 (11 townships) are filled village by
village and consolidated level by level — every consolidated output is the next level's input. The
province's other children (11 prefectures, 3 province-direct counties) send filled workbooks of their
own level. The province's totals must equal what the inputs add up to, field by field: sums, counts of
villages meeting a condition, maxima, and ratios recomputed from the sums.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from consolidation_inputs import YES, write_filled
from python_calamine import CalamineWorkbook
from readback import DOMAIN_FORMS

from hbreport.baseline import load_baseline
from hbreport.catalog import load_catalog
from hbreport.checks.engine import compute_row
from hbreport.consolidation.consolidate import consolidate
from hbreport.registry import load_registry
from hbreport.spec import TOTAL
from hbreport.xlsx.layout import SheetLayout
from hbreport.xlsx.reader import read_workbook
from hbreport.xlsx.safety import sha256_file

PERIOD = 2017
PROVINCE = "420000"
PREFECTURE = "420700"  # 鄂州市
DIRECT = "429021"  # 神农架林区: a county that reports straight to the province

MAX_FIELDS = {"loan_max_term"}
VILLAGE_COUNTS = {  # township form (one row per poor village) → the count on the forms above it
    "exited_before": "villages_exited_prior",
    "apply_exit": "villages_applying",
    "infrastructure_ok": "villages_infrastructure_ok",
    "services_ok": "villages_services_ok",
}


def _add(into: dict, form: str, key: str, value) -> None:
    if value is None:
        value = 0
    if isinstance(value, str):  # a choice of the domain forms (not checked here)
        return
    cur = into.setdefault(form, {}).get(key)
    if key in MAX_FIELDS:
        into[form][key] = value if cur is None else max(cur, value)
    else:
        into[form][key] = (cur or 0) + value


def _merge(into: dict, row: dict) -> dict:
    for form, cells in row.items():
        for key, value in cells.items():
            _add(into, form, key, value)
    return into


def meets_standard(v: dict, catalog, period: int) -> bool:
    """The plan's village exit standard (三(三)), stated directly with the catalog's numbers."""
    income_base = catalog.parameter("provincial_rural_income", period)
    return (
        v["remaining_poor_households"] == 0
        and v["village_income"] / income_base >= catalog.number("VILLAGE_EXIT_INCOME_RATIO", "ratio")
        and v["collective_income"] >= catalog.number("VILLAGE_EXIT_COLLECTIVE_INCOME", "万元")
        and v["infrastructure_ok"] == YES
        and v["services_ok"] == YES
    )


def township_row(values: dict, catalog) -> dict:
    """What a township's villages add up to, as the township's row on the county's forms."""
    row: dict = {}
    for form in ("poverty_progress", "key_projects"):
        for village in values[form].values():
            for key, value in village.items():
                _add(row, form, key, value)
        row.setdefault(form, {})
    poor = values["village_exit"]
    ve = row.setdefault("village_exit", {})
    ve["poor_villages"] = len(poor)
    for key, target in VILLAGE_COUNTS.items():
        ve[target] = sum(1 for v in poor.values() if v[key] == YES)
    ve["villages_meeting"] = sum(1 for v in poor.values() if meets_standard(v, catalog, PERIOD))
    return row


def own_row(values: dict, code: str) -> dict:
    """A county's own 04 form as its row on the forms above (通高速公路 是 counts one county)."""
    cells = dict(values["infrastructure"][code])
    cells["counties_highway"] = 1 if cells.pop("highway_connected") == YES else 0
    cells["counties_exit_applying"] = 1 if cells.pop("exit_applying", None) == YES else 0
    for key in ("rural_income", "fiscal_revenue_per_capita"):  # the county's own, not on the forms above
        cells.pop(key, None)
    return {"infrastructure": cells}


def workbook_row(values: dict) -> dict:
    """A filled county- or prefecture-level workbook as its row on the province's forms."""
    row: dict = {}
    for form, rows in values.items():
        for code, cells in rows.items():
            _merge(row, own_row(values, code) if "highway_connected" in cells else {form: cells})
    return row


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    registry, catalog, baseline = load_registry(), load_catalog(), load_baseline()
    kw = {"registry": registry, "catalog": catalog, "baseline": baseline}
    root = tmp_path_factory.mktemp("chain")
    expected: dict[str, dict] = {}  # province child → its row on the province's forms
    summaries = {}
    weighted = []  # (township file, Σ income × population, Σ population)
    province_in = root / "province"
    province_in.mkdir()

    def county_chain(county: str, out_dir: Path) -> dict:
        folder = root / county
        folder.mkdir()
        county_row: dict = {}
        for township in registry.children(county):
            path, _, values = write_filled(township.code, PERIOD, folder, **kw)
            _merge(county_row, township_row(values, catalog))
            poor = values["village_exit"].values()
            weighted.append(
                (
                    path,
                    sum(v["village_income"] * v["village_population"] for v in poor),
                    sum(v["village_population"] for v in poor),
                )
            )
        own_forms = ("infrastructure", "county_services", "funding", "regions")
        _, _, own = write_filled(county, PERIOD, folder, only=own_forms, **kw)
        _merge(county_row, own_row(own, registry.get(county).code))
        out = out_dir / f"{county}_{PERIOD}.xlsx"
        summaries[county] = consolidate(folder, county, PERIOD, out, workers=2, **kw)
        return county_row

    prefecture_in = root / "prefecture"
    prefecture_in.mkdir()
    prefecture_row: dict = {}
    for county in registry.children(PREFECTURE):
        _merge(prefecture_row, county_chain(county.code[:6], prefecture_in))
    summaries[PREFECTURE] = consolidate(prefecture_in, PREFECTURE, PERIOD, province_in / "鄂州市.xlsx", **kw)
    expected[registry.get(PREFECTURE).code] = prefecture_row
    expected[registry.get(DIRECT).code] = county_chain(DIRECT, province_in)

    for child in registry.children(PROVINCE):
        if child.code not in expected:
            _, _, values = write_filled(child.code, PERIOD, province_in, **kw)
            expected[child.code] = workbook_row(values)
    inputs = {p.name: sha256_file(p) for p in root.rglob("*.xlsx") if "退回" not in p.parts}
    out = root / "湖北省_2017.xlsx"
    summaries[PROVINCE] = consolidate(province_in, PROVINCE, PERIOD, out, **kw)
    return {
        "root": root,
        "out": out,
        "expected": expected,
        "summaries": summaries,
        "inputs": inputs,
        "weighted": weighted,
        "registry": registry,
        "catalog": catalog,
        "baseline": baseline,
    }


def _close(actual, expected) -> bool:
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return abs(actual - expected) <= 1e-9 * max(1.0, abs(expected))
    return actual == expected


@pytest.mark.slow
def test_every_level_consolidates_cleanly(chain):
    for code, summary in chain["summaries"].items():
        assert summary.exit_code == 0, (code, summary.render())
        assert not summary.missing and not summary.returned and not summary.rejected
        assert all(f.importance != "error" for f in summary.findings), summary.render()
    assert len(chain["summaries"][PROVINCE].received) == len(chain["registry"].children(PROVINCE)) == 17


def test_province_totals_equal_the_sum_of_the_inputs(chain):
    """Every column of the province's 合计 row, read back from the province's workbook."""
    kw = {k: chain[k] for k in ("registry", "catalog", "baseline")}
    data = read_workbook(chain["out"], **kw).data
    totals: dict = {}
    for row in chain["expected"].values():
        _merge(totals, row)
    checked = 0
    for sheet in data.spec.sheets:
        if sheet.form in DOMAIN_FORMS:  # left blank here; tests/test_domain_forms.py fills them
            continue
        want = dict(totals[sheet.form])
        for col in sheet.columns:
            if col.role == "prefill" and col.prefill.startswith("task:"):  # the province's own task
                tasks = chain["baseline"].tasks(chain["registry"])
                want[col.key] = tasks.cumulative(PROVINCE, col.prefill[5:], PERIOD)
            elif (
                col.role == "prefill"
            ):  # baseline columns: the province's own baseline, whatever was reported
                want[col.key] = chain["baseline"].totals(chain["registry"], PROVINCE)[col.prefill]
        want = compute_row(sheet, want)  # derived columns from the summed inputs: ratios of sums
        got = data.totals[sheet.form]
        for col in sheet.columns:
            assert _close(got[col.key], want[col.key]), (sheet.form, col.key, got[col.key], want[col.key])
            checked += 1
    assert checked == sum(len(s.columns) for s in data.spec.sheets if s.form not in DOMAIN_FORMS)

    # the province-direct county and the consolidated prefecture each arrive as their own row
    for code in (chain["registry"].get(PREFECTURE).code, chain["registry"].get(DIRECT).code):
        for form, cells in chain["expected"][code].items():
            for key, value in cells.items():
                assert _close(data.rows[form][code][key], value), (code, form, key)


def test_ratios_are_recomputed_from_sums_not_averaged(chain):
    data = read_workbook(chain["out"], **{k: chain[k] for k in ("registry", "catalog", "baseline")}).data
    kp, rows = data.totals["key_projects"], data.rows["key_projects"].values()
    assert kp["reloc_area_per_person"] == round(kp["reloc_area"] / kp["reloc_people"], 2)
    children_mean = sum(r["reloc_area_per_person"] for r in rows) / len(rows)
    assert abs(children_mean - kp["reloc_area_per_person"]) > 0.01  # an average of ratios would differ
    pp = data.totals["poverty_progress"]
    assert pp["cum_exit_rate"] == pytest.approx(
        (pp["prior_exited_people"] + pp["exited_people"]) / pp["base_people"]
    )
    infra = data.totals["infrastructure"]
    assert infra["safe_water_rate"] == pytest.approx(infra["safe_water_people"] / infra["poor_people_total"])
    assert kp["loan_max_term"] == max(r["loan_max_term"] for r in rows)
    ve = data.totals["village_exit"]
    assert ve["poor_villages"] == chain["baseline"].totals(chain["registry"], PROVINCE)["poor_villages"]


def test_weighted_mean_income_on_the_township_total(chain):
    """village_income is a weighted mean (by population): Σ(income × population) ÷ Σ population."""
    kw = {k: chain[k] for k in ("registry", "catalog", "baseline")}
    for path, weighted_sum, population in chain["weighted"][:5]:
        got = read_workbook(path, **kw).data.totals["village_exit"]["village_income"]
        assert got == pytest.approx(weighted_sum / population) if population else got in ("", None)


def test_inputs_untouched(chain):
    for path in chain["root"].rglob("*.xlsx"):
        # annotated copies in 退回/ (outputs, for the senders of workbooks with warnings) share their names
        if path.name in chain["inputs"] and path != chain["out"] and "退回" not in path.parts:
            assert sha256_file(path) == chain["inputs"][path.name], path
    used = {Path(f).name: sha for f, sha in chain["summaries"][PROVINCE].inputs}
    assert used == {p.name: sha256_file(p) for p in (chain["root"] / "province").glob("*.xlsx")}


@pytest.mark.libreoffice
def test_province_workbook_shows_the_same_totals_in_libreoffice(chain, tmp_path):
    """The output's 合计 formulas, recalculated by LibreOffice, show the totals the inputs add up to."""
    from hbreport import office

    data = read_workbook(chain["out"], **{k: chain[k] for k in ("registry", "catalog", "baseline")}).data
    recalculated = office.recalculate(chain["out"], tmp_path)
    book = CalamineWorkbook.from_path(str(recalculated))
    for sheet in data.spec.sheets:
        grid = book.get_sheet_by_name(sheet.sheet).to_python(skip_empty_area=False)
        layout = SheetLayout(sheet)
        for col in sheet.columns:
            shown = grid[layout.row_index[TOTAL] - 1][layout.col_index[col.key] - 1]
            want = data.totals[sheet.form][col.key]
            if want in ("", None):
                assert shown in ("", None), (sheet.form, col.key, shown)
            else:
                assert _close(shown, want), (sheet.form, col.key, shown, want)


def test_each_level_says_how_many_units_below_it_were_consolidated(chain):
    """Every consolidated workbook's 汇总校验 shows a 各级报送 table and its hidden Summary part holds
    the same counts; the level above adds its children's counts up (from the part, never from the
    Chinese sheet), so the province knows how many of the townships its figures contain. The sample's
    other children send workbooks of their own level (no Summary): their units below are not counted."""
    from hbreport.consolidation.consolidate import expected_by_level

    registry, summaries = chain["registry"], chain["summaries"]
    ezhou = registry.children(PREFECTURE)
    towns = {c.code: len(registry.children(c.code)) for c in [*ezhou, registry.get(DIRECT)]}
    for county in ezhou:
        assert summaries[county.code[:6]].levels == [("township", towns[county.code], towns[county.code])]
    ezhou_towns = sum(towns[c.code] for c in ezhou)
    assert summaries[PREFECTURE].levels == [("county", 3, 3), ("township", ezhou_towns, ezhou_towns)]
    ezhou_book = read_workbook(chain["root"] / "province" / "鄂州市.xlsx", registry=registry)
    assert ezhou_book.summary.levels == [("county", 3, 3), ("township", ezhou_towns, ezhou_towns)]
    assert ezhou_book.summary.to_part() == summaries[PREFECTURE].to_part()

    expected = expected_by_level(registry, PROVINCE)
    direct = [c for c in registry.children(PROVINCE) if c.level == "county"]
    got = {lv: (n, received) for lv, n, received in summaries[PROVINCE].levels}
    assert got["prefecture"] == (expected["prefecture"], expected["prefecture"])
    assert got["county"] == (expected["county"], 3 + len(direct))
    assert got["township"] == (expected["township"], ezhou_towns + towns[registry.get(DIRECT).code])
    assert "各级已汇总/应报：" in summaries[PROVINCE].render()


@pytest.mark.slow
def test_the_province_report_says_how_many_townships_its_figures_contain(chain, tmp_path):
    import docx

    from hbreport.consolidation.consolidate import expected_by_level
    from hbreport.report import report_from_workbook

    registry = chain["registry"]
    kw = {"registry": registry, "catalog": chain["catalog"], "baseline": chain["baseline"]}
    out = report_from_workbook(chain["out"], tmp_path / "省.docx", **kw)
    text = "".join(p.text for p in docx.Document(str(out)).paragraphs)
    expected = expected_by_level(registry, PROVINCE)
    got = {lv: received for lv, _n, received in chain["summaries"][PROVINCE].levels}
    assert (
        f"所辖县市区应报{expected['county']}个，已汇总{got['county']}个；"
        f"所辖乡镇应报{expected['township']}个，已汇总{got['township']}个。"
    ) in text
    county = report_from_workbook(
        chain["root"] / "prefecture" / "420702_2017.xlsx", tmp_path / "县.docx", **kw
    )
    assert "所辖" not in "".join(p.text for p in docx.Document(str(county)).paragraphs)  # no level below


@pytest.mark.slow
def test_the_province_rolls_up_by_region_and_its_report_has_a_region_section(chain, tmp_path):
    """片区汇总: the counties' rows of the children's workbooks added up by 片区 and 老区; the province
    report's 片区进展 says each region's figures and 未采集 for the region targets no form collects."""
    import docx
    from python_calamine import CalamineWorkbook

    from hbreport.baseline import AREA_FLAGS, OLD_AREA, POOR_AREA, REGIONS
    from hbreport.regions import REGION_SHEET, UNDETERMINED_KEY, read_region_sheet
    from hbreport.report import report_from_workbook

    registry, baseline, catalog = chain["registry"], chain["baseline"], chain["catalog"]
    kw = {"registry": registry, "catalog": catalog, "baseline": baseline}
    book = CalamineWorkbook.from_path(str(chain["out"]))
    rollup = read_region_sheet(book.get_sheet_by_name(REGION_SHEET).to_python(skip_empty_area=False))
    assert rollup == chain["summaries"][PROVINCE].regions
    # by hand: each child workbook's county rows, grouped by the county's region, poor county and each
    # key-area flag marked 1 (a blank flag is 未定: counted apart, in no group)
    want: dict[str, int] = {}
    undetermined: dict[str, set[str]] = {}
    for path in (chain["root"] / "province").glob("*.xlsx"):
        data = read_workbook(path, **kw).data
        for code, row in data.rows["poverty_progress"].items():
            county = baseline.county(code)
            groups = [county.region or "片区外"] + ([POOR_AREA] if county.poor_county else [])
            for flag in AREA_FLAGS:
                if county.area(flag.column) is True:
                    groups.append(flag.group)
                elif county.area(flag.column) is None:
                    undetermined.setdefault(flag.group, set()).add(code[:6])
            for group in groups:
                want[group] = want.get(group, 0) + row["cum_exited_people"]
    assert {g: v["cum_exited_people"] for g, v in rollup.items() if v["counties"]} == want
    assert set(REGIONS) <= set(rollup) and OLD_AREA in rollup
    assert {"贫困县", "少数民族地区"} <= set(want)  # the 恩施州 counties and 长阳、五峰 are in the chain
    # the sample leaves 特困地区 and 插花贫困地区 blank (the plan lists neither): 未定, never 否 or 0 people
    for group in ("特困地区", "插花贫困地区"):
        assert rollup[group] == {"counties": 0, UNDETERMINED_KEY: len(undetermined[group])}
        assert len(undetermined[group]) > 0
    assert rollup["少数民族地区"][UNDETERMINED_KEY] == 0

    out = report_from_workbook(chain["out"], tmp_path / "省.docx", **kw)
    document = docx.Document(str(out))
    text = "".join(p.text for p in document.paragraphs)
    assert "（二）片区进展" in text
    for region in REGIONS:
        values = rollup[region]
        assert f"{region}片区{int(values['counties'])}个县市区" in text
    from hbreport.spec import load_fields

    targets = [i.code for r in REGIONS for i in catalog.by_region(r)]
    measured = {c for f in load_fields().values() for c in (f.indicator, *f.indicators) if c}
    collected = sum(code in measured for code in targets)
    assert 0 < collected <= len(targets)  # what the forms collect (未采集 for the rest)
    assert (
        f"规划为四个片区确定的{len(targets)}项主要目标中，现有报表采集{collected}项，"
        f"其余{len(targets) - collected}项未采集"
    ) in text
    cells = [c.text for t in document.tables for row in t.rows for c in row.cells]
    assert cells.count("未采集") == len(targets) - collected
    assert "革命老区。规划支持新确定的83个革命老区县（市、区）" in text
    # the plan's five key areas (三(一)): figures where the registry marks the counties, 未定 where not
    minority = rollup["少数民族地区"]
    assert (
        f"规划三(一)确定的五大重点区域：贫困地区（贫困县）{int(rollup['贫困县']['counties'])}个县市区" in text
    )
    assert f"少数民族地区{int(minority['counties'])}个县市区有建档立卡贫困人口" in text
    for name, group in (("自然条件恶劣的特困地区", "特困地区"), ("重点插花贫困地区", "插花贫困地区")):
        n = int(rollup[group][UNDETERMINED_KEY])
        assert f"{name}，规划未列名单，单位名册也未标明，{n}个县市区名单未定，未汇总" in text
    table = next(t for t in document.tables if t.rows[0].cells[0].text == "重点区域")  # 表2-3
    rows = {r.cells[0].text: [c.text for c in r.cells] for r in table.rows[1:]}
    assert list(rows) == ["贫困县", "革命老区", "少数民族地区", "特困地区", "插花贫困地区"]
    assert rows["少数民族地区"][1:4] == [
        str(int(minority["counties"])),
        "",
        str(int(minority["base_people"])),
    ]
    assert rows["特困地区"][2:4] == [str(int(rollup["特困地区"][UNDETERMINED_KEY])), "未定"]

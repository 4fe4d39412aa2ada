"""The domain forms 鄂扶贫06—12表 (industry, social protection, village services, county services,
support, funding, region counties): written, filled as clerks would, consolidated county → prefecture,
and read back; totals are sums, counts of 是, ratios of sums and weighted means as fields.yaml says."""

from __future__ import annotations

from pathlib import Path

import pytest
from readback import DOMAIN_FORMS, domain_row

from hbreport.baseline import load_baseline
from hbreport.catalog import load_catalog
from hbreport.consolidation.consolidate import consolidate
from hbreport.forms import prefill_values
from hbreport.registry import load_registry
from hbreport.spec import LEVEL_FORMS, build_workbook_spec
from hbreport.xlsx.reader import read_workbook
from hbreport.xlsx.writer import write_workbook

PERIOD = 2017
PREFECTURE = "420200000000"  # 黄石市: two of its counties with poor villages report (the rest do not)


def _fill(code: str, folder: Path, kw: dict, seed: int, forms=DOMAIN_FORMS) -> dict:
    """Write ``code``'s workbook with the domain forms of ``forms`` filled; returns the values typed."""
    spec = build_workbook_spec(code, PERIOD, **kw)
    values = prefill_values(spec, kw["registry"], kw["baseline"])
    typed: dict = {}
    for sheet in spec.sheets:
        if sheet.form not in forms:
            continue
        rows = values.setdefault(sheet.form, {})
        for i, unit in enumerate(sheet.rows):
            base = rows.get(unit.code, {})
            row = domain_row(
                sheet, seed + i, base, kw["catalog"].parameter("provincial_rural_income", PERIOD)
            )
            rows[unit.code] = {**base, **row}
            typed.setdefault(sheet.form, {})[unit.code] = row
    write_workbook(spec, folder / spec.file_name(), values=values)
    return typed


def _counties(registry, baseline) -> list:
    """The prefecture's county with poor villages and fewest townships, and its smallest other county."""
    by_size = sorted(registry.children(PREFECTURE), key=lambda c: len(registry.children(c.code)))
    poor = next(c for c in by_size if baseline.totals(registry, c.code)["poor_villages"])
    return [poor, next(c for c in by_size if c is not poor)]


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    registry, catalog, baseline = load_registry(), load_catalog(), load_baseline()
    kw = {"registry": registry, "catalog": catalog, "baseline": baseline}
    root = tmp_path_factory.mktemp("domain")
    prefecture_in = root / "prefecture"
    prefecture_in.mkdir()
    typed: dict = {}
    summaries = {}
    for n, county in enumerate(_counties(registry, baseline)):
        folder = root / county.code[:6]
        folder.mkdir()
        for t, township in enumerate(registry.children(county.code)):
            typed[township.code] = _fill(township.code, folder, kw, 10 * t)
        own = ("county_services", "funding", "regions")
        typed[county.code] = _fill(county.code, folder, kw, 7 * n, forms=own)
        out = prefecture_in / f"{county.code[:6]}_{PERIOD}.xlsx"
        summaries[county.code] = consolidate(folder, county.code, PERIOD, out, workers=1, **kw)
    out = root / "鄂州市.xlsx"
    summaries[PREFECTURE] = consolidate(prefecture_in, PREFECTURE, PERIOD, out, workers=1, **kw)
    counties = [c.code for c in _counties(registry, baseline)]
    return {
        "kw": kw,
        "typed": typed,
        "summaries": summaries,
        "out": out,
        "counties": counties,
        "prefecture_in": prefecture_in,
    }


def test_domain_forms_are_on_every_level_that_fills_them() -> None:
    assert set(DOMAIN_FORMS) <= set(LEVEL_FORMS["county"])
    assert {"industry", "social_protection", "village_services", "support"} <= set(LEVEL_FORMS["township"])
    assert not {"county_services", "funding", "regions"} & set(LEVEL_FORMS["township"])
    spec = build_workbook_spec("421122000000", PERIOD)
    numbers = [spec.sheet(f).table_no for f in DOMAIN_FORMS]
    assert numbers == [f"鄂扶贫{n:02d}表" for n in range(6, 13)]


@pytest.mark.slow
def test_clean_domain_forms_consolidate_without_errors(chain) -> None:
    for code, summary in chain["summaries"].items():
        errors = [f for f in summary.findings if f.importance == "error"]
        assert not errors, (code, [f.message for f in errors][:3])
        if code != PREFECTURE:  # the prefecture misses the counties that were not filled
            assert summary.exit_code == 0, summary.render()


def test_prefecture_totals_are_sums_counts_ratios_and_weighted_means(chain) -> None:
    kw, typed = chain["kw"], chain["typed"]
    data = read_workbook(chain["out"], **kw).data
    registry = kw["registry"]
    counties = chain["counties"]
    towns = [t.code for c in counties for t in registry.children(c)]

    def total(form: str, key: str, codes) -> float:
        return sum(row[key] for code in codes for row in typed[code].get(form, {}).values())

    def count(form: str, key: str, codes) -> int:
        return sum(row[key] == "是" for code in codes for row in typed[code].get(form, {}).values())

    industry = data.totals["industry"]
    assert industry["training_done"] == total("industry", "training_done", towns)
    assert industry["villages_special_industry"] == count("industry", "has_special_industry", towns) > 0
    assert industry["training_rate"] == pytest.approx(
        total("industry", "training_done", towns) / total("industry", "training_needed", towns)
    )
    social = data.totals["social_protection"]
    assert social["welfare_exited"] == total("social_protection", "welfare_exited", towns)
    assert social["illness_relief_rate"] == pytest.approx(
        total("social_protection", "illness_relief_people", towns)
        / total("social_protection", "poor_people_now", towns)
    )
    services = data.totals["village_services"]
    assert services["villages_doctor_trained"] == count("village_services", "doctor_trained", towns)
    support = data.totals["support"]
    assert support["villages_first_secretary"] == count("support", "has_first_secretary", towns)
    assert support["villages_partner_withdrawn"] == 0
    county_services = data.totals["county_services"]
    assert (
        county_services["counties_gas"]
        == count("county_services", "gas_connected", counties)
        == len(counties)
    )
    assert county_services["teachers_trained"] == total("county_services", "teachers_trained", counties)
    funding = data.totals["funding"]
    assert funding["budget_added_share"] == pytest.approx(
        total("funding", "budget_added", counties) / total("funding", "revenue_increase", counties)
    )
    regions = data.totals["regions"]
    weights = total("regions", "rural_residents", counties)
    weighted = sum(
        row["resident_rural_income"] * row["rural_residents"]
        for c in counties
        for row in typed[c]["regions"].values()
    )
    assert regions["resident_rural_income"] == pytest.approx(weighted / weights, abs=0.01)
    assert regions["urbanisation_rate"] == pytest.approx(
        total("regions", "urban_population", counties) / total("regions", "resident_population", counties)
    )
    assert regions["ncms_rate_all"] == pytest.approx(
        total("regions", "ncms_members_all", counties) / total("regions", "rural_residents", counties)
    )


def test_a_broken_rule_on_a_domain_form_is_reported_with_its_cell(tmp_path) -> None:
    registry, catalog, baseline = load_registry(), load_catalog(), load_baseline()
    kw = {"registry": registry, "catalog": catalog, "baseline": baseline}
    code = "420702000000"
    spec = build_workbook_spec(code, PERIOD, **kw)
    values = prefill_values(spec, registry, baseline)
    sheet = spec.sheet("funding")
    row = domain_row(sheet, 0, {}, catalog.parameter("provincial_rural_income", PERIOD))
    row["land_village_funds"] = row["land_project_funds"] * 0.5  # 50% > the plan's 20% ceiling
    values["funding"] = {code: row}
    path = write_workbook(spec, tmp_path / spec.file_name(), values=values)
    findings = read_workbook(path, **kw).findings
    fu06 = [f for f in findings if f.rule == "FU06"]
    assert fu06 and fu06[0].sheet == "11扶贫资金" and "20%" in fu06[0].message


def _docx_text(path: Path) -> str:
    import docx

    document = docx.Document(str(path))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        parts.extend("|".join(cell.text for cell in row.cells) for row in table.rows)
    return "\n".join(parts)


def test_report_has_a_section_per_domain_against_its_targets(chain, tmp_path) -> None:
    from hbreport.report import build_context, report_from_workbook

    kw = chain["kw"]
    county = chain["counties"][0]  # the county with poor villages, in the region the baseline names
    county_out = next(chain["prefecture_in"].glob(f"{county[:6]}_*.xlsx"))
    context = build_context(read_workbook(county_out, **kw).data, **kw)
    domains = {d["form"]: d for d in context["domains"]}
    assert list(domains) == list(DOMAIN_FORMS)
    support = {r["key"]: r for r in domains["support"]["rows"]}
    # every poor village has a 第一书记: covered 100% of the county's poor villages, the plan's target
    assert support["villages_first_secretary"]["verdict"] == "覆盖100%，达到"
    funding = {r["key"]: r for r in domains["funding"]["rows"]}
    assert funding["land_village_share"]["target"] == "不超过20%" and funding["land_village_share"]["ok"]
    region = kw["baseline"].region(county)
    regions = {r["key"]: r for r in domains["regions"]["rows"]}
    growth = regions["gdp_growth"]["target"]
    if region:  # compared with its own region's target only
        own = next(i for i in kw["catalog"] if i.region == region and i.code.endswith("_GDP_GROWTH"))
        assert f"{own.value_text()}%" in growth and "各片区" not in growth
    else:
        assert growth.startswith("各片区：大别山9.5%")
    out = report_from_workbook(county_out, tmp_path / "report.docx", **kw)
    text = _docx_text(out)
    for d in domains.values():
        assert d["title"] in text
    assert "鄂扶贫10表" in text and "有第一书记的贫困村" in text


def test_report_says_not_reported_when_a_domain_form_is_blank(tmp_path) -> None:
    from hbreport.report import build_context

    registry, catalog, baseline = load_registry(), load_catalog(), load_baseline()
    kw = {"registry": registry, "catalog": catalog, "baseline": baseline}
    code = "420702000000"
    spec = build_workbook_spec(code, PERIOD, **kw)
    path = write_workbook(spec, tmp_path / spec.file_name(), values=prefill_values(spec, registry, baseline))
    context = build_context(read_workbook(path, **kw).data, **kw)
    funding = next(d for d in context["domains"] if d["form"] == "funding")
    assert funding["reported"] is False and funding["rows"] == []
    from hbreport.report import render_report

    out = render_report(read_workbook(path, **kw).data, tmp_path / "r.docx", **kw)
    assert "鄂扶贫11表《扶贫资金投入情况》未报送" in _docx_text(out)

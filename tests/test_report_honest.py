"""The report says on what it rests: coverage on page 1, no verdict on the whole below the catalog's
threshold, no 达到/均符合 about a table without data, the 成文日期 of the period, the 摘帽 status from
the county's own data, 存在问题 and 下一步工作 from what lags."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import docx
import pytest
from report_inputs import plan_inputs, sample_form_data

from hbreport.baseline import load_baseline
from hbreport.catalog import load_catalog
from hbreport.consolidation.county_exit import APPLYING, MET, NOT_MET, NOT_REPORTED, assess
from hbreport.model.values import FormData
from hbreport.registry import load_registry
from hbreport.report import build_context, render_report
from hbreport.spec import build_workbook_spec

COUNTY, PROVINCE, YEAR = "421122", "420000", 2017  # 红安县: 14 townships, a poor county planned for 2017


@pytest.fixture(scope="module")
def kw():
    return {"registry": load_registry(), "catalog": load_catalog(), "baseline": load_baseline()}


def paragraphs(path: Path) -> list[str]:
    return [p.text for p in docx.Document(str(path)).paragraphs if p.text.strip()]


def tables(path: Path) -> list[list[str]]:
    return [["|".join(c.text for c in row.cells) for row in t.rows] for t in docx.Document(str(path)).tables]


def five_of_fourteen(kw) -> tuple[FormData, list[str]]:
    towns = kw["registry"].children(COUNTY)
    assert len(towns) == 14
    late = [t.code for t in towns[5:]]
    return sample_form_data(COUNTY, YEAR, drop=tuple(late), **kw), late


def test_county_with_5_of_14_townships_states_coverage_and_judges_only_the_townships(tmp_path, kw):
    data, late = five_of_fourteen(kw)
    out = render_report(data, tmp_path / "红安县.docx", missing=late, **kw)
    text = paragraphs(out)
    opening = next(p for p in text if p.startswith("按照"))
    assert "根据已报送的5个（共14个）乡镇汇总" in opening
    assert "不对红安县总体进度作出判断" in opening
    body = "\n".join(text)
    # no verdict on the county as a whole anywhere: no 总体进度超前/正常/滞后, no 高于/低于规划进度 for it
    assert not re.search(r"总体进度(超前|正常|滞后)", body)
    people = next(p for p in text if "累计脱贫" in p and p.startswith("根据"))
    assert "规划进度" in people and "低于规划进度" not in people and "高于规划进度" not in people
    # the townships that did report are still judged, one by one
    ctx = build_context(data, missing=late, **kw)
    assert ctx["summary"]["reported"] == 5 and ctx["lagging"] == [
        u for u in ctx["lagging"] if u["code"] not in late
    ]
    # every table says it rests on part of the townships
    head = tables(out)[0]
    assert "—" == head[1].split("|")[-1]  # 表1 贫困人口脱贫: no 进度 verdict
    captions = [p for p in text if p.startswith("表")]
    assert sum("根据已报送的5个（共14个）乡镇汇总" in c for c in captions) >= 2
    # the 摘帽 assessment is not made on five townships' figures
    assert ctx["counties"]["own"]["assessment"]["status"] == NOT_REPORTED
    assert ctx["problems"][0].startswith("报送不全")


def test_above_the_threshold_the_verdict_says_on_what_it_rests(kw):
    towns = kw["registry"].children(COUNTY)
    data = sample_form_data(COUNTY, YEAR, drop=(towns[0].code,), **kw)
    ctx = build_context(data, missing=[towns[0].code], **kw)
    assert ctx["basis"]["text"] == "根据已报送的13个（共14个）乡镇汇总"
    assert ctx["basis"]["enough"] and ctx["people"]["judged"]
    # the rate is over the townships that reported: the missing one's base is not counted as still poor
    reported = [t.code for t in towns[1:]]
    base = sum(kw["baseline"].totals(kw["registry"], c)["poor_people"] for c in reported)
    assert ctx["people"]["target"] == base
    rows = data.rows["poverty_progress"]
    assert ctx["people"]["remaining"] == sum(rows[c]["remaining_people"] for c in reported)


def test_threshold_is_the_catalogs(kw, tmp_path):
    """80 % by default in indicators.yaml; an office that sets 95 % gets no verdict at 13 of 14."""
    text = Path(kw["catalog"].path).read_text(encoding="utf-8")
    strict = tmp_path / "indicators.yaml"
    strict.write_text(text.replace("    value: 80\n", "    value: 95\n", 1), encoding="utf-8")
    catalog = load_catalog(strict)
    assert catalog.min_coverage() == pytest.approx(0.95) and kw["catalog"].min_coverage() == pytest.approx(
        0.8
    )
    towns = kw["registry"].children(COUNTY)
    data = sample_form_data(COUNTY, YEAR, drop=(towns[0].code,), **kw)
    ctx = build_context(data, missing=[towns[0].code], registry=kw["registry"], baseline=kw["baseline"],
                        catalog=catalog)  # fmt: skip
    assert not ctx["basis"]["enough"] and not ctx["people"]["judged"] and ctx["people"]["status"] == "—"


def test_a_county_report_without_its_04_form_never_says_it_is_met(tmp_path, kw):
    spec = build_workbook_spec(COUNTY, YEAR, **kw)
    inputs = plan_inputs(spec, kw["registry"], kw["baseline"], kw["catalog"])
    for cells in inputs["infrastructure"].values():  # the county's own 04 form not sent
        for key in list(cells):
            if spec.sheet("infrastructure").column(key).role == "input":
                cells[key] = None
    for cells in inputs["key_projects"].values():  # nobody filled the 电商 columns (the rate's parts)
        cells["ecommerce_villages"] = cells["ecommerce_eligible"] = None
    data = FormData.from_inputs(spec, inputs)
    out = render_report(data, tmp_path / "无04表.docx", **kw)
    text = paragraphs(out)
    infra = next(p for p in text if "基础设施和公共服务" in p and not p.startswith(("表", "（")))
    assert "未报送" in infra and "达到" not in infra and "均符合" not in infra
    table4 = next(t for t in tables(out) if t[0].startswith("指标|本期实际"))
    assert all(row.split("|")[1] == "未报送" and row.split("|")[-1] == "未报送" for row in table4[1:])
    table3 = next(t for t in tables(out) if t[0].startswith("工程指标"))
    ecommerce = next(row for row in table3 if row.startswith("有条件贫困村电商覆盖率"))
    assert "0" not in ecommerce.split("|")[1] and ecommerce.split("|")[1] == "未报送"
    projects = next(p for p in text if "重点工程进展" in p or "重点工程数据" in p)
    assert "均符合" not in projects and "有条件贫困村电商覆盖率没有报送数据" in projects


def test_issue_date_is_the_periods_reporting_deadline_and_the_signature_keeps_with_the_text(tmp_path, kw):
    data = sample_form_data(COUNTY, YEAR, **kw)
    out = render_report(data, tmp_path / "r.docx", **kw)
    text = paragraphs(out)
    assert text[-1] == "2018年1月10日" and dt.date.today().year != 2018
    assert text[-3] == "特此报告。" and text[-2] == "红安县扶贫攻坚领导小组办公室"
    doc = docx.Document(str(out))
    last = [p for p in doc.paragraphs][-4:]  # 特此报告。, blank, issuer, date
    assert [p.paragraph_format.keep_with_next for p in last[:3]] == [True, True, True]
    body = "\n".join(text)
    assert "摘帽年份据贫困县名单" not in body and "稳健Z" not in body and "中位数绝对偏差" not in body
    assert "七、存在问题" in text and "八、下一步工作" in text
    # 贫困发生率 = remaining poor ÷ rural population
    ctx = build_context(data, **kw)
    people = ctx["people"]
    assert people["incidence"] == pytest.approx(people["remaining"] / people["rural_population"])
    assert "贫困发生率" in body


def test_county_exit_status_follows_its_consolidated_data(kw):
    spec = build_workbook_spec(COUNTY, YEAR, **kw)
    inputs = plan_inputs(spec, kw["registry"], kw["baseline"], kw["catalog"])
    before = assess(FormData.from_inputs(spec, inputs), **kw)
    assert before.status == NOT_MET and before.planned_year == 2017
    assert {c.label for c in before.failed} >= {"贫困发生率"}
    # the townships report nearly every poor person and village out; the county applies
    for cells in inputs["poverty_progress"].values():
        base = cells["base_people"]
        cells.update(prior_exited_people=base - base // 100 - (base // 100 and 1), exited_people=base // 100)
        cells.update(returned_people=0, new_people=0)
    for cells in inputs["village_exit"].values():
        poor = cells["poor_villages"]
        cells.update(villages_exited_prior=poor, villages_applying=0, villages_meeting=0)
    own = inputs["infrastructure"][spec.unit_code]
    own["rural_population"] = None  # the baseline's 农村户籍人口 is the denominator
    after = assess(FormData.from_inputs(spec, inputs), **kw)
    assert after.status == MET and not after.failed
    own["exit_applying"] = "是"
    assert assess(FormData.from_inputs(spec, inputs), **kw).status == APPLYING
    # a county with no poor left but a township missing is not assessed on the others
    first = next(iter(inputs["poverty_progress"]))
    for key in ("prior_exited_people", "exited_people", "exited_households", "returned_people", "new_people"):
        inputs["poverty_progress"][first][key] = None
    assert assess(FormData.from_inputs(spec, inputs), **kw).status == NOT_REPORTED


@pytest.mark.libreoffice
def test_the_first_page_states_the_coverage(tmp_path, kw):
    if shutil.which("soffice") is None and shutil.which("libreoffice") is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    from hbreport.office import pdf_text
    from hbreport.report import docx_to_pdf

    data, late = five_of_fourteen(kw)
    out = render_report(data, tmp_path / "红安县.docx", missing=late, **kw)
    page1 = re.sub(r"\s+", "", pdf_text(docx_to_pdf(out, tmp_path)).split("\f")[0])
    assert "根据已报送的5个（共14个）乡镇汇总" in page1
    assert "不对红安县总体进度作出判断" in page1
    assert not re.search(r"总体进度(超前|正常|滞后)", page1)


def test_a_year_whose_exit_standards_cannot_be_read_is_not_assessed(kw, tmp_path):
    """A catalog parameter the criteria need missing for the year: 未报 with the reason, never a crash
    of the consolidation or the report."""
    import yaml

    raw = yaml.safe_load(Path(kw["catalog"].path).read_text(encoding="utf-8"))
    raw["parameters"]["poverty_line"]["by_year"].pop(YEAR)
    path = tmp_path / "indicators.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    catalog = load_catalog(path)
    data = sample_form_data(COUNTY, YEAR, **kw)
    result = assess(data, registry=kw["registry"], catalog=catalog, baseline=kw["baseline"])
    assert result.status == NOT_REPORTED and "poverty_line" in result.criteria[0].note


def test_the_opening_says_apart_who_did_not_report_who_was_returned_and_who_was_refused(kw):
    """Not reported, returned and refused are different things: page 1 names each apart."""
    data, late = five_of_fourteen(kw)
    names = {t.code: t.name for t in kw["registry"].children(COUNTY)}
    returned, refused, missing = late[:2], late[2], late[3:]
    ctx = build_context(
        data,
        missing=[*missing, {"code": refused, "name": names[refused], "status": "拒收"}],
        returned=[(code, names[code], "错误2条") for code in returned],
        **kw,
    )
    assert ctx["basis"]["absent_text"] == (
        f"{'、'.join(names[c] for c in missing)}未报送，"
        f"{'、'.join(names[c] for c in returned)}被退回，{names[refused]}报表被拒收"
    )
    statuses = {c["code"]: c["status"] for c in ctx["children"]}
    assert statuses[refused] == "拒收" and statuses[returned[0]] == "退回" and statuses[missing[0]] == "未报"


def test_the_trend_compares_the_same_townships_every_year(kw):
    """With 5 of 14 townships in, the earlier years in 图1 are those 5 townships' too (a whole county's
    2016 beside five townships' 2017 would draw a fall that never happened)."""
    data, late = five_of_fourteen(kw)
    earlier = sample_form_data(COUNTY, 2016, **kw)
    actual = build_context(data, missing=late, history={2016: earlier}, **kw)["trend"]["people_actual"]
    rows = earlier.rows["poverty_progress"]
    assert actual[2016] == sum(rows[c]["cum_exited_people"] for c in rows if c not in late)
    assert actual[2016] < sum(rows[c]["cum_exited_people"] for c in rows)
    assert actual[2016] <= actual[2017]

"""Word progress reports: figures from the data, official layout in the .docx, charts without missing
glyphs, 未报 children, autoescaped unit names, and the PDF text LibreOffice makes of the reports."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import warnings
import zipfile
from pathlib import Path

import docx
import pytest
from report_inputs import ISSUED, plan_inputs, sample_form_data

from hbreport.baseline import load_baseline
from hbreport.errors import HBError
from hbreport.model.findings import Finding
from hbreport.model.values import FormData
from hbreport.registry import load_registry
from hbreport.report import build_context, charts, render_report
from hbreport.report import numbers as N
from hbreport.report.context import OUTLIER_Z, robust_z
from hbreport.spec import build_workbook_spec

REPO = Path(__file__).resolve().parent.parent
PROVINCE, PREFECTURE, COUNTY = "420000", "421100", "421122"  # 湖北省, 黄冈市, 红安县
YEAR = 2017
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def data_for(code, registry, baseline, catalog, *, year=YEAR, drop=()):
    return sample_form_data(code, year, drop=drop, registry=registry, baseline=baseline, catalog=catalog)


@pytest.fixture(scope="module")
def reports(tmp_path_factory, registry, baseline, catalog):
    """Province, prefecture and county reports for 2017, each with one child not reported."""
    out = tmp_path_factory.mktemp("reports")
    made = {}
    for code in (PROVINCE, PREFECTURE, COUNTY):
        late = registry.children(code)[1]
        data = data_for(code, registry, baseline, catalog, drop=(late.code,))
        history = {2016: data_for(code, registry, baseline, catalog, year=2016)}
        path = render_report(
            data,
            out / f"{code}.docx",
            missing=[late.code],
            history=history,
            registry=registry,
            baseline=baseline,
            catalog=catalog,
            issued=ISSUED,
        )
        made[code] = (path, data, late)
    return made


def plain(text: str) -> str:
    """Text with all whitespace removed (pdftotext breaks lines and spaces CJK from digits)."""
    return re.sub(r"\s+", "", text)


def docx_text(path: Path) -> str:
    document = docx.Document(str(path))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.append("|".join(cell.text for cell in row.cells))
    return "\n".join(parts)


# ---------------------------------------------------------------- numbers


def test_chinese_number_formats():
    assert N.people(3_900_000) == "390万人"
    assert N.people(3_123_456) == "312.35万人"
    assert N.people(8765) == "8765人"
    assert N.households(306_300) == "30.63万户"
    assert N.units(4613) == "4613个"
    assert N.money_wan(3_000_000) == "300亿元"
    assert N.money_wan(6090.53) == "6090.53万元"
    assert N.money_yuan(3000) == "3000元"
    assert N.percent(0.35) == "35%"
    assert N.percent(0.35214) == "35.2%"
    assert N.points(-0.053) == "5.3个百分点"
    assert N.date_text(dt.date(2017, 12, 31)) == "2017年12月31日"
    assert N.date_text(dt.date(2018, 1, 5)) == "2018年1月5日"
    assert N.people(None) == N.BLANK and N.percent("") == N.BLANK


# ---------------------------------------------------------------- figures


def test_province_context_against_plan_and_data(registry, baseline, catalog):
    late = registry.children(PROVINCE)[4]
    data = data_for(PROVINCE, registry, baseline, catalog, drop=(late.code,))
    ctx = build_context(data, registry=registry, baseline=baseline, catalog=catalog)
    people, villages, counties = ctx["people"], ctx["villages"], ctx["counties"]
    # targets are the plan's (catalog), not the data's
    assert N.people(people["whole_target"]) == "390万人"
    assert N.units(villages["whole_target"]) == "4613个"
    assert N.units(counties["target"]) == "37个"
    # one prefecture has not reported: the rate is over the base of those that did, and said so
    reported_base = sum(
        baseline.totals(registry, u.code)["poor_people"] for u in registry.children(PROVINCE) if u != late
    )
    # expected: the reporting children's own tasks by the end of 2017 over their base (the whole
    # province's tasks are the plan's 35% + 35%; the children's differ by their counties' 摘帽 years)
    tasks = baseline.tasks(registry)
    due = sum(
        tasks.cumulative(u.code, "SCHED_PEOPLE_EXIT", YEAR) for u in registry.children(PROVINCE) if u != late
    )
    assert people["expected"] == pytest.approx(due / reported_base)
    assert tasks.cumulative(PROVINCE, "SCHED_PEOPLE_EXIT", YEAR) == 0.70 * people["whole_target"]
    total = data.totals["poverty_progress"]
    assert people["partial"] and people["target"] == reported_base
    assert people["cum"] == total["cum_exited_people"]
    assert people["rate"] == pytest.approx(total["cum_exited_people"] / reported_base)
    n = len(registry.children(PROVINCE))
    assert ctx["basis"]["text"] == f"根据已报送的{n - 1}个（共{n}个）市州汇总"
    assert ctx["basis"]["enough"] and people["judged"]  # 13 of 14 is above the catalog's 80 %
    # the list of poor counties is the schedule: planned exits, never counted as achieved
    planned = [c for c in baseline.counties.values() if c.poor_county and c.exit_year and c.exit_year <= YEAR]
    assert counties["planned"] == len(planned) and "exited" not in counties
    assert next(h for h in ctx["headline"] if h["name"] == "贫困县摘帽")["actual"] == "未报送"
    # children ranked by exit rate, with the workbook's own 进度状态; the late one last, 未报
    rows = ctx["children"]
    assert len(rows) == len(registry.children(PROVINCE))
    # ranked by completion of their own tasks: cumulative exits ÷ their own cumulative task (task_people)
    done = [r["completion"] for r in rows if r["reported"]]
    assert done == sorted(done, reverse=True)
    for r in rows[:-1]:
        own = data.rows["poverty_progress"][r["code"]]
        assert r["completion"] == pytest.approx(own["cum_exited_people"] / own["task_people"])
    assert rows[-1]["code"] == late.code and rows[-1]["status"] == "未报" and rows[-1]["rate"] is None
    for r in rows[:-1]:
        assert r["status"] == data.rows["poverty_progress"][r["code"]]["progress_status"]
    assert ctx["quality"]["missing"] == [late.name]
    # lagging units: exactly the 滞后 rows, most behind first, by expected − actual
    lagging = ctx["lagging"]
    assert {u["code"] for u in lagging} == {r["code"] for r in rows if r["status"] == "滞后"}
    assert [u["behind"] for u in lagging] == sorted((u["behind"] for u in lagging), reverse=True)
    assert all(u["behind"] == pytest.approx(u["expected"] - u["rate"]) for u in lagging)


def test_key_projects_against_plan_targets_and_standards(registry, baseline, catalog):
    data = data_for(PROVINCE, registry, baseline, catalog)
    ctx = build_context(data, registry=registry, baseline=baseline, catalog=catalog)
    projects = {p["key"]: p for p in ctx["projects"]}
    total = data.totals["key_projects"]
    reloc = projects["reloc_households"]
    assert reloc["target"] == "到2019年30.63万户"
    assert reloc["completion"] == pytest.approx(total["reloc_households"] / 306_300)
    assert projects["loan_amount"]["target"] == "到2019年300亿元"
    assert projects["reloc_area_per_person"]["target"] == "不超过25平方米"
    assert projects["reloc_area_per_person"]["ok"] is (total["reloc_area_per_person"] <= 25)
    assert projects["yulu_per_student"]["target"] == "不低于3000元"
    # a standard that is broken shows up among the failing figures
    spec = data.spec
    inputs = plan_inputs(spec, registry, baseline, catalog)
    for row in inputs["key_projects"].values():
        row["reloc_area"] = row["reloc_people"] * 30  # 30 m² a person > 25
    broken = build_context(
        FormData.from_inputs(spec, inputs), registry=registry, baseline=baseline, catalog=catalog
    )
    failing = {p["key"] for p in broken["projects_failing"]}
    assert "reloc_area_per_person" in failing
    assert "reloc_area_per_person" not in {p["key"] for p in ctx["projects_failing"]}


def test_township_report_counts_its_villages(registry, baseline, catalog):
    from hbreport.forms import prefill_values
    from hbreport.synthetic import Story

    town = registry.children(COUNTY)[3]
    spec = build_workbook_spec(town.code, YEAR, registry=registry, catalog=catalog, baseline=baseline)
    values = Story(registry, baseline, catalog).township_values(
        spec, prefill_values(spec, registry, baseline)
    )
    data = FormData.from_inputs(spec, values)
    villages = build_context(data, registry=registry, baseline=baseline, catalog=catalog)["villages"]
    rows = list(data.rows["village_exit"].values())

    def count(key: str) -> int:
        return sum(r[key] == "是" for r in rows)

    assert villages["target"] == len(rows) == baseline.totals(registry, town.code)["poor_villages"]
    assert (villages["prior"], villages["applying"], villages["meeting"]) == (
        count("exited_before"),
        count("apply_exit"),
        count("meets_exit_standard"),
    )
    # the county form's rule for the cumulative count: exited before, plus applying ones that meet the standard
    assert villages["cum"] == villages["prior"] + min(villages["applying"], villages["meeting"])


def test_a_finding_seen_twice_counts_once():
    from hbreport.report.render import unique_findings

    own = Finding("参合率低于98%", "warning", "IS08", file="本级.xlsx", unit_code="421202000000",
                  unit_name="咸安区", sheet="04基础设施与公共服务", cell="J9")  # fmt: skip
    copied = Finding("参合率低于98%", "warning", "IS08", file="汇总.xlsx", unit_code="421202",
                     unit_name="咸安区", sheet="04基础设施与公共服务", cell="J9")  # fmt: skip
    other = Finding(
        "参合率低于98%", "warning", "IS08", unit_code="421202", sheet="04基础设施与公共服务", cell="J10"
    )
    assert unique_findings([own, copied, other]) == [own, other]


def test_robust_z_flags_only_the_implausible_unit():
    rates = {f"u{i}": 0.60 + 0.01 * (i % 5) for i in range(12)}
    assert not [k for k, z in robust_z(rates).items() if abs(z) > OUTLIER_Z]
    rates["odd"] = 0.98
    flagged = [k for k, z in robust_z(rates).items() if abs(z) > OUTLIER_Z]
    assert flagged == ["odd"]
    assert robust_z({"a": 0.1, "b": 0.9}) == {}  # too few units to judge


# ---------------------------------------------------------------- the .docx


@pytest.mark.slow
def test_docx_has_official_layout(reports):
    path = reports[PROVINCE][0]
    with zipfile.ZipFile(path) as z:
        document = z.read("word/document.xml").decode("utf-8")
        styles = z.read("word/styles.xml").decode("utf-8")
        settings = z.read("word/settings.xml").decode("utf-8")
        footers = [z.read(n).decode("utf-8") for n in z.namelist() if re.match(r"word/footer\d*\.xml", n)]
    size = re.search(r"<w:pgSz [^>]*>", document).group(0)
    assert 'w:w="11906"' in size and 'w:h="16838"' in size  # A4
    margins = re.search(r"<w:pgMar [^>]*>", document).group(0)
    for side, mm in (("top", 37), ("bottom", 35), ("left", 28), ("right", 26)):
        assert f'w:{side}="{round(mm / 25.4 * 1440)}"' in margins, side
    doc = docx.Document(str(path))

    def east_asia(style_name: str) -> str:
        fonts = doc.styles[style_name].element.rPr.find(f"{W}rFonts")
        return fonts.get(f"{W}eastAsia")

    assert east_asia("Normal") == "仿宋_GB2312"
    assert east_asia("Title") == "方正小标宋简体"
    assert east_asia("Heading 1") == "黑体"
    assert east_asia("Heading 2") == "楷体_GB2312"
    assert doc.styles["Normal"].font.size.pt == 16 and doc.styles["Title"].font.size.pt == 22
    normal_spacing = doc.styles["Normal"].element.pPr.find(f"{W}spacing")
    assert normal_spacing.get(f"{W}lineRule") == "exact" and int(normal_spacing.get(f"{W}line")) == 579
    assert "eastAsiaTheme" not in styles and "ja-JP" not in styles + settings
    assert 'w:eastAsia="zh-CN"' in styles
    assert "<w:evenAndOddHeaders" in settings
    assert len(footers) == 2
    for footer in footers:
        assert "PAGE" in footer and "— " in footer and "宋体" in footer
    alignments = {re.search(r'<w:jc w:val="(\w+)"', f).group(1) for f in footers}
    assert alignments == {"right", "left"}  # odd pages right, even pages left


def test_child_without_data_says_not_reported(reports):
    path, data, late = reports[COUNTY]
    text = docx_text(path)
    row = next(line for line in text.splitlines() if f"|{late.name}|" in line)
    assert "未报" in row
    assert f"未报1个：{late.name}" in text


def test_unit_names_with_markup_characters_are_escaped(tmp_path, catalog):
    units = tmp_path / "units.csv"
    units.write_text(
        "code,parent,name,level\n"
        "420000000000,,湖北省,province\n"
        "421100000000,420000000000,黄&冈<市>,prefecture\n"
        '421122000000,421100000000,红安"县",county\n'
        "421122100000,421122000000,A&B镇,township\n"
        "421122100201,421122100000,<甲>村,village\n",
        encoding="utf-8",
    )
    villages = tmp_path / "baseline.csv"
    villages.write_text(
        "code,poor_village,poor_households,poor_people\n421122100201,1,30,90\n", encoding="utf-8"
    )
    counties = tmp_path / "counties.csv"
    counties.write_text(
        'code,name,prefecture,poor_county,region,exit_year\n421122,红安"县",421100,national,大别山,2017\n',
        encoding="utf-8",
    )
    registry = load_registry(units)
    baseline = load_baseline(villages, counties)
    spec = build_workbook_spec("421100", YEAR, registry=registry, catalog=catalog, baseline=baseline)
    data = FormData.from_inputs(spec, plan_inputs(spec, registry, baseline, catalog))
    finding = Finding(
        "数值 <0 & 非法",
        "error",
        "PP02",
        unit_code="421122",
        unit_name='红安"县"',
        sheet="01脱贫进展",
        cell="F9",
    )
    path = render_report(
        data,
        tmp_path / "r.docx",
        findings=[finding],
        registry=registry,
        baseline=baseline,
        catalog=catalog,
        issued=ISSUED,
    )
    text = docx_text(path)  # parses: the XML is well formed
    assert "黄&冈<市>2017年脱贫攻坚进展情况报告" in text
    assert '红安"县"' in text and "数值 <0 & 非法" in text


def test_units_without_poor_people_or_villages(tmp_path, registry, baseline, catalog):
    # 江岸区 has neither; 武汉市 has poor people but no poor village
    for code, says in (("420102", ("没有建档立卡贫困人口", "没有建档立卡贫困村", "不是贫困县")),
                       ("420100", ("没有建档立卡贫困村", "没有贫困县"))):  # fmt: skip
        data = data_for(code, registry, baseline, catalog)
        path = render_report(data, tmp_path / f"{code}.docx", registry=registry, baseline=baseline, catalog=catalog,
                             issued=ISSUED)  # fmt: skip
        text = docx_text(path)
        for phrase in says:
            assert phrase in text, (code, phrase)


def test_template_is_what_the_build_script_writes(tmp_path):
    import importlib.util

    script = REPO / "templates" / "reports" / "build_template.py"
    spec = importlib.util.spec_from_file_location("build_template", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rebuilt = module.build(tmp_path / "progress.docx")
    assert rebuilt.read_bytes() == (REPO / "templates" / "reports" / "progress.docx").read_bytes()


# ---------------------------------------------------------------- charts


def test_charts_have_every_glyph(tmp_path, reports, registry, baseline, catalog):
    _, data, late = reports[PROVINCE]
    ctx = build_context(
        data,
        missing=[late.code],
        history={2016: data_for(PROVINCE, registry, baseline, catalog, year=2016)},
        registry=registry,
        baseline=baseline,
        catalog=catalog,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bars = charts.completion_chart(ctx["children"], ctx["people"]["expected"], tmp_path / "bars.png")
        trend = charts.trend_chart(ctx["trend"], tmp_path / "trend.png")
    glyphs = [str(w.message) for w in caught if "Glyph" in str(w.message) or "missing from" in str(w.message)]
    assert glyphs == []
    for png in (bars, trend):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from matplotlib import font_manager

    found = font_manager.findfont(
        font_manager.FontProperties(family=charts.cjk_family()), fallback_to_default=False
    )
    assert "CJK" in found or "uming" in found.lower() or "wqy" in found.lower()


def test_a_chart_with_a_missing_glyph_is_refused(tmp_path):
    row = {"name": "\ue000镇", "reported": True, "rate": 0.5, "status": "正常"}  # a private-use character
    with pytest.raises(HBError, match="缺少的字符"):
        charts.completion_chart([row], 0.7, tmp_path / "bars.png")
    assert not (tmp_path / "bars.png").exists()


def test_no_cjk_font_is_a_clear_error(monkeypatch):
    charts.cjk_family.cache_clear()
    monkeypatch.setattr(charts, "CJK_FAMILIES", ("No Such Font SC",))
    try:
        with pytest.raises(HBError, match="中文字体"):
            charts.cjk_family()
    finally:
        charts.cjk_family.cache_clear()


# ---------------------------------------------------------------- LibreOffice: the printed report


@pytest.mark.libreoffice
def test_reports_print_the_figures_of_the_data(tmp_path, reports, catalog):
    if shutil.which("soffice") is None and shutil.which("libreoffice") is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    from hbreport.office import pdf_text
    from hbreport.report import docxs_to_pdf

    pdfs = docxs_to_pdf([reports[c][0] for c in (PROVINCE, PREFECTURE, COUNTY)], tmp_path)
    texts = {
        code: plain(pdf_text(pdf)) for code, pdf in zip((PROVINCE, PREFECTURE, COUNTY), pdfs, strict=True)
    }
    province = texts[PROVINCE]
    assert "湖北省2017年脱贫攻坚进展情况报告" in province
    assert N.people(catalog.number("BASE_POOR_PEOPLE", "人")) == "390万人"
    assert "390万人农村贫困人口" in province and "4613个贫困村" in province and "37个贫困县" in province
    assert "2017年12月31日" in province
    for code, text in texts.items():
        _, data, late = reports[code]
        total = data.totals["poverty_progress"]
        name = data.spec.unit_name
        assert f"{name}累计脱贫{N.people(total['cum_exited_people'])}" in text
        assert f"{YEAR}年脱贫{N.people(total['exited_people'])}" in text
        # the poor left in the children that reported (the missing one's base is not counted as poor)
        rows = data.rows["poverty_progress"]
        remaining = sum(r["remaining_people"] for code, r in rows.items() if code != late.code)
        assert f"年末剩余贫困人口{N.people(remaining)}" in text
        villages = data.totals["village_exit"]["villages_exited_cum"]
        assert f"累计出列贫困村{N.units(villages)}" in text
        assert late.name in text and "未报" in text
        assert "—1—" in text and "—2—" in text  # page numbers
        for child in data.spec.sheet("poverty_progress").rows:
            if len(child.name) <= 6:  # longer names wrap inside their table cell
                assert child.name in text


# ---------------------------------------------------------------- from a real consolidated workbook


@pytest.mark.slow
def test_report_from_a_consolidated_workbook(tmp_path, registry, baseline, catalog):
    consolidation = pytest.importorskip(
        "hbreport.consolidation.consolidate", reason="the consolidator is not in the package yet"
    )
    from dataclasses import replace

    from hbreport.forms import prefill_values
    from hbreport.report import report_from_workbook
    from hbreport.synthetic import Story
    from hbreport.xlsx.reader import read_workbook
    from hbreport.xlsx.writer import write_workbook

    story = Story(registry, baseline, catalog)
    inbox = tmp_path / "收到的报表"
    inbox.mkdir()
    towns = registry.children(COUNTY)
    late, wrong = towns[0], towns[1]
    for town in towns[1:]:
        spec = build_workbook_spec(town.code, YEAR, registry=registry, catalog=catalog, baseline=baseline)
        values = story.township_values(spec, prefill_values(spec, registry, baseline))
        if town is wrong:  # more households than people exited: an error, the workbook goes back
            row = next(r for r in values["poverty_progress"].values() if r.get("exited_people"))
            row["exited_households"] = row["exited_people"] + 5
        write_workbook(spec, inbox / spec.file_name(), values=values)
    spec = build_workbook_spec(COUNTY, YEAR, registry=registry, catalog=catalog, baseline=baseline)
    values = prefill_values(spec, registry, baseline)
    values.update(story.county_own_values(spec))
    write_workbook(spec, inbox / f"本级_{spec.file_name()}", values=values)
    summary = consolidation.consolidate(
        inbox,
        COUNTY,
        YEAR,
        tmp_path / "红安县_2017.xlsx",
        registry=registry,
        catalog=catalog,
        baseline=baseline,
        workers=1,
    )
    assert [c.name for c in summary.missing] == [late.name]
    assert [c.name for c in summary.returned] == [wrong.name]

    stored = read_workbook(summary.output, registry=registry, catalog=catalog, baseline=baseline).summary
    assert [c.name for c in stored.missing] == [late.name]
    assert [c.name for c in stored.returned] == [wrong.name]
    assert stored.findings == [
        replace(f, file=Path(f.file).name if f.file else None) for f in summary.findings
    ]

    out = report_from_workbook(
        summary.output,
        tmp_path / "红安县2017年进展报告.docx",
        registry=registry,
        catalog=catalog,
        baseline=baseline,
        issued=ISSUED,
    )
    text = docx_text(out)
    total = summary.data.totals["poverty_progress"]
    assert f"红安县累计脱贫{N.people(total['cum_exited_people'])}" in text
    rows = {line.split("|")[1]: line for line in text.splitlines() if line.count("|") >= 7}
    assert "未报" in rows[late.name] and "退回" in rows[wrong.name]
    assert f"未报1个：{late.name}" in text and f"退回1个：{wrong.name}" in text
    errors = sum(f.importance == "error" for f in summary.findings)
    assert errors >= 1 and f"校验发现错误{errors}条" in text

    # the command line: the issuing office and the date as an office writes them
    from hbreport.cli import run as cli

    by_cli = tmp_path / "命令行.docx"
    argv = ["report", str(summary.output), "--out", str(by_cli)]
    assert cli([*argv, "--issuer", "红安县人民政府扶贫开发办公室", "--issued", "2018年1月15日"]) == 0
    signed = docx_text(by_cli)
    assert "红安县人民政府扶贫开发办公室" in signed and "2018年1月15日" in signed
    assert "红安县扶贫攻坚领导小组办公室" in text and "红安县扶贫攻坚领导小组办公室" not in signed
    assert cli([*argv, "--issued", "2018-02-30"]) == 2  # no such day: refused, nothing written over
    assert docx_text(by_cli) == signed

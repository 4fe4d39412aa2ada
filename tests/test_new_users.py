"""What a new user meets first: the README's commands work as written, messages are Chinese (click's
usage errors included), a period outside the plan names the plan's years, level names are Chinese,
and `check` and `consolidate` give one folder the same exit code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from consolidation_inputs import write_filled

from hbreport import cli
from hbreport.baseline import load_baseline
from hbreport.catalog import load_catalog
from hbreport.errors import EXIT_FINDINGS, EXIT_UNUSABLE
from hbreport.registry import load_registry

REPO = Path(__file__).resolve().parents[1]
COUNTY, PERIOD = "420702", 2017
ENGLISH = re.compile(
    r"Invalid value|is not one of|No such|does not take|requires an|is a directory|is a file|"
    r"does not exist|Missing (option|argument)|Got unexpected|not a valid|Did you mean|Error:"
)


def run_cli(capsys, *args: str) -> tuple[int, str]:
    code = cli.run(list(args))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_the_readme_installs_the_test_tools_and_makes_every_folder_its_tour_uses():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    two = readme.split("## Two commands", 1)[1].split("```", 2)[1]
    assert "pip install -e '.[test]'" in two and "pytest" in two
    assert "half a minute" not in readme and re.search(r"\d+ s measured", readme)  # a figure, measured
    tour = readme.split("## A five-minute tour", 1)[1].split("```", 2)[1]
    consolidated = re.search(r"hbreport consolidate (\S+)", tour)[1]
    assert tour.index("hbreport demo ") < tour.index("hbreport consolidate")
    demo_dir, year, kind, county, _ = consolidated.split("/")  # a folder the demo makes, filled
    from hbreport.demo import DEMO_PREFECTURE, _dir_name

    registry = load_registry()
    made = {_dir_name(c) for c in registry.children(DEMO_PREFECTURE)}
    assert demo_dir == next(p for p in cli.demo.params if p.name == "out_dir").default
    assert (kind, county in made, 2016 <= int(year) <= 2019) == ("乡镇报表", True, True)


def test_the_demo_writes_where_git_does_not_look():
    option = next(p for p in cli.demo.params if p.name == "out_dir")
    ignored = (REPO / ".gitignore").read_text(encoding="utf-8").split()
    assert f"/{option.default}/" in ignored


def test_a_period_outside_the_plan_names_the_plans_years(capsys, tmp_path):
    code, text = run_cli(
        capsys,
        "forms",
        "--level",
        "township",
        "--period",
        "2022",
        "--under",
        "421122",
        "--out",
        str(tmp_path),
    )
    assert code == EXIT_UNUSABLE and "2016—2020" in text and "不在规划期" in text, text
    assert "indicators.yaml" not in text and list(tmp_path.iterdir()) == []


def test_units_speak_chinese(capsys):
    code, text = run_cli(capsys, "units")
    assert code == 0 and "乡镇\t" in text and "township" not in text
    code, text = run_cli(capsys, "units", "--under", "421122")
    assert code == 0 and "乡镇" in text and "township" not in text


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("forms", "--level", "town", "--period", "2017", "--out", "x"), ("「town」", "township")),
        (("consolidate", "/", "--parent", "1", "--period", "2017", "--out", "/"), ("文件夹",)),
        (("report", "/", "--out", "x.docx"), ("应为文件",)),
        (("forms", "--json=1"), ("不需要值",)),
        (("forms", "--levl", "x"), ("没有参数 --levl", "--level")),
        (("check",), ("缺少参数",)),
        (("nosuch",), ("没有命令",)),
        (
            ("consolidate", ".", "--parent", "1", "--period", "2017", "--out", "x.xlsx", "--workers", "a"),
            ("不是整数",),
        ),
    ],
)
def test_usage_errors_are_chinese(capsys, args, words):
    code, text = run_cli(capsys, *args)
    assert code == EXIT_UNUSABLE and "命令参数有误" in text, text
    assert not ENGLISH.search(text), text
    for word in words:
        assert word in text, text


def test_check_and_consolidate_give_one_folder_the_same_exit_code(capsys, tmp_path):
    context = {"registry": load_registry(), "catalog": load_catalog(), "baseline": load_baseline()}
    folder = tmp_path / "收到的报表"
    for unit in context["registry"].children(COUNTY):
        write_filled(unit.code, PERIOD, folder, **context)
    (folder / "坏文件.xlsx").write_bytes(b"this is not a workbook")
    checked, text = run_cli(capsys, "check", str(folder))
    assert "坏文件.xlsx" in text
    merged, text = run_cli(
        capsys,
        "consolidate",
        str(folder),
        "--parent",
        COUNTY,
        "--period",
        str(PERIOD),
        "--out",
        str(tmp_path / "o.xlsx"),
    )
    assert "坏文件.xlsx" in text
    assert checked == merged == EXIT_FINDINGS
    code, text = run_cli(capsys, "check", str(tmp_path / "没有这个文件.xlsx"))
    assert code == EXIT_UNUSABLE and "找不到" in text


@pytest.fixture(scope="module")
def consolidated(tmp_path_factory):
    from hbreport.consolidation.consolidate import consolidate

    context = {"registry": load_registry(), "catalog": load_catalog(), "baseline": load_baseline()}
    base = tmp_path_factory.mktemp("print")
    for unit in context["registry"].children(COUNTY):
        write_filled(unit.code, PERIOD, base / "收到的报表", **context)
    summary = consolidate(base / "收到的报表", COUNTY, PERIOD, base / "梁子湖区_2017.xlsx", **context)
    return Path(summary.output), summary


def test_the_consolidation_sheets_are_set_up_for_paper(consolidated):
    import openpyxl

    from hbreport.xlsx.layout import CHECK_SHEET, DETAIL_SHEET

    path, _ = consolidated
    book = openpyxl.load_workbook(path)
    for name in (DETAIL_SHEET, CHECK_SHEET):
        ws = book[name]
        assert (
            ws.print_title_rows == "$1:$1" and f"梁子湖区{PERIOD}年汇总　{name}" in ws.oddHeader.center.text
        )
        assert ws.page_setup.orientation == "landscape" and ws.sheet_properties.pageSetUpPr.fitToPage
        assert all(d.width <= 41 for d in ws.column_dimensions.values())  # 40 plus what openpyxl adds
    detail = book[DETAIL_SHEET]
    digests = [c for c in detail["E"][1:] if c.value]
    assert digests and all(c.alignment.wrap_text and c.font.sz == 7 for c in digests)
    assert all(detail.row_dimensions[c.row].height >= 20 for c in digests)  # two lines shown, not one


@pytest.mark.libreoffice
def test_the_consolidation_sheets_print_with_a_title_and_whole_digests(consolidated, tmp_path):
    from hbreport import office

    path, summary = consolidated
    text = office.pdf_text(office.to_pdf(path, tmp_path))
    for name in ("下级明细", "汇总校验"):  # the title heads the page (pdftotext shows U+3000 as a space)
        assert re.search(rf"梁子湖区{PERIOD}年汇总\s+{name}", text), name
    words = set(text.split())
    for child in summary.received:  # each digest whole, on two lines of its cell, nothing cut off
        digest = child.sha256[0]
        whole = digest in words or any(digest[:k] in words and digest[k:] in words for k in range(16, 49))
        assert whole, digest


def _infrastructure_row(ncms_people):
    from hbreport.spec import build_workbook_spec

    spec = build_workbook_spec("421122", PERIOD, registry=load_registry())
    sheet = spec.sheet("infrastructure")
    row = {c.key: None for c in sheet.input_columns}
    row.update(poor_people_total=1000, ncms_people=ncms_people)
    return spec, sheet, row


@pytest.mark.parametrize(("ncms_people", "fires"), [(None, False), (0, True), (990, False), (900, True)])
def test_a_rule_over_a_blank_input_does_not_fire(ncms_people, fires):
    """参合率 = 参加新农合人数 ÷ 贫困人口 is computed as 0 when 参加新农合人数 is blank; IS08 (参合率 below the
    plan's 98%) must not fire on that blank, as on any blank input behind a derived field."""
    from hbreport.checks import engine

    _, sheet, row = _infrastructure_row(ncms_people)
    text = engine.check_text(sheet, engine.compute_row(sheet, row))
    assert ("新农合参合率低于" in text) is fires, text


@pytest.mark.slow
@pytest.mark.gnumeric
def test_a_rule_over_a_blank_input_does_not_fire_in_a_spreadsheet_either(tmp_path):
    import openpyxl

    from hbreport import gnumeric
    from hbreport.xlsx.layout import SheetLayout
    from hbreport.xlsx.writer import write_workbook

    for ncms_people, fires in ((None, False), (0, True)):
        spec, sheet, row = _infrastructure_row(ncms_people)
        code = sheet.rows[0].code
        path = write_workbook(spec, tmp_path / f"{ncms_people}.xlsx", values={sheet.form: {code: row}})
        book = openpyxl.load_workbook(gnumeric.recalculate(path, tmp_path / "out"), data_only=True)
        layout = SheetLayout(sheet)
        shown = book[sheet.sheet].cell(layout.row_index[code], layout.check_col).value or ""
        assert ("新农合参合率低于" in shown) is fires, shown


def test_a_countys_own_workbook_locks_the_rows_consolidation_makes(tmp_path):
    """Above the township a unit types only its own rows (the county's 04, 09, 11 and 12 forms); the rows
    of its children (the other forms) come from consolidation, so they are locked, and the 填表说明 says so."""
    import openpyxl

    from hbreport.forms import generate_forms
    from hbreport.spec import build_workbook_spec
    from hbreport.xlsx.layout import SheetLayout
    from hbreport.xlsx.writer import INSTRUCTIONS_SHEET, OWN_ROWS_NOTE

    registry = load_registry()
    (path,) = generate_forms("county", PERIOD, under="421122", out_dir=tmp_path, registry=registry)
    spec = build_workbook_spec("421122", PERIOD, registry=registry)
    book = openpyxl.load_workbook(path)
    for sheet in spec.sheets:
        ws, layout = book[sheet.sheet], SheetLayout(sheet)
        own = [r.code for r in sheet.rows] == [spec.unit_code]
        cells = [
            ws[layout.cell(r.code, c.key)] for r in sheet.rows for c in sheet.columns if c.role == "input"
        ]
        assert cells and all(cell.protection.locked is not own for cell in cells), sheet.form
        assert own == (sheet.form in ("infrastructure", "county_services", "funding", "regions"))
    notes = [c.value for row in book[INSTRUCTIONS_SHEET].iter_rows() for c in row if c.value]
    assert OWN_ROWS_NOTE in notes
    # a township's workbook is typed throughout
    (town,) = generate_forms(
        "township", PERIOD, under="421122100", out_dir=tmp_path / "乡镇", registry=registry
    )
    ws = openpyxl.load_workbook(town)[spec.sheets[0].sheet]
    town_spec = build_workbook_spec("421122100", PERIOD, registry=registry)
    first = town_spec.sheets[0]
    key = next(c.key for c in first.columns if c.role == "input")
    assert not ws[SheetLayout(first).cell(first.rows[0].code, key)].protection.locked


def test_help_screens_speak_chinese():
    import contextlib
    import io

    from hbreport.cli import run

    for argv in (["--help"], ["consolidate", "--help"], ["verify", "forms", "--help"], ["roster", "--help"]):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert run(argv) == 0
        text = out.getvalue()
        assert text.startswith("用法：hbreport") and "选项" in text and "显示本帮助并退出" in text, argv
        for english in (
            "Usage:",
            "Options:",
            "Commands:",
            "Show this message and exit",
            "[required]",
            " TEXT ",
        ):
            assert english not in text, (argv, english)

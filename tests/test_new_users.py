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
    assert "half a minute" not in readme and "44 to 100 seconds" in readme
    tour = readme.split("## A five-minute tour", 1)[1].split("```", 2)[1]
    made = tour.index("mkdir 收到的报表")
    assert made < tour.index("hbreport consolidate 收到的报表/")
    assert tour.index("--out 表式/") < tour.index("cp 表式/*.xlsx 收到的报表/")


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
